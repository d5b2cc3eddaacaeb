"""`python -m eval_harness run`: predict with a model, then score through the same path
as `score` (so --predict-only followed by `score` gives identical numbers)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval_harness.data.checkup import LANGUAGES
from eval_harness.predictions import TASKS


def register(sub: argparse._SubParsersAction) -> None:
    from eval_harness.models.registry import MODELS

    p = sub.add_parser("run", help="evaluate a model on a split",
                       description="Run a model on the checkups of a split and score it.")
    p.add_argument("--model", required=True, choices=sorted(MODELS))
    p.add_argument("--model-args", default="",
                   help="k=v,... e.g. model=PATH,adapter=PATH (hf); model=gpt-4o (openai); "
                        "path=FILE.jsonl (predictions)")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--data", type=Path, required=True, help="COde folder (or export)")
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
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", type=Path, default=None,
                   help="response cache (default $CODEBENCH_CACHE/responses.sqlite)")
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--resamples", type=int, default=1000)
    p.add_argument("--no-embeddings", action="store_true", help="skip MiniLM cosine")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from eval_harness.data.load import dataset_name, load_checkups
    from eval_harness.data.summary import fingerprint
    from eval_harness.distributed import gather, shard, world
    from eval_harness.evaluate import evaluate_inputs
    from eval_harness.metrics.wordnet import cache_root
    from eval_harness.models.registry import create_model, parse_model_args
    from eval_harness.predictions import align, references_from_checkups
    from eval_harness.results import DatasetInfo, write_results
    from eval_harness.runner import ResponseCache, run_model
    from eval_harness.scoring import ScoreOptions
    from eval_harness.tables import format_results
    from eval_harness.tasks.prompts import (
        PromptOptions,
        build_request,
        request_hash,
        templates_hash,
    )

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if not tasks or any(t not in TASKS for t in tasks):
        raise ValueError(f"--tasks must be among {', '.join(TASKS)}")
    if args.limit is not None and args.limit < 1:
        raise ValueError("--limit must be at least 1")
    everything = load_checkups(args.data, language=args.language)
    checkups = sorted((c for c in everything if c.split == args.split),
                      key=lambda c: c.checkup_id)[:args.limit]
    if not checkups:
        raise ValueError(f"{args.data} has no {args.split!r} checkups")
    train = [c for c in everything if c.split == "train"]
    model_args = parse_model_args(args.model_args)
    if args.cls_mode is not None:
        if args.model != "hf" and args.cls_mode == "score":
            raise ValueError("--cls-mode score ranks classes by log-likelihood, which only "
                             "--model hf can compute")
        if args.model == "hf":
            if model_args.get("cls_mode", args.cls_mode) != args.cls_mode:
                raise ValueError(f"--cls-mode {args.cls_mode} contradicts --model-args "
                                 f"cls_mode={model_args['cls_mode']}")
            model_args["cls_mode"] = args.cls_mode
    backend = create_model(args.model, model_args, train, args.seed)
    prompt = PromptOptions(language=args.language, max_images=args.max_images,
                           max_pixels=args.max_pixels)
    cache = None if args.no_cache else ResponseCache(args.cache or
                                                     cache_root() / "responses.sqlite")
    local, stats = run_model(shard(checkups), tasks, backend, prompt=prompt,
                             batch_size=args.batch_size, cache=cache,
                             progress=not args.quiet and world()[0] == 0)
    gathered = gather(local)
    if gathered is None:
        return 0  # not the main process: it only predicted its shard
    order = {c.checkup_id: i for i, c in enumerate(checkups)}
    predictions = {t: sorted((p for part in gathered for p in part[t]),
                             key=lambda p: order[p.sample_id]) for t in tasks}
    args.output.mkdir(parents=True, exist_ok=True)
    lines = [{"id": p.sample_id, "task": p.task, "prediction": p.text,
              **({"failed": True, "error": p.error} if p.failed else {}),
              **({"scores": p.scores} if p.scores else {}),
              **({"meta": p.meta} if p.meta else {})}
             for task in tasks for p in predictions[task]]
    pred_path = args.output / "predictions.jsonl"
    tmp = pred_path.with_name(pred_path.name + ".tmp")
    tmp.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    tmp.replace(pred_path)
    print(f"{stats.requests} requests on the main process ({world()[1]} in all): "
          f"{stats.cached} from cache, {stats.generated} generated; wrote {pred_path}")
    if args.predict_only:
        return 0
    references = references_from_checkups(checkups)
    inputs = {t: align(t, references, predictions[t], str(pred_path)) for t in tasks}
    dataset = DatasetInfo(name=dataset_name(args.data), split=args.split, size=len(checkups),
                          fingerprint=fingerprint(checkups), label_map=checkups[0].label_map)
    options = ScoreOptions(resamples=args.resamples, seed=args.seed, language=args.language,
                           embeddings=not args.no_embeddings)
    document, samples = evaluate_inputs(inputs, options, dataset=dataset,
                                        model=backend.describe(), prompt_hash=templates_hash())
    prompts = {(c.checkup_id, t): build_request(c, t, prompt) for c in checkups for t in tasks}
    for s in samples:
        request = prompts[s["id"], s["task"]]
        s["prompt_sha256"] = request_hash(request)
        if args.log_samples:
            s["prompt"] = request.text
            s["images"] = [p.name for p in request.images]
    results_path, _ = write_results(document, samples, args.output)
    print(format_results(document))
    print(f"\nwrote {results_path} and samples.jsonl")
    return 0
