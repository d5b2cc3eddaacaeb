"""What the `score` and `run` commands share: flags, the output folder, the split, the
printed table and the exit status. Everything else is in ``eval_harness.api``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from eval_harness.errors import UsageError

EXIT_DEGRADED = 3  # results written, but too many answers failed to trust them


def dataset_path(flag: str) -> Callable[[str], Path]:
    """An argparse type for a dataset argument. A CSV file given for the COde folder (its
    own complete_dataset.csv, most often) is told at once, naming the folder to give: the
    loader could only say "no such dataset" of a file that plainly exists."""
    from eval_harness.data.code_csv import CSV_NAME

    def convert(text: str) -> Path:
        path = Path(text)
        if path.suffix.lower() == ".csv" and path.is_file():
            raise argparse.ArgumentTypeError(
                f"{text} is a CSV file: point {flag} at the folder that holds {CSV_NAME} "
                f"(and Images/){f', here {path.parent}' if path.name == CSV_NAME else ''}")
        return path

    return convert


def add_scoring_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-embeddings", action="store_true",
                   help="skip the MiniLM cosine (no embedding is computed at all)")
    p.add_argument("--max-failure-rate", type=float, default=0.2,
                   help="above this share of failed or empty answers in a task the run is "
                        f"marked degraded and the command exits {EXIT_DEGRADED} (default 0.2)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars (the libraries' loading bars included)")


def score_options(args: argparse.Namespace):
    from eval_harness.tasks.base import ScoreOptions

    if args.resamples < 1:
        raise UsageError("--resamples must be at least 1")
    if not 0 <= args.max_failure_rate <= 1:
        raise UsageError("--max-failure-rate must be between 0 and 1")
    return ScoreOptions(resamples=args.resamples, seed=args.seed, language=args.language,
                        embeddings=not args.no_embeddings,
                        uncertain_positive=getattr(args, "uncertain_positive", False),
                        max_failure_rate=args.max_failure_rate)


def check_output(path: Path) -> None:
    """The output must be a folder (new or existing), before any work is done."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"--output {path} is an existing file; give a folder for "
                         "results.json and samples.jsonl")


def finish(scored, args: argparse.Namespace) -> int:
    """Write the results, print the table and say whether the run can be trusted."""
    import sys

    from eval_harness.tables import format_results

    results_path, _ = scored.write(args.output)
    print(format_results(scored.document))
    print(f"\nwrote {results_path} and samples.jsonl")
    if scored.degraded:
        failures = scored.document.failures
        rates = ", ".join(f"{t} {r:.0%}" for t, r in failures["rate"].items()
                          if r > failures["threshold"])
        errors = "; ".join(f"{m} (x{n})" for m, n in failures["top_errors"][:3])
        print(f"error: run degraded: failed or empty answers {rates} (threshold "
              f"{failures['threshold']:.0%}); commonest errors: {errors}", file=sys.stderr)
        return EXIT_DEGRADED
    return 0


def silence_progress_bars() -> None:
    """--quiet: the libraries' own bars too (model loading, downloads, datasets)."""
    import importlib.util

    if importlib.util.find_spec("transformers"):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    if importlib.util.find_spec("huggingface_hub"):
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    if importlib.util.find_spec("datasets"):
        from datasets.utils.logging import disable_progress_bar

        disable_progress_bar()
