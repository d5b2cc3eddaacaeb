"""The runtime both command lines share (eval_harness.cli_runtime): a reader that goes away
ends a command quietly with 141, and every other ending keeps its exit status."""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eval_harness import cli_runtime
from eval_harness.errors import DataError, UsageError

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "CODEBENCH_DB_URL"}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def _read_one_line_then_close(command: list[str], env: dict[str, str],
                              timeout: float = 300) -> tuple[int, bytes, str]:
    """Run ``command`` into a pipe whose reader takes one line and closes, as ``| head -1``
    does; (exit status, the line, stderr)."""
    read_end, write_end = os.pipe()
    # A one-page pipe: the command is still writing when the reader leaves, whatever the
    # timing (a 64 KiB pipe could swallow the whole output first).
    fcntl.fcntl(write_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), 4096)
    with open(os.devnull, "rb") as nothing:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=nothing,
                                   stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(read_end, 1)  # byte by byte: take nothing past the first line
        if not byte:
            break
        line += byte
    os.close(read_end)
    stderr = process.communicate(timeout=timeout)[1].decode()
    return process.returncode, line, stderr


@pytest.mark.skipif(sys.platform != "linux", reason="sizes a pipe with F_SETPIPE_SZ")
def test_leaderboard_list_into_a_closed_pipe_exits_141_quietly(tmp_path: Path) -> None:
    env = _env(CODEBENCH_LEADERBOARD_DIR=str(tmp_path / "board"),
               CODEBENCH_PEER_RUNS=str(tmp_path / "no-peer-runs"))
    command = [sys.executable, "-m", "leaderboard", "list", "--json"]
    whole = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=300)
    assert whole.returncode == 0, whole.stderr.decode()[-2000:]  # seeds the board, too
    rows = json.loads(whole.stdout)
    assert rows and len(whole.stdout) > 3 * 4096  # more than the pipe below holds
    status, line, stderr = _read_one_line_then_close(command, env)
    assert line == b"[\n"
    assert stderr == ""
    assert status == 141


@pytest.mark.skipif(sys.platform != "linux", reason="sizes a pipe with F_SETPIPE_SZ")
def test_harness_validate_into_a_closed_pipe_exits_141_quietly(synth_dir: Path,
                                                                tmp_path: Path) -> None:
    folder = tmp_path / "code"
    folder.mkdir()
    shutil.copy(synth_dir / "complete_dataset.csv", folder)  # every image missing
    command = [sys.executable, "-m", "eval_harness", "data", "validate", str(folder)]
    whole = subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True, timeout=300)
    assert whole.returncode == 1  # one line per missing image
    assert len(whole.stdout.splitlines()) > 50 and len(whole.stdout) > 3 * 4096
    status, line, stderr = _read_one_line_then_close(command, _env())
    assert b"is missing" in line
    assert stderr == ""
    assert status == 141


def _parser(handler) -> argparse.ArgumentParser:
    parser = cli_runtime.OneLineErrors(prog="tool")
    parser.set_defaults(handler=handler)
    return parser


def _raises(error: BaseException):
    def handler(_args):
        raise error
    return handler


@pytest.mark.parametrize(("error", "status", "message"), [
    (UsageError("--tasks names no task"), 2, "error: --tasks names no task"),
    (DataError.single("a.jsonl", "not JSON", line=3), 1, "error: a.jsonl, line 3: not JSON"),
    (ValueError("invariant broken"), 70, "This is a bug in tool 1.0"),
    (KeyboardInterrupt(), 130, "interrupted"),
])
def test_each_ending_has_its_exit_status(error, status, message,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_runtime.run(_parser(_raises(error)), [], name="tool 1.0") == status
    assert message in capsys.readouterr().err


def test_a_handler_status_passes_through_and_bad_usage_is_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_runtime.run(_parser(lambda _args: 3), []) == 3
    with pytest.raises(SystemExit) as ended:
        cli_runtime.run(_parser(lambda _args: 0), ["--nope"])
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == "tool: error: unrecognized arguments: --nope (see tool --help)"


BROKEN_OWN_PIPE = """
import sys
from eval_harness import cli_runtime
def handler(args):
    raise BrokenPipeError(32, "Broken pipe")  # a pipe of its own, not stdout
parser = cli_runtime.OneLineErrors(prog="tool")
parser.set_defaults(handler=handler)
sys.exit(cli_runtime.run(parser, [], name="tool 1.0"))
"""


def test_a_broken_pipe_that_is_not_stdout_is_a_bug(tmp_path: Path) -> None:
    """Only a reader of our output going away ends quietly: a command whose own pipe (to
    a child process, say) broke while stdout is fine reports a bug."""
    with (tmp_path / "out.txt").open("w") as stdout:
        done = subprocess.run([sys.executable, "-c", BROKEN_OWN_PIPE], cwd=ROOT, env=_env(),
                              stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60)
    assert done.returncode == 70, done.stderr
    assert "BrokenPipeError" in done.stderr and "This is a bug in tool 1.0" in done.stderr


def test_both_command_lines_use_the_shared_runtime() -> None:
    from eval_harness import cli as harness_cli
    from leaderboard import cli as leaderboard_cli

    assert isinstance(harness_cli.build_parser(), cli_runtime.OneLineErrors)
    assert isinstance(leaderboard_cli.build_parser(), cli_runtime.OneLineErrors)
