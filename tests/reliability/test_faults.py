"""Faults: a worker killed (SIGKILL) inside a model run, inside the transaction that stores a
result, and between jobs; the app killed while it stores a submission. After each: no
accepted submission lost, no half-written result visible, the job ends finished (or
failed with its reason), and a fresh process carries on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from leaderboard.store.database import open_store
from leaderboard.store.schema import Result, SampleRecord, Submission
from leaderboard.submissions import submit_model, submit_predictions
from tests.leaderboard.test_submissions import META, lines
from tests.space.conftest import ROOT, launch_space, space_env

pytestmark = pytest.mark.slow
LEASE_S = 2.0


def _faulty(marker: Path, stage: str, program: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "tests.reliability.faulty", str(marker), stage, program,
            *args]


def _worker_args(url: str) -> list[str]:
    return ["--db", url, "worker", "--once", "--no-embeddings", "--lease", str(LEASE_S)]


def _env(folder: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "CODEBENCH_LEADERBOARD_DIR": str(folder),
            "HF_HUB_OFFLINE": "1"}


def _wait_for(marker: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(f"the process ended before its fault point:\n{err[-3000:]}")
        assert time.monotonic() < deadline, "the fault point was never reached"
        time.sleep(0.05)


def _kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def _state(sessions, submission_id: int) -> tuple[str, list[str], int, int]:
    """status, event history, result rows, per-sample rows of one submission."""
    with sessions() as session:
        row = session.get(Submission, submission_id)
        results = session.scalar(sa.select(sa.func.count()).select_from(Result).where(
            Result.submission_id == submission_id))
        samples = session.scalar(sa.select(sa.func.count()).select_from(SampleRecord).where(
            SampleRecord.submission_id == submission_id))
        return row.status, [e.status for e in row.events], results, samples


def _finish_with_a_fresh_worker(url: str, folder: Path) -> None:
    time.sleep(LEASE_S + 0.2)  # the killed worker's lease runs out
    done = subprocess.run([sys.executable, "-m", "leaderboard", *_worker_args(url)],
                          env=_env(folder), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("stage", ["model", "write"])
def test_a_worker_killed_mid_job_leaves_nothing_and_the_job_finishes_later(
        db_url: str, board: list[str], tmp_path: Path, stage: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = open_store(db_url)
    # The operator allows model folders under this test's folder (workers inherit it).
    monkeypatch.setenv("CODEBENCH_MODEL_ROOTS", str(tmp_path))
    if stage == "model":  # a model run: the server runs the (tiny) model itself
        from eval_harness.models.tiny_qwen import build_tiny_qwen

        model = build_tiny_qwen(tmp_path / "model", seed=0)
        accepted = submit_model(sessions, "synthetic-demo", {
            "backend": "hf", "model_args": {"model": str(model)}, "tasks": ["code_cls"]}, META)
    else:
        accepted = submit_predictions(sessions, "synthetic-demo", lines(board), META,
                                      folder=tmp_path)
    marker = tmp_path / "reached"
    worker = subprocess.Popen(_faulty(marker, stage, "worker", *_worker_args(db_url)),
                              env=_env(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    _wait_for(marker, worker)
    _kill(worker)
    # Killed with its result rows sent but not committed: none of them is visible.
    assert _state(sessions, accepted.submission_id) == ("running", ["pending", "running"], 0, 0)
    _finish_with_a_fresh_worker(db_url, tmp_path)
    status, events, results, samples = _state(sessions, accepted.submission_id)
    assert (status, events) == ("finished", ["pending", "running", "pending", "running",
                                             "finished"])
    assert results > 0 and samples == len(board)  # stored once, whole
    sessions.kw["bind"].dispose()


def test_a_worker_killed_between_jobs_loses_nothing(db_url: str, board: list[str],
                                                    tmp_path: Path) -> None:
    sessions = open_store(db_url)
    first = submit_predictions(sessions, "synthetic-demo", lines(board), META, folder=tmp_path)
    worker = subprocess.Popen([sys.executable, "-m", "leaderboard", "--db", db_url, "worker",
                               "--no-embeddings", "--poll", "0.2"], env=_env(tmp_path),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while _state(sessions, first.submission_id)[0] != "finished":
        assert worker.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    _kill(worker)  # idle, polling for the next job
    second = submit_predictions(sessions, "synthetic-demo", lines(board, text="Caries"), META,
                                folder=tmp_path)
    assert _state(sessions, second.submission_id)[0] == "pending"
    done = subprocess.run([sys.executable, "-m", "leaderboard", *_worker_args(db_url)],
                          env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for job in (first, second):
        status, events, results, samples = _state(sessions, job.submission_id)
        assert (status, events) == ("finished", ["pending", "running", "finished"])
        assert results > 0 and samples == len(board)
    sessions.kw["bind"].dispose()


def _sqlite(folder: Path):
    return open_store(f"sqlite:///{folder / 'leaderboard.sqlite'}")


def test_the_app_killed_while_storing_a_submission_loses_nothing_accepted(
        synth_dir: Path, tmp_path: Path) -> None:
    """Killed inside the storing transaction, the client never heard "queued" and nothing
    is on the board; the restarted app takes the same file and scores it."""
    from gradio_client import Client, handle_file

    from eval_harness.api import load_split

    ids = [c.checkup_id for c in load_split(synth_dir, "test", "en").checkups]
    upload = tmp_path / "predictions.jsonl"
    upload.write_bytes(lines(ids))
    home = tmp_path / "home"
    env = space_env(home, CODEBENCH_DATA_DIR=str(synth_dir))
    marker = tmp_path / "reached"
    arguments = ("synthetic-demo", "killed-model", "carol", "", None, "", "",
                 handle_file(str(upload)), "")
    with launch_space(home, env=env, command=_faulty(marker, "store", "app"),
                      args=("--no-embeddings", "--no-worker")) as space:
        client = Client(space.url, verbose=False)
        job = client.submit(*arguments, api_name="/submit")
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline, "the app never reached the storing point"
            time.sleep(0.05)
        _kill(space.process)
        with pytest.raises(Exception):  # noqa: B017 (the connection dies with the app)
            job.result(timeout=30)
    sessions = _sqlite(home / "leaderboard")
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Submission).where(
            Submission.kind != "seed")) == 0
    assert not list((home / "leaderboard").rglob("*.partial"))
    with launch_space(home, env=env) as space:  # the same folders, a new process
        client = Client(space.url, verbose=False)
        message, _ = client.predict(*arguments, api_name="/submit")
        assert "Queued as submission" in message, message
        deadline = time.monotonic() + 120
        while True:
            with sessions() as session:
                row = session.scalar(sa.select(Submission).where(
                    Submission.model_name == "killed-model"))
                if row.status in ("finished", "failed"):
                    break
            assert time.monotonic() < deadline, "the restarted app's worker never scored it"
            time.sleep(0.3)
        assert (row.status, row.failure_category) == ("finished", None)
    sessions.kw["bind"].dispose()
