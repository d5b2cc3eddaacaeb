"""`python -m leaderboard worker`: takes jobs from the queue and has each scored through
the harness API in a supervised process of its own (``leaderboard.supervisor``: wall-clock,
stall and memory limits), holding the job's lease with a heartbeat thread that renews it
only while the job's process is alive and reporting progress.

The scoring runs outside any database transaction; its results are written in one
transaction that first checks this worker still holds the lease, so a job is stored whole
or not at all and never twice. A failure is stored with its category and a log excerpt
for the submitter: validation (bad stored input), model load, out of memory, timeout,
stalled, degraded run (too many failed answers), crash (anything else, with its
traceback).

A database that stops answering (a restart, a full disk, a dropped network) does not stop
the worker: the loop, the heartbeat and the final write wait and try again. A result that
could not be written before the lease ran out is not lost either: the job goes back to
pending and is scored again (up to ``queue.MAX_ATTEMPTS`` times).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from eval_harness.api import DEFAULT_SCORING
from eval_harness.errors import DataError
from eval_harness.tasks.base import ScoreOptions
from leaderboard import queue
from leaderboard.ingest import record_scored
from leaderboard.store.database import OUTAGE, outage_reason
from leaderboard.supervisor import JobLimits, run_job

log = logging.getLogger("codebench.worker")
RETRY_S = (0.5, 1.0, 2.0, 4.0, 8.0)  # waits between tries while the database is away


@dataclass(frozen=True)
class Job:
    id: int
    board: str
    kind: str
    payload: dict


def worker_name() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class _Heartbeat(threading.Thread):
    """Renews the lease every third of its length while ``healthy()`` (the job's process
    is alive and reporting progress), until stopped or lost."""

    def __init__(self, sessions: sessionmaker[Session], job_id: int, worker: str,
                 lease: float, healthy: Callable[[], bool]) -> None:
        super().__init__(daemon=True)
        self.sessions, self.job_id, self.worker, self.lease = sessions, job_id, worker, lease
        self.healthy = healthy
        self.stopped, self.lost = threading.Event(), False

    def run(self) -> None:
        while not self.stopped.wait(self.lease / 3):
            if not self.healthy():
                continue  # a stalled job earns no more lease; its supervisor ends it
            try:
                with self.sessions.begin() as session:
                    queue.heartbeat(session, self.job_id, self.worker,
                                    timedelta(seconds=self.lease))
            except queue.LeaseLost:
                self.lost = True
                return
            except OUTAGE as error:  # the database is away: beat again next time
                log.warning("job %s: heartbeat failed, database unavailable (%s)",
                            self.job_id, outage_reason(error))


def score(job: Job, folder: Path, options: ScoreOptions):
    """What the job's process runs (``leaderboard.supervisor``): never in the worker."""
    from eval_harness import api
    from leaderboard.boards import references_for

    if job.kind == "model":
        from leaderboard.model_specs import evaluate

        return evaluate(job.payload, job.board, options)
    if job.kind != "predictions":
        raise DataError.single(f"job {job.id}", f"this worker does not run {job.kind!r} jobs")
    path = folder / "submissions" / job.payload["predictions"]
    predictions = api.read_predictions(path)
    return api.score_predictions(predictions, references_for(job.board), options,
                                 source=path.name)


def failure_of(job: Job, error: BaseException) -> tuple[str, str]:
    """A job's exception as its failure category and log excerpt."""
    from eval_harness.errors import UsageError

    if isinstance(error, DataError | UsageError):
        return ("model load" if job.kind == "model" else "validation"), str(error)
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":
        return "out of memory", f"{type(error).__name__}: {error}"
    return "crash", "".join(traceback.format_exception(error))


