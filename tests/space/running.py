"""A running space: `python app.py` on a free loopback port with private folders."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningSpace:
    url: str
    data_dir: Path
    leaderboard_dir: Path
    log: Path
    process: subprocess.Popen | None = None
    gradio_dir: Path | None = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def space_env(home: Path, **extra: str) -> dict[str, str]:
    """The app's environment: private folders under ``home``, offline, SQLite unless
    ``extra`` names another database."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False",
           "GRADIO_TEMP_DIR": str(home / "gradio"),
           "CODEBENCH_LEADERBOARD_DIR": str(home / "leaderboard"),
           "CODEBENCH_DATA_DIR": str(home / "data"), "HF_HUB_OFFLINE": "1"}
    env.pop("CODEBENCH_DB_URL", None)
    env.pop("OPENAI_API_KEY", None)
    return env | extra


PORT_TAKEN = "Cannot find empty port"  # Gradio's words when the port is already bound


def wait_for_space(url: str, process: subprocess.Popen, log: Path,
                   timeout: float = 120) -> None:
    """As Gradio's own browser tests: poll /gradio_api/info until it answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/gradio_api/info", timeout=2):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the app did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)


def _start(command: list[str], args: Sequence[str], env: dict[str, str], log: Path
           ) -> tuple[subprocess.Popen, str]:
    """The app on a free port. A port found free can be taken by another test process
    before the app binds it (two workers run at once): the app then exits saying so, and
    this starts it again on another port, up to five times."""
    for _ in range(5):
        port = free_port()
        mark = log.stat().st_size if log.exists() else 0
        with log.open("a") as out:
            process = subprocess.Popen([*command, "--port", str(port), *args], cwd=ROOT,
                                       env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/gradio_api/info", timeout=2):
                    return process, url
            except OSError:
                time.sleep(0.3)
        if process.poll() is None:
            return process, url  # still starting after 120 s: wait_for_space reports it
        with log.open(encoding="utf-8", errors="replace") as text:
            text.seek(mark)
            if PORT_TAKEN not in text.read():
                return process, url  # another failure: wait_for_space reports it
    return process, url


@contextmanager
def launch_space(home: Path, args: Sequence[str] = ("--no-embeddings",),
                 env: dict[str, str] | None = None, command: Sequence[str] | None = None
                 ) -> Iterator[RunningSpace]:
    """``python app.py`` (or ``command``, which gets ``--port N`` appended) with its log
    in ``home/app.log``; stopped when the block ends."""
    home.mkdir(parents=True, exist_ok=True)
    env = env or space_env(home)
    log = home / "app.log"
    process, url = _start(list(command or [sys.executable, str(ROOT / "app.py")]), args,
                          env, log)
    try:
        wait_for_space(url, process, log)
        yield RunningSpace(url, Path(env["CODEBENCH_DATA_DIR"]),
                           Path(env["CODEBENCH_LEADERBOARD_DIR"]), log, process,
                           Path(env["GRADIO_TEMP_DIR"]))
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
