"""The ranking engine's speed and memory goals (``eval_harness.paired``), medians of --repeats.

Run: .venv/bin/python -m benchmarks.bench_ranking [--rows 1000 10000] [--repeats 5]
     [--skip-landing]

(a)/(b) ``rank_intervals`` on a board of each ``--rows`` size with B = 1,000 stored
    replicates per row (the first size timed --repeats times, every later size once):
    goal <= 30 s and <= 2 GB at 1,000 rows on 2 cores. Every pair of rows is computed;
    no screening of pairs is used at any size. Memory is the peak of the call's own
    allocations (tracemalloc, which numpy reports its arrays to; a separate untimed call
    when timed more than once, else the one timed call) and the process's peak resident
    set (``ru_maxrss``) after it.
(c) Landing one row of a 600-checkup board: ``code_cls`` statistics from the row's
    per-sample records and the replicates of its three headline metrics (accuracy,
    macro-F1, weighted F1) on the board's plan: goal <= 1 s. "cold" rebuilds the plan's
    resample matrix (a fresh worker process), "warm" reuses it (``resample_weights`` keeps
    the last four plans).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc

import numpy as np

B = 1000
N = 600


def _median_s(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _max_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1e6 if sys.platform == "darwin" else rss / 1e3  # bytes on macOS, else KiB


def _board(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points and replicates of ``rows`` runs with accuracies spread over 0.2 .. 0.9 on
    600 checkups (per-sample Bernoulli answers), on one resample plan."""
    from eval_harness.metrics.stats import resample_weights

    rng = np.random.default_rng(seed)
    weights = np.concatenate(resample_weights(N, B, seed))
    truth = rng.uniform(0.2, 0.9, rows)
    points, reps = np.empty(rows), np.empty((rows, B))
    for start in range(0, rows, 500):  # (n x 500) answers at a time
        stop = min(rows, start + 500)
        correct = (rng.random((N, stop - start)) < truth[start:stop]).astype(np.float64)
        points[start:stop] = correct.mean(axis=0)
        reps[start:stop] = (weights @ correct / weights.sum(axis=1, keepdims=True)).T
    return points, reps


def rank_board(rows: int, repeats: int) -> tuple[float, float, float]:
    """(median seconds, tracemalloc peak MB of one call, process max RSS MB)."""
    from eval_harness.paired import rank_intervals

    points, reps = _board(rows)
    seconds = _median_s(lambda: rank_intervals(points, reps), repeats) if repeats > 1 else 0.0
    tracemalloc.start()
    start = time.perf_counter()
    rank_intervals(points, reps)
    traced = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds if repeats > 1 else traced, peak, _max_rss_mb()


def _records(seed: int = 0) -> list[dict]:
    """600 code_cls per-sample records (id, reference, extracted, correct): ~60% right,
    the rest another class or no class at all."""
    import random

    from eval_harness.labels.classes import CLASSES

    rng = random.Random(seed)
    out = []
    for i in range(N):
        reference = rng.choice(CLASSES)
        roll = rng.random()
        extracted = (reference if roll < 0.6 else None if roll < 0.65
                     else rng.choice([c for c in CLASSES if c != reference]))
        out.append({"id": f"c{i:04d}", "reference": reference, "extracted": extracted,
                    "correct": extracted == reference})
    return out


def landing(repeats: int) -> tuple[float, float]:
    """(cold, warm) median seconds of one row's statistics and three metrics' replicates."""
    from eval_harness.metrics.stats import resample_weights
    from eval_harness.paired import ResamplePlan, replicates
    from eval_harness.tasks import get_task

    task = get_task("code_cls")
    records = _records()
    plan = ResamplePlan(N, B, seed=0)

    def land() -> None:
        stats = task.statistics(records)
        for metric in ("accuracy", "macro_f1", "weighted_f1"):
            assert replicates(stats[metric], plan).shape == (B,)

    def cold() -> None:
        resample_weights.cache_clear()
        land()

    land()  # imports
    return _median_s(cold, repeats), _median_s(land, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-landing", action="store_true")
    args = parser.parse_args()
    print(f"numpy {np.__version__}, B = {B} replicates per row, every pair computed "
          "(no screening)")
    for n, rows in enumerate(args.rows):
        repeats = args.repeats if n == 0 else 1
        seconds, peak, rss = rank_board(rows, repeats)
        what = f"median of {repeats}" if repeats > 1 else "one run"
        goal = " (goal <= 30 s, <= 2 GB)" if rows == 1000 else ""
        print(f"(a) rank_intervals, {rows:,} rows: {seconds:.2f} s ({what}); peak of the "
              f"call's allocations {peak:.0f} MB; process max RSS {rss:.0f} MB{goal}",
              flush=True)
    if not args.skip_landing:
        cold, warm = landing(max(args.repeats, 5))
        print(f"(c) landing one code_cls row (statistics + 3 metrics' replicates, n = {N}): "
              f"cold {cold * 1000:.0f} ms, warm {warm * 1000:.0f} ms (goal <= 1 s)")


if __name__ == "__main__":
    main()
