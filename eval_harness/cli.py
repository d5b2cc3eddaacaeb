"""`python -m eval_harness`: one entry point, a subcommand per job.

Bad input ends with a one-line reason (or one line per problem) and a non-zero
exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from eval_harness import __version__
from eval_harness.errors import DataError


class _OneLineErrors(argparse.ArgumentParser):
    """Bad arguments: the reason on one line and where to look, not the whole usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from eval_harness.commands import compare, data, run, score

    parser = _OneLineErrors(
        prog="python -m eval_harness",
        description="COde-Bench: evaluate vision-language models on the COde oro-dental "
                    "benchmark.")
    parser.add_argument("--version", action="version", version=f"eval_harness {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (data, run, score, compare):
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except DataError as err:
        if len(err.problems) == 1:
            print(f"error: {err.problems[0]}", file=sys.stderr)
            return 2
        print(f"error: {len(err.problems)} problems:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
