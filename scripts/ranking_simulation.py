"""Rank intervals by simulation: coverage, ties at the top, no collapse on a large board.

Run: .venv/bin/python scripts/ranking_simulation.py [--scale 1.0] [--seed 2024]
     [--sections coverage ties collapse old percentile]

Every simulated board has k rows with known true accuracies on n = 600 checkups: each row
answers each checkup correctly with its own probability, independently. Its replicates are
``eval_harness.paired.replicates`` of a ``Stat`` of the row's 0/1 answers on a
``ResamplePlan`` (B = 1,000; boards cycle over four plan seeds, as a real board keeps one
plan for all its rows), and ``rank_intervals`` gives every row's interval. Printed:

- coverage: the share of rows whose interval contains the row's whole *true rank set*
  {1 + #truly better, ..., k - #truly worse} (every rank consistent with the true
  accuracies, ties included), per configuration, with the Monte-Carlo standard error
  clustered by board (the rows of one board are not independent);
- ties at the top: how often a group of 5 or 20 exactly tied best rows all show rank 1;
- no collapse: on 200-row boards (true accuracies 0.9 .. 0.1), the pairs >= 0.15 apart
  whose lower row does not get strictly worse rank bounds (should be none);
- the old rule (1 + rows better by a one-sided bootstrap p, Holm over the row's k - 1
  comparisons, alpha 0.05) on a 62-row board, which puts every row at rank 1;
- the percentile-of-bootstrap-ranks interval beside the max-t rule on boards with ties.

Each section draws from its own generator (``--seed`` and the section's name), so a section
run alone prints what it prints in a full run. ``--scale`` multiplies every board count.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a file, without installing the package

from eval_harness.metrics.stats import resample_weights  # noqa: E402
from eval_harness.paired import (  # noqa: E402
    ResamplePlan,
    Stat,
    better_than,
    pair,
    rank_intervals,
    replicates,
)

N = 600
B = 1000
PLAN_SEEDS = (11, 12, 13, 14)  # resample_weights keeps the last four plans
SECTIONS = ("coverage", "ties", "collapse", "old", "percentile")


def draw_board(truth: np.ndarray, rng: np.random.Generator, board: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Points (k,) and replicates (k, B) of one simulated board of accuracies ``truth``.

    The replicates are what ``replicates(Stat(answers), plan)`` gives each row (the
    resampled mean), computed for all rows in one product with the plan's resample matrix;
    the first row is checked against ``replicates`` itself on every board."""
    plan = ResamplePlan(N, B, PLAN_SEEDS[board % len(PLAN_SEEDS)])
    weights = np.concatenate(resample_weights(plan.n, plan.resamples, plan.seed))
    correct = (rng.random((N, truth.size)) < truth).astype(np.float64)
    reps = (weights @ correct).T / N  # every resample draws N checkups
    if not np.allclose(reps[0], replicates(Stat(correct[:, 0]), plan), rtol=0, atol=1e-12):
        raise AssertionError("board replicates differ from eval_harness.paired.replicates")
    return correct.mean(axis=0), reps


