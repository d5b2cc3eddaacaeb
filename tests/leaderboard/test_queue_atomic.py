"""Queue operations are one conditional statement each, timed by the database's clock:
racing reapers append exactly one event per expired job, a heartbeat that commits while a
reaper runs is never overwritten, and leases are measured from the database's now."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leaderboard import queue
from leaderboard.store.database import open_store
from leaderboard.store.schema import Board, Event, Submission


@pytest.fixture
def sessions(db_url: str):
    factory = open_store(db_url)
    yield factory
    factory.kw["bind"].dispose()


def _add_jobs(sessions, count: int, tag: str = "h") -> None:
    with sessions.begin() as session:
        if session.get(Board, "b") is None:
            session.add(Board(id="b", title="B", n_checkups=1))
        session.add_all(Submission(board_id="b", kind="predictions", model_name=f"m{i}",
                                   submitter="s", content_hash=f"{tag}{i}", payload={})
                        for i in range(count))


def _claim_all(sessions, worker: str, lease: timedelta) -> list[int]:
    claimed = []
    with sessions.begin() as session:
        while (job := queue.claim(session, worker, lease)) is not None:
            claimed.append(job.id)
    return claimed


def _events(sessions) -> dict[int, list[str]]:
    history: dict[int, list[str]] = defaultdict(list)
    with sessions() as session:
        for job_id, status in session.execute(
                sa.select(Event.submission_id, Event.status).order_by(Event.id)):
            history[job_id].append(status)
    return dict(history)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _database_now(sessions) -> datetime:
    """The database's own clock (SQLite: UTC, to the second)."""
    with sessions() as session:
        return _utc(session.scalar(sa.select(sa.func.current_timestamp())))


def _reap_in_thread(sessions, results: list, start: threading.Barrier | None = None):
    def reaper() -> None:
        try:
            if start is not None:
                start.wait(timeout=30)
            with sessions.begin() as session:
                results.append(queue.reap(session))
        except BaseException as error:  # reported by the test, not lost in the thread
            results.append(error)

    thread = threading.Thread(target=reaper)
    thread.start()
    return thread


def test_two_reapers_racing_leave_exactly_one_event_per_expired_job(sessions) -> None:
    jobs = 12
    _add_jobs(sessions, jobs)
    for _ in range(queue.MAX_ATTEMPTS):  # re-queued twice, then failed
        assert len(_claim_all(sessions, "w", timedelta(seconds=-1))) == jobs  # expired
        results: list = []
        start = threading.Barrier(2)
        threads = [_reap_in_thread(sessions, results, start) for _ in range(2)]
        for thread in threads:
            thread.join(timeout=60)
        assert not any(isinstance(r, BaseException) for r in results), results
        assert sum(results) == jobs, results  # every job reaped, none twice
    history = _events(sessions)
    assert len(history) == jobs
    for statuses in history.values():
        assert statuses == ["running", "pending", "running", "pending", "running", "failed"]
    with sessions() as session:
        failed = session.scalars(sa.select(Submission)).all()
    assert {(job.status, job.failure_category, job.attempts, job.lease_owner)
            for job in failed} == {("failed", "lease expired", queue.MAX_ATTEMPTS, None)}
    assert all(f"{queue.MAX_ATTEMPTS} times (last: w)" in job.failure_log for job in failed)


def test_a_reaper_does_not_reap_what_another_reaper_holds(sessions, db_url: str) -> None:
    """A fixed interleaving of the race: the first reaper has changed the rows but not
    committed when the second runs. On PostgreSQL the second skips the locked rows at
    once; on SQLite it waits at BEGIN IMMEDIATE and then finds nothing expired."""
    jobs = 5
    _add_jobs(sessions, jobs)
    _claim_all(sessions, "w", timedelta(seconds=-1))
    results: list = []
    with sessions.begin() as first:
        assert queue.reap(first) == jobs
        second = _reap_in_thread(sessions, results)
        second.join(timeout=1.0)
        if db_url.startswith("postgresql"):
            assert results == [0], "a reaper waited on rows another reaper holds"
    second.join(timeout=60)
    assert results == [0]
    assert all(statuses == ["running", "pending"] for statuses in _events(sessions).values())


def _renewed_within(lease_until, before, after, lease: timedelta) -> bool:
    """The lease was set to the database's now + ``lease`` at some moment between two
    readings of the database clock (1 s of slack: SQLite's clock reads whole seconds).
    No duration is asserted: however slow the machine, the bracket holds."""
    slack = timedelta(seconds=1)
    return before + lease - slack <= _utc(lease_until) <= after + lease + slack