def process(sessions: sessionmaker[Session], job: Job, worker: str, folder: Path, *,
            options: ScoreOptions = DEFAULT_SCORING,
            lease: float = queue.LEASE.total_seconds(), timeout: float | None = None) -> str:
    """Score one claimed job in its supervised process and store the outcome; returns its
    final status. ``timeout`` (seconds) overrides the board's and the settings' limit."""
    limits = _limits(sessions, job, timeout)
    progressed = [time.monotonic()]
    beat = _Heartbeat(sessions, job.id, worker, lease, healthy=lambda: (
        time.monotonic() - progressed[0] < limits.stall_s))
    beat.start()
    try:
        outcome = run_job(job, folder, options, limits, alive=lambda: not beat.lost,
                          on_progress=lambda: progressed.__setitem__(0, time.monotonic()))
    finally:
        beat.stopped.set()
        beat.join()
    scored, failure = outcome.scored, outcome.failure
    if scored is not None and scored.degraded:
        failure = ("degraded run", str(scored.document.failures))
    deadline = time.monotonic() + lease
    for wait in (*RETRY_S, None):
        try:
            return _store_outcome(sessions, job, worker, scored, failure)
        except OUTAGE as error:  # nothing was written: the transaction rolled back
            if wait is None or time.monotonic() + wait > deadline:
                raise
            log.warning("job %s: database unavailable while storing (%s); again in %g s",
                        job.id, outage_reason(error), wait)
            time.sleep(wait)
    raise AssertionError("unreachable")


def _limits(sessions: sessionmaker[Session], job: Job, timeout: float | None) -> JobLimits:
    from dataclasses import replace

    from leaderboard.store.schema import Board

    with sessions() as session:
        board = session.get(Board, job.board)
        limits = JobLimits.from_settings(board.job_timeout_s if board else None)
    return replace(limits, wall_s=timeout) if timeout else limits


def _store_outcome(sessions: sessionmaker[Session], job: Job, worker: str, scored,
                   failure: tuple[str, str] | None) -> str:
    """The job's result or failure, in one transaction, only while this worker holds it."""
    with sessions.begin() as session:
        held = queue.holding(session, job.id, worker)  # LeaseLost: write nothing
        if failure:
            queue.fail(session, held, *failure)
            return "failed"
        try:
            record_scored(session, held, scored, detail=f"scored by {worker}")
        except DataError as error:  # refused at landing, before anything was written
            queue.fail(session, held, "validation", str(error))
            return "failed"
        held.lease_owner = held.lease_until = None
        return "finished"


def work_once(sessions: sessionmaker[Session], folder: Path, worker: str | None = None, *,
              options: ScoreOptions = DEFAULT_SCORING,
              lease: float = queue.LEASE.total_seconds(),
              timeout: float | None = None) -> str | None:
    """Re-queue expired leases, claim one job and process it; None when nothing waits."""
    worker = worker or worker_name()
    with sessions.begin() as session:
        queue.reap(session)
    with sessions.begin() as session:
        claimed = queue.claim(session, worker, timedelta(seconds=lease))
        job = claimed and Job(claimed.id, claimed.board_id, claimed.kind,
                              dict(claimed.payload))
    if job is None:
        return None
    try:
        return process(sessions, job, worker, folder, options=options, lease=lease,
                       timeout=timeout)
    except queue.LeaseLost:
        return "lease lost"


def work(sessions: sessionmaker[Session], folder: Path, *, once: bool = False,
         poll: float = 2.0, stop: threading.Event | None = None,
         options: ScoreOptions = DEFAULT_SCORING,
         lease: float = queue.LEASE.total_seconds(), timeout: float | None = None) -> int:
    """Process jobs until ``stop`` is set (or, with ``once``, until none is pending);
    returns how many were processed."""
    worker, done, away = worker_name(), 0, 0
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            outcome = work_once(sessions, folder, worker, options=options, lease=lease,
                                timeout=timeout)
        except OUTAGE as error:  # wait for the database; the queue keeps every job
            wait = RETRY_S[min(away, len(RETRY_S) - 1)]
            away += 1
            log.warning("database unavailable (%s); trying again in %g s", outage_reason(error),
                        wait)
            stop.wait(wait)
            continue
        away = 0
        if outcome is None:
            if once:
                break
            stop.wait(poll)
            continue
        done += 1
    return done