def true_rank_sets(truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    better = (truth[None, :] > truth[:, None]).sum(axis=1)
    worse = (truth[None, :] < truth[:, None]).sum(axis=1)
    return 1 + better, truth.size - worse


def coverage(truth: np.ndarray, boards: int, rng: np.random.Generator
             ) -> tuple[float, float, float]:
    """(pooled per-row coverage, its MC standard error, share of boards fully covered)."""
    lo_true, hi_true = true_rank_sets(truth)
    per_board = np.empty(boards)
    for b in range(boards):
        points, reps = draw_board(truth, rng, b)
        ranks = rank_intervals(points, reps)
        covered = (ranks.rank_low <= lo_true) & (ranks.rank_high >= hi_true)
        per_board[b] = covered.mean()
    se = per_board.std(ddof=1) / np.sqrt(boards)
    return float(per_board.mean()), float(se), float(np.mean(per_board == 1.0))


def ties_at_top(group: int, boards: int, rng: np.random.Generator
                ) -> tuple[float, float, float, float]:
    """A 60-row board: ``group`` rows tied at 0.80, the rest spread over 0.70 .. 0.30.
    (share of boards where every tied row has rank_low 1, its MC SE, per-row share, its
    MC SE clustered by board)."""
    truth = np.concatenate([np.full(group, 0.80), np.linspace(0.70, 0.30, 60 - group)])
    all_first = np.empty(boards, dtype=bool)
    row_first = np.empty(boards)
    for b in range(boards):
        points, reps = draw_board(truth, rng, b)
        first = rank_intervals(points, reps).rank_low[:group] == 1
        all_first[b], row_first[b] = first.all(), first.mean()
    rate = float(all_first.mean())
    return (rate, float(np.sqrt(rate * (1 - rate) / boards)), float(row_first.mean()),
            float(row_first.std(ddof=1) / np.sqrt(boards)))


def collapse_violations(truth: np.ndarray, rank_low: np.ndarray, rank_high: np.ndarray,
                        gap: float = 0.15) -> int:
    """Pairs (i above j by >= gap in truth) where j's bounds are not both strictly worse."""
    i, j = np.nonzero(truth[:, None] - truth[None, :] >= gap - 1e-12)
    return int(np.sum((rank_low[j] <= rank_low[i]) | (rank_high[j] <= rank_high[i])))


def undecided_pairs(points: np.ndarray, reps: np.ndarray, critical: np.ndarray,
                    upper: np.ndarray, lower: np.ndarray) -> int:
    """How many (upper, lower) pairs ``better_than`` does not call for the upper row."""
    out = 0
    for i, j in zip(upper, lower, strict=True):
        verdict = pair(points[i], reps[i], points[j], reps[j])
        out += better_than(verdict, critical[i], critical[j]) != "A"
    return out


def old_rule_bounds(reps: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """The retired rule: 1 + #rows j with Holm-adjusted p(j better than i) < alpha, where
    p = (#resamples with j not ahead of i + 1) / (B + 1)."""
    k, b = reps.shape
    out = np.empty(k, dtype=np.int64)
    for i in range(k):
        others = [j for j in range(k) if j != i]
        p = np.array([(np.sum(reps[j] <= reps[i]) + 1) / (b + 1) for j in others])
        order = np.argsort(p, kind="stable")
        m = p.size
        adjusted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
        out[i] = 1 + int(np.sum(adjusted < alpha))
    return out


def percentile_rank_intervals(reps: np.ndarray, level: float = 0.95
                              ) -> tuple[np.ndarray, np.ndarray]:
    """The rule not used: each row's rank on every resample (1 + #rows strictly ahead), and
    the (1 - level)/2 and (1 + level)/2 percentiles of those ranks (outward-rounded)."""
    ranks = 1 + (reps[None, :, :] > reps[:, None, :]).sum(axis=1)  # (k, B)
    alpha = 1 - level
    return (np.quantile(ranks, alpha / 2, axis=1, method="lower"),
            np.quantile(ranks, 1 - alpha / 2, axis=1, method="higher"))


def section_coverage(count, rng: np.random.Generator) -> None:
    configs = [
        (5, "spread 0.80 .. 0.60", np.linspace(0.80, 0.60, 5), 2000),
        (5, "two tied pairs + one", np.array([0.70, 0.70, 0.65, 0.65, 0.60]), 2000),
        (5, "all tied at 0.70", np.full(5, 0.70), 2000),
        (20, "spread 0.80 .. 0.50", np.linspace(0.80, 0.50, 20), 1000),
        (20, "4 groups of 5 tied", np.repeat([0.75, 0.70, 0.65, 0.60], 5), 1000),
        (20, "all tied at 0.70", np.full(20, 0.70), 1000),
        (60, "spread 0.90 .. 0.30", np.linspace(0.90, 0.30, 60), 500),
        (60, "12 groups of 5 tied", np.repeat(np.linspace(0.90, 0.35, 12), 5), 500),
        (60, "all tied at 0.70", np.full(60, 0.70), 500),
    ]
    print("Coverage of the true rank set (per row, pooled over rows and boards; MC SE "
          "clustered by board)")
    print("| k | true accuracies | boards | coverage | MC SE | boards fully covered |")
    print("|---|---|---|---|---|---|")
    for k, label, truth, boards in configs:
        boards = count(boards)
        cov, se, full = coverage(truth, boards, rng)
        print(f"| {k} | {label} | {boards} | {cov:.4f} | {se:.4f} | {full:.3f} |", flush=True)


def section_ties(count, rng: np.random.Generator) -> None:
    print("Ties at the top (60-row board: the group tied at 0.80, the rest 0.70 .. 0.30)")
    print("| tied rows | boards | every tied row rank_low = 1 | MC SE | per tied row | MC SE |")
    print("|---|---|---|---|---|---|")
    for group in (5, 20):
        boards = count(500)
        rate, se, per_row, row_se = ties_at_top(group, boards, rng)
        print(f"| {group} | {boards} | {rate:.3f} | {se:.3f} | {per_row:.4f} | {row_se:.4f} |",
              flush=True)


def section_collapse(count, rng: np.random.Generator) -> None:
    truth = np.linspace(0.9, 0.1, 200)
    boards = count(50)
    bad_boards, bad_pairs, undecided = 0, 0, 0
    upper, lower = np.nonzero(truth[:, None] - truth[None, :] >= 0.15 - 1e-12)
    for b in range(boards):
        points, reps = draw_board(truth, rng, b)
        ranks = rank_intervals(points, reps)
        bad = collapse_violations(truth, ranks.rank_low, ranks.rank_high)
        bad_boards += bad > 0
        bad_pairs += bad
        undecided += undecided_pairs(points, reps, ranks.critical, upper, lower)
    total = boards * upper.size
    print(f"No collapse (200 rows, true accuracies 0.90 .. 0.10): {boards} boards x "
          f"{upper.size} pairs >= 0.15 apart = {total} pairs; pairs whose lower row's bounds "
          f"are not both strictly worse: {bad_pairs} (boards with any: {bad_boards}). The "
          f"pair's own verdict (better_than) is not 'upper row better' in {undecided} of "
          f"{total} ({undecided / total:.3%})", flush=True)


def section_old(count, rng: np.random.Generator) -> None:
    truth = np.linspace(1.0, 0.17, 62)
    boards = count(20)
    at_one, old_bad, new_bad, new_max = 0, 0, 0, []
    for b in range(boards):
        points, reps = draw_board(truth, rng, b)
        old = old_rule_bounds(reps)
        new = rank_intervals(points, reps)
        at_one += int(np.sum(old == 1))
        old_bad += collapse_violations(truth, old, old)
        new_bad += collapse_violations(truth, new.rank_low, new.rank_high)
        new_max.append(int(new.rank_low.max()))
    pairs = boards * int(np.sum(truth[:, None] - truth[None, :] >= 0.15 - 1e-12))
    print(f"Old rule on 62-row boards (true accuracies 1.00 .. 0.17), {boards} boards: rows "
          f"at rank 1: {at_one} of {62 * boards}; pairs >= 0.15 apart not ordered: old rule "
          f"{old_bad} of {pairs}, new rule {new_bad} (new rule's largest rank_low per board: "
          f"{min(new_max)} .. {max(new_max)})", flush=True)


def section_percentile(count, rng: np.random.Generator) -> None:
    configs = [
        (5, "all tied at 0.70", np.full(5, 0.70)),
        (20, "4 groups of 5 tied", np.repeat([0.75, 0.70, 0.65, 0.60], 5)),
        (20, "all tied at 0.70", np.full(20, 0.70)),
        (60, "12 groups of 5 tied", np.repeat(np.linspace(0.90, 0.35, 12), 5)),
    ]
    print("Percentile of bootstrap ranks vs max-t: coverage of each row's rank "
          "r = 1 + #truly better (ties share the best rank), per row")
    print("| k | true accuracies | boards | percentile rule | MC SE | max-t rule | MC SE |")
    print("|---|---|---|---|---|---|---|")
    for k, label, truth in configs:
        boards = count(200)
        rank = true_rank_sets(truth)[0]
        pct, mt = np.empty(boards), np.empty(boards)
        for b in range(boards):
            points, reps = draw_board(truth, rng, b)
            low, high = percentile_rank_intervals(reps)
            pct[b] = np.mean((low <= rank) & (rank <= high))
            ranks = rank_intervals(points, reps)
            mt[b] = np.mean((ranks.rank_low <= rank) & (rank <= ranks.rank_high))
        se = [x.std(ddof=1) / np.sqrt(boards) for x in (pct, mt)]
        print(f"| {k} | {label} | {boards} | {pct.mean():.4f} | {se[0]:.4f} | "
              f"{mt.mean():.4f} | {se[1]:.4f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every board count")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    args = parser.parse_args()

    def count(boards: int) -> int:
        return max(2, round(boards * args.scale))

    print(f"n = {N} checkups, B = {B} resamples, level 0.95, seed {args.seed}, "
          f"scale {args.scale}", flush=True)
    for name in args.sections:
        started = time.perf_counter()
        rng = np.random.default_rng([args.seed, zlib.crc32(name.encode())])
        print()
        globals()[f"section_{name}"](count, rng)
        print(f"({name}: {time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
