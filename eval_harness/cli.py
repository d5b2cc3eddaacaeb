"""`python -m eval_harness`: one entry point, a subcommand per job.

Bad input ends with a one-line reason (or one line per problem) and a non-zero
exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from eval_harness import __version__
from eval_harness.errors import DataError


def build_parser() -> argparse.ArgumentParser:
    from eval_harness.commands import compare, data, run, score

    parser = argparse.ArgumentParser(
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
        print(f"error: {len(err.problems)} problem(s):" if len(err.problems) > 1 else "error:",
              file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
