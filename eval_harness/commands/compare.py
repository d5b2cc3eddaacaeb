"""`python -m eval_harness compare A.json B.json`: the paired table of two runs."""

from __future__ import annotations

import argparse
import json
from collections.abc import Collection
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="paired significance tests between two runs",
                       description="Compare two results documents scored on the same "
                       "checkups: paired bootstrap per metric, McNemar for accuracy, Holm "
                       "correction across metrics.")
    p.add_argument("a", type=Path, help="results.json (or its folder) of run A")
    p.add_argument("b", type=Path, help="results.json (or its folder) of run B")
    p.add_argument("--resamples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write the table as JSON here")
    p.set_defaults(handler=run)


def _task_note(tasks_a: Collection[str], tasks_b: Collection[str]) -> str | None:
    """One line naming the tasks compared and those left out, when the runs' task sets
    differ: only the shared ones can be paired, and a table that silently lacks a task
    reads as if the runs were equal on it."""
    only_a = [t for t in tasks_a if t not in tasks_b]
    only_b = [t for t in tasks_b if t not in tasks_a]
    if not only_a and not only_b:
        return None
    shared = [t for t in tasks_a if t in tasks_b]
    left_out = [f"{t} (only in A)" for t in only_a] + [f"{t} (only in B)" for t in only_b]
    return (f"compared {', '.join(shared)}, the task(s) both runs have; left out "
            f"{', '.join(left_out)}")


def run(args: argparse.Namespace) -> int:
    from eval_harness.compare import compare_runs, format_rows
    from eval_harness.errors import UsageError
    from eval_harness.results import read_results

    if args.resamples < 1:
        raise UsageError("--resamples must be at least 1")
    if args.json and args.json.is_dir():
        raise UsageError(f"--json {args.json} is a folder; give a file name")
    a, b = read_results(args.a), read_results(args.b)
    rows = compare_runs(a, b, resamples=args.resamples, seed=args.seed)
    note = _task_note(a[0].tasks, b[0].tasks)
    if note:
        print(note)
    print(format_rows(rows, a[0].model.get("name", str(args.a)),
                      b[0].model.get("name", str(args.b))))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.to_dict() for r in rows], indent=2) + "\n")
    return 0
