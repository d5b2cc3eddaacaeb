"""The leaderboard's three speed goals, each measured in one run (medians of --repeats).

Run: .venv/bin/python -m benchmarks.bench_leaderboard [--rows 10000] [--repeats 7]

(a) The ranked view (CIs, rank intervals, report columns) of a board with ``--rows``
    finished rows, read from a SQLite store: goal <= 200 ms. The rows are written straight
    into the tables (standings and rank intervals as a recompute stores them), so only the
    read is timed.
(b) Validating a 1,200-line predictions file (600 checkups x 2 tasks, reports of ~1 KB)
    against its board: goal <= 50 ms.
(c) The worker's overhead on a predictions job: the harness API scoring the same file
    directly, divided by the worker's whole job (claim, heartbeat, scoring, storing the
    results, the per-sample records and the standings): goal >= 0.9.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def ranked_view(rows: int, repeats: int, folder: Path) -> float:
    import random

    from leaderboard.store.database import open_store
    from leaderboard.store.schema import Board, RankInterval, Standing, Submission
    from leaderboard.views import ranked

    sessions = open_store(f"sqlite:///{folder / 'board.sqlite'}")
    rng = random.Random(0)
    with sessions.begin() as session:
        session.add(Board(id="big", title="big", n_checkups=600))
        session.flush()
        for i in range(rows):
            value = rng.random()
            s = Submission(board_id="big", kind="predictions", model_name=f"model-{i}",
                           submitter=f"s{i % 97}", content_hash=f"{i:064d}",
                           status="finished", setting="zero-shot", params_billion=7.0,
                           open_weights=True, harness_version="0.1.0")
            session.add(s)
            session.flush()
            session.add(Standing(board_id="big", submission_id=s.id, task="code_cls",
                                 metric="macro_f1", value=value, ci_low=value - 0.03,
                                 ci_high=value + 0.03, rank_upper_bound=1 + i // 10,
                                 columns={"n_failed": 0, "top_confusion": None}))
            session.add(RankInterval(board_id="big", submission_id=s.id, task="code_cls",
                                     metric="macro_f1", value=value, ci_low=value - 0.03,
                                     ci_high=value + 0.03, rank_low=1 + i // 10,
                                     rank_high=1 + i // 10 + 20, critical=3.0))

    def read() -> None:
        with sessions() as session:
            assert len(ranked(session, "big", "code_cls")) == rows

    read()  # warm the page cache and the statement cache, as a running app has them
    return _median_ms(read, repeats)


def _board_file(data: Path) -> tuple[bytes, set[str]]:
    from eval_harness.api import load_split

    split = load_split(data, "test", "en")
    ids = [c.checkup_id for c in split.checkups]
    lines = [{"id": c.checkup_id, "task": "code_cls", "prediction": c.primary}
             for c in split.checkups]
    lines += [{"id": c.checkup_id, "task": "code_report", "prediction": c.reference_report}
              for c in split.checkups]
    return "".join(json.dumps(x) + "\n" for x in lines).encode(), set(ids)


def validation(raw: bytes, ids: set[str], repeats: int) -> float:
    from leaderboard.submissions import Limits, check_predictions

    return _median_ms(lambda: check_predictions(raw, "p.jsonl", ids, Limits()), repeats)


def worker_overhead(raw: bytes, data: Path, folder: Path, repeats: int) -> tuple[float, float]:
    import os

    from eval_harness import api
    from eval_harness.tasks.base import ScoreOptions
    from leaderboard.boards import references_for
    from leaderboard.store.database import open_store
    from leaderboard.submissions import submit_predictions
    from leaderboard.worker import work_once

    os.environ["CODEBENCH_DATA_DIR"] = str(data)
    options = ScoreOptions(embeddings=False)
    path = folder / "p.jsonl"
    path.write_bytes(raw)
    direct, through = [], []
    for n in range(repeats):
        start = time.perf_counter()
        api.score_predictions(api.read_predictions(path), references_for("synthetic-demo"),
                              options)
        direct.append(time.perf_counter() - start)
        sessions = open_store(f"sqlite:///{folder / f'w{n}.sqlite'}")
        submit_predictions(sessions, "synthetic-demo", raw,
                           {"model_name": "m", "submitter": f"s{n}"}, folder=folder)
        start = time.perf_counter()
        assert work_once(sessions, folder, "bench", options=options) == "finished"
        through.append(time.perf_counter() - start)
    return statistics.median(direct), statistics.median(through)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    from eval_harness.data.synth import generate

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        view_ms = ranked_view(args.rows, args.repeats, folder)
        print(f"(a) ranked view of {args.rows:,} rows: median {view_ms:.1f} ms (goal <= 200)")
        data = folder / "data"
        generate(data, 3000, seed=3)  # a 600-checkup test split, as code-test-600
        raw, ids = _board_file(data)
        n_lines = raw.count(b"\n")
        check_ms = validation(raw, ids, args.repeats)
        print(f"(b) validating {n_lines:,} lines ({len(raw) / 1e6:.1f} MB): median "
              f"{check_ms:.1f} ms (goal <= 50)")
        direct, through = worker_overhead(raw, data, folder, max(3, args.repeats // 2))
        print(f"(c) scoring directly {direct:.2f} s, through the worker {through:.2f} s: "
              f"ratio {direct / through:.3f} (goal >= 0.9)")


if __name__ == "__main__":
    main()
