"""What every COde-Bench command line shares (``python -m eval_harness`` and ``python -m
leaderboard``): one-line usage errors, the exit status of each kind of failure, and a
quiet end when the reader of the output goes away.

Exit status: 0 done; 1 bad input data (one line per problem); 2 bad usage (one line),
a Python without the project's dependencies included (one line naming the venv); 70 a
bug: its traceback is shown, with one line saying so, never hidden behind a short message;
130 interrupted; 141 the output pipe closed (``| head``), as a shell reports a command
ended by SIGPIPE, with nothing on stderr. A command may return other codes of
its own (the harness: 3 for a degraded run).

SIGPIPE itself stays ignored (Python's default): a command that is writing to a database
when ``head`` exits ends through the exception, so its transaction rolls back cleanly
instead of the process being killed mid-write.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from eval_harness.errors import DataError, UsageError

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 70
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 130, 141


class OneLineErrors(argparse.ArgumentParser):
    """Bad arguments: the reason on one line and where to look, not the whole usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe or socket whose reader has gone (so a BrokenPipeError came
    from our own output, not from a pipe the command opened itself). Where this cannot be
    told, it is assumed."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP)
                   for _fd, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), no real stdout
        return True


def _bug(name: str) -> int:
    traceback.print_exc()
    print(f"\nThis is a bug in {name}, not a problem with your input: please report it "
          "with the traceback above.", file=sys.stderr)
    return EXIT_BUG


def _missing_dependency(error: ModuleNotFoundError) -> bool:
    """Whether an import failed for a module outside this repository: a Python that lacks
    the project's dependencies (not the venv), not a bug. A missing module of our own
    packages (eval_harness.nope) stays a bug."""
    if not error.name:
        return False
    top = error.name.partition(".")[0]
    repo = Path(__file__).resolve().parents[1]
    return not ((repo / top / "__init__.py").is_file() or (repo / f"{top}.py").is_file())


def _invoked_as() -> str:
    """``-m leaderboard`` for ``python -m leaderboard``: the command to repeat with the
    venv's Python (``-m eval_harness`` when it cannot be told)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    package = (spec.name if spec else "").removesuffix(".__main__")
    return f"-m {package}" if package in ("eval_harness", "leaderboard") else "-m eval_harness"


def _no_dependency(error: ModuleNotFoundError) -> int:
    # The one fix is another interpreter (or installing), so say which, on one line; the
    # traceback would only point at whichever import happened to come first.
    print(f"error: this Python ({sys.executable}) has no module {error.name!r}, which "
          f"COde-Bench needs: run .venv/bin/python {_invoked_as()} ... (the project's "
          "venv), or `make demo` / `pip install -r requirements.txt` first", file=sys.stderr)
    return EXIT_USAGE


def dispatch(args: argparse.Namespace, *, name: str | None = None) -> int:
    """Run ``args.handler(args)``: its status, or the exit status of what it raised
    (bad data 1, bad usage 2, a bug 70). A closed output pipe and Ctrl-C propagate (see
    :func:`run`). ``name`` is what a bug report names (default: this eval_harness)."""
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
    except ModuleNotFoundError as err:
        if _missing_dependency(err):
            return _no_dependency(err)
        return _bug(name or _default_name())
    except BrokenPipeError:
        if _stdout_reader_gone():
            raise
        return _bug(name or _default_name())  # a pipe of the command's own broke
    except KeyboardInterrupt:
        raise
    except Exception:  # a bug: show everything, then say what it is
        return _bug(name or _default_name())


def _default_name() -> str:
    from eval_harness import __version__

    return f"eval_harness {__version__}"


def _silence_stdout() -> None:
    """Point stdout at /dev/null: Python flushes it again at exit, which would raise
    (and print "Exception ignored ... BrokenPipeError") on the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass
    finally:
        os.close(devnull)


def run(parser: argparse.ArgumentParser | Callable[[], argparse.ArgumentParser],
        argv: Sequence[str] | None = None, *, name: str | None = None,
        prepare: Callable[[argparse.Namespace], None] | None = None) -> int:
    """A command line's whole life: build the parser (``parser`` may be its factory, so
    that a Python without the dependencies the subcommands import is told so in one line
    too), parse ``argv``, ``prepare`` (optional), dispatch, flush stdout; the exit status.
    A reader that went away (``| head``) ends it quietly with 141, Ctrl-C with 130 and
    one line."""
    try:
        if not isinstance(parser, argparse.ArgumentParser):
            try:
                parser = parser()
            except ModuleNotFoundError as err:
                if not _missing_dependency(err):
                    raise
                return _no_dependency(err)
        args = parser.parse_args(argv)  # --help into a closed pipe is covered too
        if prepare is not None:
            prepare(args)
        status = dispatch(args, name=name)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return status