def test_a_heartbeat_committing_while_a_reaper_runs_is_not_overwritten(sessions) -> None:
    _add_jobs(sessions, 1)
    [job_id] = _claim_all(sessions, "w", timedelta(seconds=1))
    results: list = []
    before = _database_now(sessions)
    with sessions.begin() as beat:
        queue.heartbeat(beat, job_id, "w", timedelta(seconds=60))  # the row is now locked
        # The old lease ends. (Not read from another session: on SQLite even a read
        # would wait for this transaction; the database runs on this host.)
        time.sleep(1.5)
        reaper = _reap_in_thread(sessions, results)  # sees the old, expired lease
        reaper.join(timeout=1.0)
    reaper.join(timeout=60)  # the heartbeat has committed
    after = _database_now(sessions)
    assert results == [0]
    with sessions() as session:
        job = session.get(Submission, job_id)
    assert (job.status, job.lease_owner, job.attempts) == ("running", "w", 1)
    # The heartbeat's lease (database now + 60 s), not the reaper's overwrite.
    assert _renewed_within(job.lease_until, before, after, timedelta(seconds=60))
    assert _events(sessions) == {job_id: ["running"]}
    with sessions.begin() as session:  # the worker still holds it and may write
        assert queue.holding(session, job_id, "w").id == job_id


def test_a_heartbeat_after_the_reaper_finds_its_lease_lost(sessions) -> None:
    _add_jobs(sessions, 1)
    [job_id] = _claim_all(sessions, "w", timedelta(seconds=-1))
    with sessions.begin() as session:
        assert queue.reap(session) == 1
    with pytest.raises(queue.LeaseLost), sessions.begin() as session:
        queue.heartbeat(session, job_id, "w")
    with sessions() as session:
        job = session.get(Submission, job_id)
        assert (job.status, job.lease_owner, job.lease_until) == ("pending", None, None)


def test_lease_times_come_from_the_database_clock(sessions,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # The host's clock a day off: the queue must not read it.
    monkeypatch.setattr(queue, "now", lambda: datetime.now(UTC) + timedelta(days=1))
    _add_jobs(sessions, 1)

    def lease_until():
        with sessions() as session:
            return session.scalar(sa.select(Submission.lease_until)
                                  .where(Submission.id == job_id))

    before = _database_now(sessions)
    [job_id] = _claim_all(sessions, "w", timedelta(seconds=60))
    after = _database_now(sessions)
    assert _renewed_within(lease_until(), before, after, timedelta(seconds=60))
    before = _database_now(sessions)
    with sessions.begin() as session:
        queue.heartbeat(session, job_id, "w", timedelta(seconds=300))
    after = _database_now(sessions)
    assert _renewed_within(lease_until(), before, after, timedelta(seconds=300))
    with sessions.begin() as session:
        assert queue.reap(session) == 0  # a day "later" on the host, not in the database
        assert queue.holding(session, job_id, "w").status == "running"
    # Expired by the database's clock: the reaper takes it; holding refuses the worker.
    with sessions.begin() as session:
        session.execute(sa.update(Submission).where(Submission.id == job_id)
                        .values(lease_until=queue.db_now(session, timedelta(seconds=-1))))
    with pytest.raises(queue.LeaseLost), sessions() as session:
        queue.holding(session, job_id, "w")
    with sessions.begin() as session:
        assert queue.reap(session) == 1
    assert _events(sessions) == {job_id: ["running", "pending"]}


def test_claim_takes_the_oldest_pending_job_and_counts_the_attempt(sessions) -> None:
    _add_jobs(sessions, 3)
    with sessions.begin() as session:
        job = queue.claim(session, "w1", timedelta(seconds=60))
        assert (job.id, job.status, job.lease_owner, job.attempts) == (1, "running", "w1", 1)
        assert queue.claim(session, "w2", timedelta(seconds=60)).id == 2
    with sessions.begin() as session:
        assert queue.claim(session, "w3", timedelta(seconds=60)).id == 3
        assert queue.claim(session, "w4", timedelta(seconds=60)) is None
    with pytest.raises(queue.LeaseLost), sessions.begin() as session:
        queue.heartbeat(session, 1, "w2")  # not its lease
    assert _events(sessions) == {1: ["running"], 2: ["running"], 3: ["running"]}
