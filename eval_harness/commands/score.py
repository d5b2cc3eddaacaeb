"""`python -m eval_harness score`: score a predictions file with no model."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from eval_harness.data.checkup import LANGUAGES
from eval_harness.predictions import TASKS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score a predictions JSONL (or a peer run) without a model",
                       description="Score predictions against the references of a split. "
                       "Failures and unparseable answers count as wrong in the primary "
                       "numbers; the answered-subset numbers are reported beside them.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="COde folder (or .jsonl/datasets copy)")
    source.add_argument("--references", type=Path,
                        help='references JSONL: {"id", "class", "report"?, "classes"?}')
    source.add_argument("--peer-run", type=Path,
                        help="a pocket-dentist run folder (ground truth inside each line)")
    p.add_argument("--predictions", type=Path,
                   help='predictions JSONL: {"id", "task", "prediction"} (not with --peer-run)')
    p.add_argument("--output", type=Path, required=True,
                   help="folder for results.json and samples.jsonl")
    p.add_argument("--split", default="test")
    p.add_argument("--language", choices=LANGUAGES, default="en")
    p.add_argument("--tasks", default=",".join(TASKS), help="comma-separated tasks")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-embeddings", action="store_true", help="skip MiniLM cosine")
    p.add_argument("--uncertain-positive", action="store_true",
                   help="clinical labels: count uncertain mentions as positive")
    p.set_defaults(handler=run)


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(args: argparse.Namespace) -> int:
    from eval_harness.evaluate import evaluate_inputs
    from eval_harness.predictions import align, read_peer_run, read_predictions
    from eval_harness.results import DatasetInfo, write_results
    from eval_harness.scoring import ScoreOptions
    from eval_harness.tables import format_results

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"unknown task(s) {', '.join(unknown)}; use {', '.join(TASKS)}")
    if args.resamples < 1:
        raise ValueError("--resamples must be at least 1")
    if args.peer_run:
        if args.predictions:
            raise ValueError("--peer-run carries its own predictions; drop --predictions")
        inputs = {t: i for t, i in read_peer_run(args.peer_run).items() if t in tasks}
        source = args.peer_run / "predictions.jsonl" if args.peer_run.is_dir() else args.peer_run
        dataset = DatasetInfo(name="COde (peer run)", split="test",
                              size=max(len(i.references) for i in inputs.values()),
                              fingerprint=_file_sha256(source), label_map=None)
        model = {"backend": "predictions", "name": args.peer_run.name,
                 "source": str(source), "sha256": _file_sha256(source)}
    else:
        if not args.predictions:
            raise ValueError("--predictions is required with --data/--references")
        references, dataset = _references(args)
        predictions = read_predictions(args.predictions)
        inputs = {t: align(t, references, predictions, str(args.predictions)) for t in tasks}
        model = {"backend": "predictions", "name": args.predictions.stem,
                 "source": str(args.predictions), "sha256": _file_sha256(args.predictions)}
    options = ScoreOptions(resamples=args.resamples, seed=args.seed, language=args.language,
                           embeddings=not args.no_embeddings,
                           uncertain_positive=args.uncertain_positive)
    document, samples = evaluate_inputs(inputs, options, dataset=dataset, model=model)
    results_path, _ = write_results(document, samples, args.output)
    print(format_results(document))
    print(f"\nwrote {results_path} and samples.jsonl")
    return 0


def _references(args: argparse.Namespace):
    from eval_harness.data.load import dataset_name, load_checkups
    from eval_harness.data.summary import fingerprint
    from eval_harness.predictions import read_references, references_from_checkups
    from eval_harness.results import DatasetInfo

    if args.data:
        checkups = load_checkups(args.data, language=args.language, split=args.split)
        if not checkups:
            raise ValueError(f"{args.data} has no {args.split!r} checkups")
        info = DatasetInfo(name=dataset_name(args.data), split=args.split, size=len(checkups),
                           fingerprint=fingerprint(checkups), label_map=checkups[0].label_map)
        return references_from_checkups(checkups), info
    references = read_references(args.references)
    info = DatasetInfo(name=f"references:{args.references.name}", split=args.split,
                       size=len(references), fingerprint=_file_sha256(args.references),
                       label_map=None)
    return references, info
