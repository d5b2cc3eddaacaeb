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


def _run_cli_worker(url: str, tmp_path: Path) -> None:
    env = {**os.environ, "CODEBENCH_LEADERBOARD_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "leaderboard", "--db", url, "worker",
                           "--once", "--no-embeddings", "--poll", "0.2"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]


def _run_worker_thread(sessions, tmp_path: Path, after: int) -> None:
    """As the app runs it: `work` in a thread of this process (which must never be the
    one that hangs), serving until the job queued after the bad one has ended."""
    stop = threading.Event()
    thread = threading.Thread(target=work, args=(sessions, tmp_path), daemon=True,
                              kwargs={"stop": stop, "options": FAST, "poll": 0.2})
    thread.start()
    try:
        for _ in range(600):
            if _outcome(sessions, after)[0] in ("finished", "failed"):
                break
            stop.wait(0.5)
    finally:
        stop.set()
        thread.join(timeout=120)


@pytest.mark.parametrize("runner", ["cli worker", "worker thread"])
@pytest.mark.parametrize("fault", ["silent endpoint", "model sleeps forever"])
def test_a_hanging_job_fails_with_its_reason_and_the_next_job_is_scored(
        tmp_path: Path, board: list[str], silent_endpoint: str, faults: Path,
        monkeypatch: pytest.MonkeyPatch, fault: str, runner: str) -> None:
    if fault == "silent endpoint":  # accepts connections, never answers: no progress
        monkeypatch.setenv("CODEBENCH_OPENAI_BASE_URL", silent_endpoint)  # the operator's
        monkeypatch.setenv("CODEBENCH_JOB_STALL_S", "15")
        spec = {"backend": "openai", "tasks": ["code_cls"],
                "model_args": {"base_url": silent_endpoint, "model": "gpt-4o"}}
        expected, words = "stalled", "no answer or progress for"
    else:  # a model that sleeps in its own process: past the wall-clock limit
        monkeypatch.setenv("CODEBENCH_TEST_JOB_FAULT", "sleep")
        monkeypatch.setenv("CODEBENCH_JOB_TIMEOUT_S", "30")
        spec, expected, words = TINY, "timeout", "limit of 30 s"
    url = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    sessions = open_store(url)
    model, after = _queue(sessions, tmp_path, board, spec)
    if runner == "cli worker":
        _run_cli_worker(url, tmp_path)
    else:
        _run_worker_thread(sessions, tmp_path, after)
    status, category, log = _outcome(sessions, model)
    assert (status, category) == ("failed", expected), log
    assert words in log
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
