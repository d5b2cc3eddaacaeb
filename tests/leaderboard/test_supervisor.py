"""Jobs that cannot hang the board: each runs in a supervised process, and a job that
never answers, sleeps forever or allocates past its limit fails with its reason while the
next job is scored, in the CLI worker and in a worker thread as the app runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from eval_harness.tasks.base import ScoreOptions
from leaderboard.store.database import open_store
from leaderboard.store.schema import Submission
from leaderboard.submissions import Limits, submit_model, submit_predictions
from leaderboard.worker import work
from tests.leaderboard.test_submissions import META, lines

ROOT = Path(__file__).resolve().parents[2]
FAST = ScoreOptions(embeddings=False, resamples=50)
TINY = {"backend": "hf", "model_args": {"checkpoint": "tiny-demo"}, "tasks": ["code_cls"]}

# Loaded by the job's process at start (via PYTHONPATH): makes a model job misbehave the
# way CODEBENCH_TEST_JOB_FAULT says, inside the child only (the worker never runs it).
FAULTS = '''
import os
fault = os.environ.get("CODEBENCH_TEST_JOB_FAULT")
if fault:
    import leaderboard.worker as worker
    original = worker.score

    def score(job, folder, options):
        if job.kind == "model" and fault == "sleep":
            import time
            time.sleep(3600)
        if job.kind == "model" and fault == "allocate":
            hog = bytearray(6 * 2**30)  # 6 GB, past a 3 GB limit
            hog[::4096] = b"x" * len(hog[::4096])
        return original(job, folder, options)

    worker.score = score
'''


@pytest.fixture
def board(synth_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from eval_harness.api import load_split

    monkeypatch.setenv("CODEBENCH_DATA_DIR", str(synth_dir))
    return [c.checkup_id for c in load_split(synth_dir, "test", "en").checkups]


@pytest.fixture
def faults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "faults"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(FAULTS)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(folder), str(ROOT)]))
    return folder


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    from tests.silent_server import silent_endpoint as serve

    with serve() as url:
        yield url


def _queue(sessions, tmp_path: Path, board: list[str], spec: dict) -> tuple[int, int]:
    """A model job, then a predictions job queued after it."""
    limits = Limits(per_day=100)
    model = submit_model(sessions, "synthetic-demo", spec,
                         {**META, "model_name": "hangs", "submitter": "mallory"},
                         limits=limits).submission_id
    after = submit_predictions(sessions, "synthetic-demo", lines(board),
                               {**META, "submitter": "alice"}, folder=tmp_path,
                               limits=limits).submission_id
    return model, after


def _outcome(sessions, submission_id: int) -> tuple[str, str | None, str]:
    with sessions() as session:
        s = session.get(Submission, submission_id)
        return s.status, s.failure_category, s.failure_log or ""


def test_cli_worker_ends_a_never_answering_endpoint_and_scores_the_next_job(
        tmp_path: Path, board: list[str], silent_endpoint: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEBENCH_OPENAI_BASE_URL", silent_endpoint)  # the operator's own
    url = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    sessions = open_store(url)
    spec = {"backend": "openai", "model_args": {"base_url": silent_endpoint, "model": "gpt-4o"},
            "tasks": ["code_cls"]}
    model, after = _queue(sessions, tmp_path, board, spec)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CODEBENCH_LEADERBOARD_DIR": str(tmp_path),
           "CODEBENCH_JOB_STALL_S": "15", "CODEBENCH_JOB_TIMEOUT_S": "120"}
    done = subprocess.run([sys.executable, "-m", "leaderboard", "--db", url, "worker",
                           "--once", "--no-embeddings", "--poll", "0.2"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    status, category, log = _outcome(sessions, model)
    assert (status, category) == ("failed", "stalled"), log
    assert "no answer or progress" in log
    assert _outcome(sessions, after)[0] == "finished", _outcome(sessions, after)


def test_worker_thread_ends_a_model_that_sleeps_forever(
        tmp_path: Path, board: list[str], faults: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """As the app runs it: `work` in a thread of this process, which must never be the
    one that sleeps."""
    monkeypatch.setenv("CODEBENCH_TEST_JOB_FAULT", "sleep")
    monkeypatch.setenv("CODEBENCH_JOB_TIMEOUT_S", "30")
    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    model, after = _queue(sessions, tmp_path, board, TINY)
    stop = threading.Event()
    thread = threading.Thread(target=work, args=(sessions, tmp_path), daemon=True,
                              kwargs={"stop": stop, "options": FAST, "poll": 0.2})
    thread.start()
    try:
        for _ in range(600):  # the worker thread keeps serving: both jobs end
            if _outcome(sessions, after)[0] in ("finished", "failed"):
                break
            stop.wait(0.5)
    finally:
        stop.set()
        thread.join(timeout=120)
    status, category, log = _outcome(sessions, model)
    assert (status, category) == ("failed", "timeout"), log
    assert "limit of 30 s" in log
    assert _outcome(sessions, after)[0] == "finished", _outcome(sessions, after)


def test_a_job_past_its_memory_limit_fails_out_of_memory(
        tmp_path: Path, board: list[str], faults: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEBENCH_TEST_JOB_FAULT", "allocate")
    monkeypatch.setenv("CODEBENCH_JOB_MEMORY_MB", "3000")
    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    model, after = _queue(sessions, tmp_path, board, TINY)
    assert work(sessions, tmp_path, once=True, options=FAST, poll=0.2) == 2
    status, category, log = _outcome(sessions, model)
    assert (status, category) == ("failed", "out of memory"), log
    assert _outcome(sessions, after)[0] == "finished", _outcome(sessions, after)


def test_the_job_runs_in_another_process(tmp_path: Path, board: list[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A predictions job scored by the worker leaves this process untouched: a score
    function replaced here is never called."""
    import leaderboard.worker as worker

    def here(*args, **kwargs):
        raise AssertionError("the job ran inside the worker's own process")

    monkeypatch.setattr(worker, "score", here)
    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    accepted = submit_predictions(sessions, "synthetic-demo", lines(board), META,
                                  folder=tmp_path)
    assert work(sessions, tmp_path, once=True, options=FAST) == 1
    assert _outcome(sessions, accepted.submission_id)[0] == "finished"
    with sessions() as session:
        events = session.scalars(sa.select(Submission.status)).all()
    assert events == ["finished"]
    assert json.dumps(events)
