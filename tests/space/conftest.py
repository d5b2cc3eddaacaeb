"""A running space: `python app.py` on a free loopback port with private folders."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def space_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSpace]:
    home = tmp_path_factory.mktemp("space")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False",
           "GRADIO_TEMP_DIR": str(home / "gradio"),
           "CODEBENCH_LEADERBOARD_DIR": str(home / "leaderboard"),
           "CODEBENCH_DATA_DIR": str(home / "data"), "HF_HUB_OFFLINE": "1"}
    env.pop("CODEBENCH_DB_URL", None)
    log = home / "app.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port),
                                    "--no-embeddings"], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:  # as Gradio's own browser tests: poll /gradio_api/info
        try:
            with urllib.request.urlopen(f"{url}/gradio_api/info", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the app did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
    yield RunningSpace(url, home / "data", home / "leaderboard", log)
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
