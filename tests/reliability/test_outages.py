"""Outages: a full disk under the leaderboard folder, the database and the harness's
results folder (a 4 MB tmpfs, filled up), and a PostgreSQL server that goes away for a
while (a forwarder that drops and refuses connections). After each: a plain message, no
half-written file or row, nothing accepted lost, and recovery without a restart."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from leaderboard.store.database import open_store
from leaderboard.store.schema import Result, Submission
from leaderboard.submissions import submit_predictions
from tests.conftest import unavailable
from tests.leaderboard.test_submissions import META, lines
from tests.reliability.proxy import Proxy
from tests.space.conftest import ROOT, launch_space, space_env

pytestmark = pytest.mark.slow


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs: a disk that can really fill up (needs root, as in CI)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        unavailable(f"the full-disk tests mount a 4 MB tmpfs, which needs root: "
                    f"{mounted.stderr.strip()}", "CODEBENCH_REQUIRE_TMPFS")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path) -> Path:
    """Write until the disk says it is full; returns the filler to delete later."""
    filler = disk / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def _no_half_written(folder: Path) -> None:
    leftovers = [p for p in folder.rglob("*") if p.suffix in (".partial", ".tmp")]
    assert leftovers == []


def test_a_full_disk_refuses_a_submission_plainly_and_then_takes_it(
        board: list[str], small_disk: Path, tmp_path: Path) -> None:
    from space.submit import submit

    sessions = open_store(f"sqlite:///{tmp_path / 'leaderboard.sqlite'}")
    upload = tmp_path / "predictions.jsonl"
    upload.write_bytes(lines(board))
    folder = small_disk / "leaderboard"
    filler = _fill(small_disk)
    message = submit(sessions, folder, "synthetic-demo", str(upload), "", META,
                     "10.0.0.1").message
    assert message.startswith("**Not stored:**") and "No space left on device" in message
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 0
    _no_half_written(small_disk)
    filler.unlink()
    message = submit(sessions, folder, "synthetic-demo", str(upload), "", META,
                     "10.0.0.1").message
    assert message.startswith("Queued as submission"), message
    stored = list((folder / "submissions").glob("*.jsonl"))
    assert [p.read_bytes() for p in stored] == [lines(board)]


# Loaded (via PYTHONPATH) by the job's process: scoring waits until the gate file
# exists, so the test fills the disk after the job was claimed and before its result
# is written, every time.
GATE = """
import os
import time
from pathlib import Path

import leaderboard.worker as worker

gate = os.environ.get("CODEBENCH_TEST_SCORE_GATE")
if gate:
    original = worker.score

    def score(*args, **kwargs):
        while not Path(gate).exists():
            time.sleep(0.05)
        return original(*args, **kwargs)

    worker.score = score
"""


class _Warnings(logging.Handler):
    """The worker's warnings, as they are logged (from its thread)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _wait_for(condition, what: str, timeout: float = 120, seen: object = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} never happened; seen: {seen}"
        time.sleep(0.1)


