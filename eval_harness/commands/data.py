"""`python -m eval_harness data {synth,validate,info,export}`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from eval_harness.commands.common import dataset_path
from eval_harness.data.checkup import LANGUAGES


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="build, check, describe and convert datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    synth = data_sub.add_parser("synth", help="write a synthetic dataset in the COde layout")
    synth.add_argument("--out", required=True, type=Path, help="folder to create")
    synth.add_argument("--checkups", type=int, default=300, help="number of checkups")
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(handler=_synth)

    validate = data_sub.add_parser("validate", help="list every problem of a COde folder")
    validate.add_argument("folder", type=dataset_path("FOLDER"), metavar="FOLDER")
    validate.add_argument("--language", choices=LANGUAGES, default="en")
    validate.add_argument("--no-images", action="store_true", help="skip decoding images")
    validate.add_argument("--max-image-pixels", type=int, default=None)
    validate.set_defaults(handler=_validate)

    info = data_sub.add_parser("info", help="counts per split and class, fingerprint")
    info.add_argument("path", type=dataset_path("PATH"), metavar="PATH",
                      help="COde folder, .jsonl or datasets copy")
    info.add_argument("--language", choices=LANGUAGES, default="en")
    info.add_argument("--validation-fraction", type=float, default=0.0,
                      help="carve a patient-grouped validation split from train first")
    info.add_argument("--seed", type=int, default=0)
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(handler=_info)

    export = data_sub.add_parser("export", help="convert to ShareGPT JSONL or a datasets copy")
    export.add_argument("path", type=dataset_path("PATH"), metavar="PATH",
                        help="COde folder, .jsonl or datasets copy")
    export.add_argument("--format", choices=("jsonl", "hf"), required=True)
    export.add_argument("--out", type=Path, required=True,
                        help=".jsonl file, .parquet file or a save_to_disk folder")
    export.add_argument("--language", choices=LANGUAGES, default="en")
    export.add_argument("--split", default=None)
    export.set_defaults(handler=_export)


def _synth(args: argparse.Namespace) -> int:
    from eval_harness.data.synth import generate

    start = time.perf_counter()
    csv_path = generate(args.out, args.checkups, args.seed)
    print(f"wrote {args.checkups} synthetic checkups to {csv_path.parent} "
          f"in {time.perf_counter() - start:.1f} s (seed {args.seed})")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from eval_harness.data.images import DEFAULT_MAX_PIXELS
    from eval_harness.data.validate import validate_folder

    problems = validate_folder(args.folder, language=args.language,
                               check_images=not args.no_images,
                               max_pixels=args.max_image_pixels or DEFAULT_MAX_PIXELS)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {args.folder}", file=sys.stderr)
        return 1
    print(f"{args.folder}: no problems found")
    return 0


def _info(args: argparse.Namespace) -> int:
    from eval_harness.data.load import load_checkups
    from eval_harness.data.split import carve_validation
    from eval_harness.data.summary import format_summary, summarize

    checkups = load_checkups(args.path, language=args.language)
    if args.validation_fraction:
        checkups = carve_validation(checkups, args.validation_fraction, args.seed)
    summary = summarize(checkups)
    print(json.dumps(summary, indent=2, ensure_ascii=False) if args.json
          else format_summary(summary))
    return 0


def _export(args: argparse.Namespace) -> int:
    from eval_harness.data.load import load_checkups

    checkups = load_checkups(args.path, language=args.language, split=args.split)
    if args.format == "jsonl":
        from eval_harness.data.sharegpt import export_jsonl
        out = export_jsonl(checkups, args.out)
    else:
        from eval_harness.data.hf import export_hf
        out = export_hf(checkups, args.out)
    print(f"wrote {len(checkups)} checkups to {out}")
    return 0
