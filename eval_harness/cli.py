"""`python -m eval_harness`: one entry point, a subcommand per job.

Exit status: 0 done; 1 bad input data (one line per problem, naming file, line and
checkup); 2 bad usage (one line); 3 results written but the run is degraded (too many
failed or empty answers); 70 a bug in the harness: its traceback is shown, with one
line saying so, never hidden behind a short message; 130 interrupted; 141 the output
pipe closed (`| head`). The shared part lives in :mod:`eval_harness.cli_runtime`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from eval_harness import __version__, cli_runtime
from eval_harness.cli_runtime import EXIT_BUG, EXIT_DATA, EXIT_USAGE, OneLineErrors, dispatch

__all__ = ["EXIT_BUG", "EXIT_DATA", "EXIT_USAGE", "build_parser", "main"]

# The names these had before the runtime was shared (scripts and tests use them).
_OneLineErrors, _dispatch = OneLineErrors, dispatch


def build_parser() -> argparse.ArgumentParser:
    from eval_harness.commands import compare, data, finetune, run, score

    parser = OneLineErrors(
        prog="python -m eval_harness",
        description="COde-Bench: evaluate vision-language models on the COde oro-dental "
                    "benchmark.")
    parser.add_argument("--version", action="version", version=f"eval_harness {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (data, run, score, compare, finetune):
        command.register(sub)
    return parser


def _prepare(args: argparse.Namespace) -> None:
    if getattr(args, "quiet", False):
        from eval_harness.commands.common import silence_progress_bars

        silence_progress_bars()


def main(argv: Sequence[str] | None = None) -> int:
    return cli_runtime.run(build_parser, argv, name=f"eval_harness {__version__}",
                           prepare=_prepare)
