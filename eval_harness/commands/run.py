"""`python -m eval_harness run`: predict with a model, then score through the same path
as `score` (so --predict-only followed by `score` gives identical numbers)."""

from __future__ import annotations

import argparse
from pathlib import Path

from eval_harness.commands.common import add_scoring_flags, dataset_path, finish, score_options
from eval_harness.data.checkup import LANGUAGES
from eval_harness.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    from eval_harness.models.registry import MODELS
    from eval_harness.tasks import task_names

    p = sub.add_parser("run", help="evaluate a model on a split",
                       description="Run a model on the checkups of a split and score it.")
    p.add_argument("--model", required=True, choices=sorted(MODELS))
    p.add_argument("--model-args", default="",
                   help="k=v,... e.g. model=PATH,adapter=PATH (hf); model=gpt-4o (openai); "
                        "path=FILE.jsonl (predictions)")
    p.add_argument("--tasks", default="code_cls,code_report",
                   help=f"comma-separated, among {', '.join(task_names())}")
    p.add_argument("--data", type=dataset_path("--data"), required=True,
                   help="COde folder (or export)")
    p.add_argument("--split", default="test")
    p.add_argument("--language", choices=LANGUAGES, default="en")
    p.add_argument("--limit", type=int, default=None, help="first N checkups (by id)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-images", type=int, default=8)
    p.add_argument("--max-pixels", type=int, default=512 * 28 * 28)
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--log-samples", action="store_true",
                   help="also write each prompt's text into samples.jsonl")
    p.add_argument("--predict-only", action="store_true",
                   help="write predictions.jsonl and stop (score it later with `score`)")
    p.add_argument("--cls-mode", choices=("generate", "score"), default=None,
                   help="code_cls by free generation (default) or, with --model hf, by "
                        "ranking the six class names by log-likelihood (always parseable; "
                        "probabilities go into predictions.jsonl for calibration)")
    p.add_argument("--cache", type=Path, default=None,
                   help="response cache (default $CODEBENCH_CACHE/responses.sqlite)")
    p.add_argument("--no-cache", action="store_true")
    add_scoring_flags(p)
    p.set_defaults(handler=run)


def _model_args(args: argparse.Namespace) -> dict[str, str]:
    from eval_harness.models.registry import check_model_args, parse_model_args

    model_args = parse_model_args(args.model_args)
    check_model_args(args.model, model_args)  # a typo or a missing key before data loads
    if args.cls_mode is not None:
        if args.model != "hf" and args.cls_mode == "score":
            raise UsageError("--cls-mode score ranks classes by log-likelihood, which only "
                             "--model hf can compute")
        if args.model == "hf":
            if model_args.get("cls_mode", args.cls_mode) != args.cls_mode:
                raise UsageError(f"--cls-mode {args.cls_mode} contradicts --model-args "
                                 f"cls_mode={model_args['cls_mode']}")
            model_args["cls_mode"] = args.cls_mode
    return model_args


def run(args: argparse.Namespace) -> int:
    from eval_harness import api
    from eval_harness.commands.common import check_output
    from eval_harness.distributed import world
    from eval_harness.tasks import parse_tasks
    from eval_harness.tasks.prompts import PromptOptions

    tasks = parse_tasks(args.tasks)
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    if args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    check_output(args.output)
    options = score_options(args)
    model_args = _model_args(args)
    split = api.load_split(args.data, args.split, args.language)
    prompt = PromptOptions(language=args.language, max_images=args.max_images,
                           max_pixels=args.max_pixels)
    cache = None if args.no_cache else (args.cache or api.DEFAULT_CACHE)

    def keep(predictions, stats) -> str:
        pred_path = api.write_predictions(predictions, args.output / "predictions.jsonl")
        print(f"{stats.requests} requests on the main process ({world()[1]} in all): "
              f"{stats.cached} from cache, {stats.generated} generated; wrote {pred_path}")
        return str(pred_path)

    scored = api.evaluate_on(split, args.model, model_args, tasks, options, prompt=prompt,
                             cache=cache, batch_size=args.batch_size,
                             progress=not args.quiet and world()[0] == 0, seed=args.seed,
                             limit=args.limit, log_samples=args.log_samples,
                             after_predict=keep, predict_only=args.predict_only)
    if scored is None:
        return 0  # --predict-only, or not the main process (it only predicted its shard)
    return finish(scored, args)
