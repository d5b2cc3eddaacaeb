"""`python -m eval_harness finetune`: train with a recipe, then evaluate through the harness;
`finetune merge ADAPTER --output DIR`: fold a LoRA adapter into merged safetensors."""

from __future__ import annotations

import argparse
from pathlib import Path

from eval_harness.commands.common import dataset_path
from eval_harness.data.checkup import LANGUAGES
from eval_harness.errors import UsageError

# flag -> recipe field (None on the command line keeps the recipe's value)
OVERRIDES = {"lr": "learning_rate", "epochs": "epochs", "batch_size": "batch_size",
             "grad_accum": "grad_accum", "cutoff": "cutoff", "max_images": "max_images",
             "max_pixels": "max_pixels", "lora_rank": "lora_rank", "lora_alpha": "lora_alpha",
             "lora_dropout": "lora_dropout", "warmup_ratio": "warmup_ratio", "seed": "seed",
             "max_steps": "max_steps", "save_steps": "save_steps", "eval_steps": "eval_steps",
             "logging_steps": "logging_steps", "validation_fraction": "validation_fraction",
             "vision_epochs": "vision_epochs", "vision_lr": "vision_learning_rate",
             "vision_batch_size": "vision_batch_size", "vision_lr_scale": "vision_lr_scale",
             "vision_freeze_ratio": "vision_freeze_ratio",
             "modality_dropout": "modality_dropout"}
FLOATS = {"lr", "epochs", "lora_dropout", "warmup_ratio", "validation_fraction",
          "vision_epochs", "vision_lr", "vision_lr_scale", "vision_freeze_ratio",
          "modality_dropout"}


def register(sub: argparse._SubParsersAction) -> None:
    from eval_harness.finetune.recipes import RECIPES

    p = sub.add_parser(
        "finetune", help="fine-tune a model on a COde folder (or merge an adapter)",
        description="Fine-tune on the train split (validation carved from it, grouped by "
                    "patient), then evaluate on the test split and write a model card. "
                    "`finetune merge ADAPTER --output DIR` merges a LoRA adapter instead.")
    p.add_argument("merge", nargs="*", metavar="merge ADAPTER",
                   help="merge the LoRA adapter folder ADAPTER into its base")
    p.add_argument("--base", help="base model: a local folder or a cached hub id")
    p.add_argument("--data", type=dataset_path("--data"),
                   help="COde folder (train and test splits)")
    p.add_argument("--tasks", default="code_cls,code_report")
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--recipe", choices=sorted(RECIPES), default="paper")
    p.add_argument("--language", choices=LANGUAGES, default="en")
    for flag in OVERRIDES:
        p.add_argument(f"--{flag.replace('_', '-')}", dest=flag, default=None,
                       type=float if flag in FLOATS else int,
                       help=f"override the recipe's {OVERRIDES[flag]}")
    p.add_argument("--no-eval", action="store_true", help="skip the test-split evaluation")
    p.add_argument("--eval-limit", type=int, default=None,
                   help="evaluate on the first N test checkups only")
    p.add_argument("--no-resume", action="store_true",
                   help="start over even if OUTPUT holds a Trainer checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.merge:
        return _merge(args)
    from eval_harness.finetune.recipes import recipe
    from eval_harness.finetune.train import finetune
    from eval_harness.tables import format_results
    from eval_harness.tasks import parse_tasks

    if not args.base or not args.data:
        raise UsageError("finetune needs --base and --data (or: finetune merge ADAPTER "
                         "--output DIR)")
    if args.output.exists() and not args.output.is_dir():
        raise UsageError(f"--output {args.output} is an existing file; give a folder")
    if args.eval_limit is not None and args.eval_limit < 1:
        raise UsageError("--eval-limit must be at least 1")
    chosen = recipe(args.recipe, **{field: getattr(args, flag)
                                    for flag, field in OVERRIDES.items()})
    result = finetune(args.base, args.data, parse_tasks(args.tasks), args.output, chosen,
                      language=args.language, evaluate=not args.no_eval,
                      resume=not args.no_resume, progress=not args.quiet,
                      eval_limit=args.eval_limit)
    if result.scored is not None:
        print(format_results(result.scored.document))
    what = "LoRA adapter" if result.adapter else "model"
    print(f"\nwrote the {what}, training_log.jsonl and README.md (model card) to {args.output}")
    return 0


def _merge(args: argparse.Namespace) -> int:
    from eval_harness.finetune.merge import merge_adapter

    if len(args.merge) != 2 or args.merge[0] != "merge":
        raise UsageError("use: finetune merge ADAPTER --output DIR [--base PATH_OR_HUB_ID]")
    out = merge_adapter(Path(args.merge[1]), args.output, args.base)
    print(f"wrote merged safetensors weights and the processor to {out}")
    return 0
