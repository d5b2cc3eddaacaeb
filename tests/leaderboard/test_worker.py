"""The queue and its worker: jobs go pending -> running -> finished (or failed with a
reason), are never claimed twice, and a worker that lost its lease writes nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from eval_harness.tasks.base import ScoreOptions
from leaderboard import queue
from leaderboard.store.database import open_store
from leaderboard.store.schema import Board, RankInterval, Result, SampleRecord, Submission
from leaderboard.submissions import submit_predictions
from leaderboard.worker import Job, process, work, work_once
from tests.leaderboard.test_submissions import META, lines

ROOT = Path(__file__).resolve().parents[2]
FAST = ScoreOptions(embeddings=False, resamples=50)


@pytest.fixture
def board(synth_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from eval_harness.api import load_split

    monkeypatch.setenv("CODEBENCH_DATA_DIR", str(synth_dir))
    return [c.checkup_id for c in load_split(synth_dir, "test", "en").checkups]


def _status(sessions, submission_id: int) -> tuple[str, list[str], str | None]:
    with sessions() as session:
        s = session.get(Submission, submission_id)
        return s.status, [e.status for e in s.events], s.failure_category


def _count(sessions, table, submission_id: int | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(table)
    if submission_id is not None:
        query = query.where(table.submission_id == submission_id)
    with sessions() as session:
        return session.scalar(query)


def test_predictions_go_pending_running_finished_and_a_broken_file_fails_with_its_reason(
        db_url: str, board: list[str], tmp_path: Path) -> None:
    sessions = open_store(db_url)
    good = submit_predictions(sessions, "synthetic-demo", lines(board), META, folder=tmp_path)
    other = submit_predictions(sessions, "synthetic-demo", lines(board, text="Gingivitis"),
                               {**META, "model_name": "other"}, folder=tmp_path)
    failed = "".join(json.dumps({"id": i, "task": "code_cls", "prediction": None,
                                 "failed": True, "error": "CUDA out of memory"}) + "\n"
                     for i in board).encode()
    broken = submit_predictions(sessions, "synthetic-demo", failed,
                                {**META, "model_name": "broken"}, folder=tmp_path)
    assert work(sessions, tmp_path, once=True, options=FAST) == 3
    assert _status(sessions, good.submission_id) == (
        "finished", ["pending", "running", "finished"], None)
    assert _count(sessions, Result, good.submission_id) > 0
    assert _count(sessions, SampleRecord, good.submission_id) == len(board)
    # Both finished rows are ranked by each headline metric of code_cls: macro-F1,
    # accuracy, weighted F1.
    assert _count(sessions, RankInterval, good.submission_id) == 3
    assert _count(sessions, RankInterval, other.submission_id) == \
        _count(sessions, RankInterval, good.submission_id)
    status, events, category = _status(sessions, broken.submission_id)
    assert (status, events, category) == ("failed", ["pending", "running", "failed"],
                                          "degraded run")
    with sessions() as session:
        assert "CUDA out of memory" in session.get(Submission, broken.submission_id).failure_log
    assert _count(sessions, Result, broken.submission_id) == 0
    assert _status(sessions, other.submission_id)[0] == "finished"
    sessions.kw["bind"].dispose()


def test_a_worker_that_lost_its_lease_writes_nothing(db_url: str, board: list[str],
                                                     tmp_path: Path) -> None:
    sessions = open_store(db_url)
    accepted = submit_predictions(sessions, "synthetic-demo", lines(board), META,
                                  folder=tmp_path)
    with sessions.begin() as session:
        claimed = queue.claim(session, "slow-worker", timedelta(seconds=60))
        job = Job(claimed.id, claimed.board_id, claimed.kind, dict(claimed.payload))
        claimed.lease_until = queue.now() - timedelta(seconds=1)  # it stalled
    with sessions.begin() as session:
        assert queue.reap(session) == 1
    assert work_once(sessions, tmp_path, "fresh-worker", options=FAST) == "finished"
    with pytest.raises(queue.LeaseLost):  # the stalled worker wakes up and tries to write
        process(sessions, job, "slow-worker", tmp_path, options=FAST)
    assert _count(sessions, SampleRecord, accepted.submission_id) == len(board)  # once
    status, events, _ = _status(sessions, accepted.submission_id)
    assert (status, events) == ("finished", ["pending", "running", "pending", "running",
                                             "finished"])
    sessions.kw["bind"].dispose()


def test_expired_leases_are_retried_then_failed_with_their_reason(sqlite_url: str) -> None:
    sessions = open_store(sqlite_url)
    with sessions.begin() as session:
        session.add(Board(id="b", title="B", n_checkups=1))
        session.add(Submission(board_id="b", kind="predictions", model_name="m",
                               submitter="s", content_hash="h", payload={}))
    for _ in range(queue.MAX_ATTEMPTS):
        with sessions.begin() as session:
            assert queue.claim(session, "w", timedelta(seconds=-1)) is not None
        with sessions.begin() as session:
            queue.reap(session)
    status, events, category = _status(sessions, 1)
    assert (status, category) == ("failed", "lease expired")
    assert events.count("running") == queue.MAX_ATTEMPTS


CLAIMER = """
import json, sys
from datetime import timedelta
from leaderboard import queue
from leaderboard.store.database import open_store
sessions = open_store(sys.argv[1])
mine = []
while True:
    with sessions.begin() as session:
        job = queue.claim(session, sys.argv[2], timedelta(minutes=5))
        if job is None:
            break
        mine.append(job.id)
