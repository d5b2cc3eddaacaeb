"""`python -m eval_harness score`: score a predictions file with no model."""

from __future__ import annotations

import argparse
from pathlib import Path

from eval_harness.commands.common import add_scoring_flags, dataset_path, finish, score_options
from eval_harness.data.checkup import LANGUAGES
from eval_harness.errors import DataError, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score a predictions JSONL (or a peer run) without a model",
                       description="Score predictions against the references of a split. "
                       "Failures and unparseable answers count as wrong in the primary "
                       "numbers; the answered-subset numbers are reported beside them.")
    p.add_argument("--data", type=dataset_path("--data"),
                   help="COde folder (or .jsonl/datasets copy); with --peer-run: the "
                        "release the run was made on (ids and fingerprint)")
    p.add_argument("--references", type=Path,
                   help='references JSONL: {"id", "class", "report"?, "classes"?, "label_map"?}')
    p.add_argument("--peer-run", type=Path,
                   help="a pocket-dentist run folder (ground truth inside each line)")
    p.add_argument("--predictions", type=Path,
                   help='predictions JSONL: {"id", "task", "prediction"} (not with --peer-run)')
    p.add_argument("--output", type=Path, required=True,
                   help="folder for results.json and samples.jsonl")
    p.add_argument("--split", default="test")
    p.add_argument("--language", choices=LANGUAGES, default="en")
    p.add_argument("--tasks", default=None,
                   help="comma-separated tasks (default: every task the predictions hold)")
    p.add_argument("--uncertain-positive", action="store_true",
                   help="clinical labels: count uncertain mentions as positive")
    add_scoring_flags(p)
    p.set_defaults(handler=run)


def _check_peer_run(path: Path) -> None:
    """A missing peer run, with where the published ones are: a fresh clone has none (they
    sit in ../shared beside the checkout on the project's machines and in CI), which the
    reader's "file does not exist" cannot say."""
    if not path.exists():
        raise DataError.single(
            str(path), "no such peer-run folder",
            fix="the published runs live in ../shared/data/peer-runs on the project's "
                "machines and CI, not in a clone of this repository; give one of those "
                "folders (e.g. ../shared/data/peer-runs/pocket-dentist-code/sft/<model>) "
                "or a pocket-dentist run folder of your own")


def run(args: argparse.Namespace) -> int:
    from eval_harness.api import load_split, score_predictions
    from eval_harness.commands.common import check_output
    from eval_harness.hashing import sha256_file
    from eval_harness.predictions import (
        peer_run_on_checkups,
        read_peer_run,
        read_predictions,
        read_references,
    )
    from eval_harness.tasks import parse_tasks

    tasks = parse_tasks(args.tasks) if args.tasks is not None else None
    check_output(args.output)
    given = [flag for flag, value in (("--data", args.data), ("--references", args.references),
                                      ("--peer-run", args.peer_run)) if value is not None]
    if given not in (["--data"], ["--references"], ["--peer-run"], ["--data", "--peer-run"]):
        raise UsageError("give one of --data, --references or --peer-run (--peer-run may "
                         f"come with --data), not {' and '.join(given) or 'none'}")
    if args.peer_run:
        if args.predictions:
            raise UsageError("--peer-run carries its own predictions; drop --predictions")
        _check_peer_run(args.peer_run)
        references, predictions = read_peer_run(args.peer_run)
        source = Path(references.source)
        if args.data:
            folder = load_split(args.data, "test", args.language)
            references, predictions = peer_run_on_checkups(
                references, predictions, folder.everything, name=folder.references.name,
                source=str(source))
    else:
        if not args.predictions:
            raise UsageError("--predictions is required with --data/--references")
        if args.data:
            references = load_split(args.data, args.split, args.language).references
        else:
            references = read_references(args.references, args.split)
        predictions, source = read_predictions(args.predictions), args.predictions
    model = {"backend": "predictions",
             "name": args.peer_run.name if args.peer_run else args.predictions.stem,
             "source": str(source), "sha256": sha256_file(source)}
    scored = score_predictions(predictions, references, score_options(args), tasks=tasks,
                               model=model, source=str(source))
    return finish(scored, args)
