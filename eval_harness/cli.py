"""`python -m eval_harness`: one entry point, a subcommand per job.

Exit status: 0 done; 1 bad input data (one line per problem, naming file, line and
checkup); 2 bad usage (one line); 3 results written but the run is degraded (too many
failed or empty answers); 70 a bug in the harness: its traceback is shown, with one
line saying so, never hidden behind a short message; 130 interrupted; 141 the output
pipe closed (`| head`).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from eval_harness import __version__
from eval_harness.errors import DataError, UsageError

EXIT_DATA, EXIT_USAGE, EXIT_BUG = 1, 2, 70


class _OneLineErrors(argparse.ArgumentParser):
    """Bad arguments: the reason on one line and where to look, not the whole usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from eval_harness.commands import compare, data, finetune, run, score

    parser = _OneLineErrors(
        prog="python -m eval_harness",
        description="COde-Bench: evaluate vision-language models on the COde oro-dental "
                    "benchmark.")
    parser.add_argument("--version", action="version", version=f"eval_harness {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (data, run, score, compare, finetune):
        command.register(sub)
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    try:
        return int(args.handler(args) or 0)
    except DataError as err:
        if len(err.problems) == 1:
            print(f"error: {err.problems[0]}", file=sys.stderr)
        else:
            print(f"error: {len(err.problems)} problems:", file=sys.stderr)
            for problem in err.problems:
                print(f"  {problem}", file=sys.stderr)
        return EXIT_DATA
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (BrokenPipeError, KeyboardInterrupt):
        raise
    except Exception:  # a bug: show everything, then say what it is
        traceback.print_exc()
        print(f"\nThis is a bug in eval_harness {__version__}, not a problem with your "
              "input: please report it with the traceback above.", file=sys.stderr)
        return EXIT_BUG


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "quiet", False):
        from eval_harness.commands.common import silence_progress_bars

        silence_progress_bars()
    try:
        status = _dispatch(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # Output piped into `head` that stopped reading: end quietly, as Unix tools do.
        # Python would flush stdout again at exit and fail: point it at /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return status