print(json.dumps(mine))
"""


def test_four_processes_claiming_at_once_never_take_a_job_twice(db_url: str) -> None:
    sessions = open_store(db_url)
    with sessions.begin() as session:
        session.add(Board(id="b", title="B", n_checkups=1))
        session.add_all(Submission(board_id="b", kind="predictions", model_name=f"m{i}",
                                   submitter="s", content_hash=f"h{i}", payload={})
                        for i in range(60))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-c", CLAIMER, db_url, f"w{n}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env) for n in range(4)]
    claimed = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err[-2000:]
        claimed += json.loads(out)
    assert sorted(claimed) == list(range(1, 61))  # each job exactly once
    with sessions() as session:
        owners = session.execute(sa.select(Submission.lease_owner)).scalars().all()
    assert sorted(set(owners)) != [] and None not in owners
    sessions.kw["bind"].dispose()


# Loaded (via PYTHONPATH) by the first worker's processes only: the job never ends, so
# the worker is always killed mid-job, however fast the machine.
HOLD_THE_JOB = """
import time

import leaderboard.worker as worker

worker.score = lambda *args, **kwargs: time.sleep(3600)
"""


def test_a_worker_killed_mid_job_leaves_nothing_and_the_job_finishes_later(
        sqlite_url: str, board: list[str], tmp_path: Path) -> None:
    sessions = open_store(sqlite_url)
    reports = lines(board, task="code_report", text="Diagnosis: Pulpitis.")
    accepted = submit_predictions(sessions, "synthetic-demo", reports, META, folder=tmp_path)
    hold = tmp_path / "hold"
    hold.mkdir()
    (hold / "sitecustomize.py").write_text(HOLD_THE_JOB)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CODEBENCH_LEADERBOARD_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "leaderboard", "--db", sqlite_url, "worker", "--once",
               "--no-embeddings", "--lease", "2"]
    worker = subprocess.Popen(command, env={**env, "PYTHONPATH": f"{hold}{os.pathsep}{ROOT}"},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _status(sessions, accepted.submission_id)[0] == "pending":
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.02)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    assert _status(sessions, accepted.submission_id)[0] == "running"
    assert _count(sessions, Result, accepted.submission_id) == 0  # nothing half-written
    assert _count(sessions, SampleRecord, accepted.submission_id) == 0
    time.sleep(2.1)  # the lease runs out
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    status, events, _ = _status(sessions, accepted.submission_id)
    assert (status, events) == ("finished", ["pending", "running", "pending", "running",
                                             "finished"])
    assert _count(sessions, SampleRecord, accepted.submission_id) == len(board)


def test_rescore_recomputes_rows_from_stored_predictions(sqlite_url: str, board: list[str],
                                                         tmp_path: Path) -> None:
    from leaderboard.rescore import rescore
    from leaderboard.store.schema import Standing

    sessions = open_store(sqlite_url)
    first = submit_predictions(sessions, "synthetic-demo", lines(board), META, folder=tmp_path)
    submit_predictions(sessions, "synthetic-demo", lines(board, text="Gingivitis"),
                       {**META, "model_name": "other"}, folder=tmp_path)
    work(sessions, tmp_path, once=True, options=FAST)
    with sessions.begin() as session:  # as if scored by an older harness, differently
        session.get(Submission, first.submission_id).harness_version = "0.0.1"
        session.execute(sa.update(Standing).values(value=0.99))
    counts = rescore(sessions, "synthetic-demo", tmp_path, tmp_path / "no-peer-runs", FAST)
    assert counts == {"rescored": 2, "kept": 0}
    with sessions() as session:
        again = session.get(Submission, first.submission_id)
        assert again.harness_version != "0.0.1"
        assert [e.status for e in again.events][-1] == "finished"
        assert "rescored" in again.events[-1].detail
        assert 0.99 not in session.scalars(sa.select(Standing.value)).all()
    with sessions() as session:  # rebuilt, not doubled: one interval per row and metric
        keys = session.execute(sa.select(RankInterval.submission_id, RankInterval.task,
                                         RankInterval.metric)).all()
    assert keys and len(keys) == len(set(keys))
    assert _count(sessions, SampleRecord, first.submission_id) == len(board)


def test_a_job_past_the_time_limit_fails_with_timeout(sqlite_url: str, board: list[str],
                                                      tmp_path: Path) -> None:
    sessions = open_store(sqlite_url)
    reports = lines(board, task="code_report", text="Diagnosis: Pulpitis.")
    accepted = submit_predictions(sessions, "synthetic-demo", reports, META, folder=tmp_path)
    slow = ScoreOptions(embeddings=False, resamples=5000)  # well past 10 ms
    assert work(sessions, tmp_path, once=True, options=slow, timeout=0.01) == 1
    assert _status(sessions, accepted.submission_id) == (
        "failed", ["pending", "running", "failed"], "timeout")
    assert _count(sessions, Result, accepted.submission_id) == 0


def _test_checkups():
    import os

    from eval_harness.api import load_split

    return load_split(Path(os.environ["CODEBENCH_DATA_DIR"]), "test", "en").checkups


def test_a_withdrawn_row_leaves_the_board_but_keeps_its_history(sqlite_url: str,
                                                                 board: list[str],
                                                                 tmp_path: Path) -> None:
    from leaderboard.views import ranked

    sessions = open_store(sqlite_url)
    accepted = submit_predictions(sessions, "synthetic-demo", lines(board, text="Pulpitis"),
                                  META, folder=tmp_path)
    # A perfect row, then a weak one: the perfect row is significantly better.
    perfect = "".join(json.dumps({"id": c.checkup_id, "task": "code_cls",
                                  "prediction": c.primary}) + "\n"
                      for c in _test_checkups()).encode()
    best = submit_predictions(sessions, "synthetic-demo", perfect,
                              {**META, "model_name": "perfect"}, folder=tmp_path)
    work(sessions, tmp_path, once=True, options=FAST)
    with sessions() as session:
        before = {r["id"]: r["rank_upper_bound"] for r in ranked(session, "synthetic-demo",
                                                                 "code_cls")}
    assert before == {best.submission_id: 1, accepted.submission_id: 2}
    with sessions.begin() as session:
        queue.withdraw(session, best.submission_id, "trained on the test split")
    with sessions() as session:
        after = ranked(session, "synthetic-demo", "code_cls")
    # The withdrawn row is off the board and no longer counts against the other.
    assert [(r["id"], r["rank_upper_bound"]) for r in after] == [(accepted.submission_id, 1)]
    with sessions() as session:
        row = session.get(Submission, best.submission_id)
        assert (row.status, row.withdrawn_reason) == ("withdrawn", "trained on the test split")
        assert [e.status for e in row.events] == ["pending", "running", "finished",
                                                  "withdrawn"]
    assert _count(sessions, Result, best.submission_id) > 0  # nothing deleted