def test_the_worker_waits_out_a_full_disk_under_its_database(
        board: list[str], small_disk: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Claimed, then the disk under the database fills before the result is written:
    nothing is half-written, the worker says why and lives on, and the job is finished
    once there is room again (nothing accepted is lost)."""
    from eval_harness.tasks.base import ScoreOptions
    from leaderboard.worker import work

    hooks, gate = tmp_path / "hooks", tmp_path / "gate"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(GATE)
    monkeypatch.setenv("PYTHONPATH", f"{hooks}{os.pathsep}{ROOT}")
    monkeypatch.setenv("CODEBENCH_TEST_SCORE_GATE", str(gate))
    warnings = _Warnings()
    logging.getLogger("codebench.worker").addHandler(warnings)
    sessions = open_store(f"sqlite:///{small_disk / 'leaderboard.sqlite'}")
    accepted = submit_predictions(sessions, "synthetic-demo", lines(board), META,
                                  folder=tmp_path)

    def status() -> str:
        with sessions() as session:
            return session.get(Submission, accepted.submission_id).status

    stop = threading.Event()
    worker = threading.Thread(target=work, args=(sessions, tmp_path), kwargs={
        "stop": stop, "poll": 0.2, "lease": 2.0,
        "options": ScoreOptions(embeddings=False, resamples=50)}, daemon=True)
    try:
        worker.start()
        _wait_for(lambda: status() == "running", "the claim")
        filler = _fill(small_disk)
        gate.touch()  # scoring goes on; its result cannot be written
        # The job's end meets the full disk: its store waits ("while storing") or the
        # worker lets the job go and waits for the database ("database unavailable";
        # the lease brings the job back). Heartbeat warnings alone do not count.
        _wait_for(lambda: any("while storing" in m or m.startswith("database unavailable")
                              for m in warnings.messages),
                  "the worker meeting the full disk", seen=warnings.messages)
        with sessions() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Result)) == 0
        assert status() == "running" and worker.is_alive()
        filler.unlink()
        _wait_for(lambda: status() in ("finished", "failed"), "the stored result", 90)
    finally:
        stop.set()
        worker.join(timeout=30)
        logging.getLogger("codebench.worker").removeHandler(warnings)
    with sessions() as session:
        row = session.get(Submission, accepted.submission_id)
        assert (row.status, row.failure_category) == ("finished", None)
    sessions.kw["bind"].dispose()


def test_the_harness_says_the_disk_is_full_and_leaves_no_partial_results(
        synth_dir: Path, small_disk: Path) -> None:
    _fill(small_disk)
    out = small_disk / "run"
    done = subprocess.run([sys.executable, "-m", "eval_harness", "run", "--model", "majority",
                           "--data", str(synth_dir), "--split", "test", "--output", str(out),
                           "--no-embeddings", "--quiet"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={"PYTHONPATH": str(ROOT),
                                                       "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1, done.stderr[-3000:]
    assert "No space left on device" in done.stderr and "Traceback" not in done.stderr
    assert not (out / "results.json").exists()
    _no_half_written(small_disk)


def _board_read(client) -> object:
    return client.predict("synthetic-demo", "code_cls", "all", "all", None, ["model", "value"],
                          api_name="/board_rows")


def test_the_space_rides_out_a_database_outage(pg_url: str, synth_dir: Path,
                                               tmp_path: Path) -> None:
    """PostgreSQL behind a forwarder: while it is cut, reads and submissions get a plain
    "not answering" message (nothing stored); once it is back, the same app process
    serves the board, takes the submission and its embedded worker scores it."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError
    from sqlalchemy.engine import make_url

    from eval_harness.api import load_split

    url = make_url(pg_url)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    ids = [c.checkup_id for c in load_split(synth_dir, "test", "en").checkups]
    upload = tmp_path / "predictions.jsonl"
    upload.write_bytes(lines(ids))
    submission = ("synthetic-demo", "outage-model", "dave", "", None, "", "",
                  handle_file(str(upload)), "")
    home = tmp_path / "home"
    env = space_env(home, CODEBENCH_DATA_DIR=str(synth_dir), CODEBENCH_DB_URL=proxied)
    with launch_space(home, env=env) as space:
        client = Client(space.url, verbose=False)
        assert _board_read(client)
        proxy.cut()
        for _ in range(2):  # each call meets the outage and says so
            with pytest.raises(AppError, match="not answering") as caught:
                _board_read(client)
            assert "Traceback" not in str(caught.value)
        message, _ = client.predict(*submission, api_name="/submit")
        assert message.startswith("**Not stored:**"), message
        time.sleep(3)  # the embedded worker polls through the outage
        proxy.restore()
        deadline = time.monotonic() + 30
        while True:  # the first call after it is back may find a dropped connection
            try:
                _board_read(client)
                break
            except AppError as error:  # said in words, as during the outage
                assert "not answering" in str(error)
                assert time.monotonic() < deadline, "the board never came back"
                time.sleep(0.5)
        message, _ = client.predict(*submission, api_name="/submit")
        assert message.startswith("Queued as submission"), message
        sessions = open_store(pg_url)
        deadline = time.monotonic() + 120
        while True:
            with sessions() as session:
                rows = session.scalars(sa.select(Submission).where(
                    Submission.model_name == "outage-model")).all()
                if rows and rows[0].status in ("finished", "failed"):
                    break
            assert time.monotonic() < deadline, "the worker never scored it"
            time.sleep(0.3)
        assert len(rows) == 1 and (rows[0].status, rows[0].failure_category) == (
            "finished", None)
        assert space.process.poll() is None  # the same process throughout
        log = space.log.read_text()
        assert "database unavailable" in log and "Traceback" not in log
        sessions.kw["bind"].dispose()
    proxy.cut()
