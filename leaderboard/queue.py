"""The job queue on the submissions table: claims with a lease, heartbeats, and writes
that succeed only while the lease is held.

Claiming is atomic on both databases: PostgreSQL locks the oldest pending row with
``FOR UPDATE SKIP LOCKED`` (concurrent workers skip it instead of waiting); SQLite, whose
dialect silently ignores FOR UPDATE, runs every transaction under ``BEGIN IMMEDIATE`` (see
``store.database``) and claims with a compare-and-swap ``UPDATE ... WHERE status =
'pending'`` whose row count says whether this worker won. A lease that expires (its
worker died) returns the job to pending, at most ``MAX_ATTEMPTS`` times, then fails it
with its reason. Results are written in the same transaction that checks the lease, so a
worker that lost its lease cannot write.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leaderboard.store.schema import Event, Submission, now

MAX_ATTEMPTS = 3
LEASE = timedelta(seconds=60)
LOG_EXCERPT = 2000


class LeaseLost(Exception):
    """The worker no longer holds the job's lease: another worker may own it now."""


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes (stored in UTC by us).
    from datetime import UTC

    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def claim(session: Session, worker: str, lease: timedelta = LEASE) -> Submission | None:
    """Take the oldest pending job for ``worker``; None when there is none."""
    pending = (sa.select(Submission.id).where(Submission.status == "pending")
               .order_by(Submission.created_at, Submission.id).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        job_id = session.scalar(pending.with_for_update(skip_locked=True))
    else:
        job_id = session.scalar(pending)
    if job_id is None:
        return None
    won = session.execute(
        sa.update(Submission).where(Submission.id == job_id, Submission.status == "pending")
        .values(status="running", lease_owner=worker, lease_until=now() + lease,
                attempts=Submission.attempts + 1, updated_at=now())
        .execution_options(synchronize_session=False)).rowcount
    if won != 1:
        return None
    session.add(Event(submission_id=job_id, status="running", detail=f"claimed by {worker}"))
    session.flush()
    return session.get(Submission, job_id, populate_existing=True)


def holding(session: Session, job_id: int, worker: str) -> Submission:
    """The job, locked for this transaction, if ``worker`` still holds an unexpired lease."""
    query = sa.select(Submission).where(Submission.id == job_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    job = session.scalar(query.execution_options(populate_existing=True))
    if job is None or job.status != "running" or job.lease_owner != worker \
            or _aware(job.lease_until) <= now():
        raise LeaseLost(f"job {job_id}: {worker} no longer holds its lease")
    return job


def heartbeat(session: Session, job_id: int, worker: str, lease: timedelta = LEASE) -> None:
    holding(session, job_id, worker).lease_until = now() + lease


def fail(session: Session, job: Submission, category: str, log: str) -> None:
    """End the job failed with its reason. The log is shown to the submitter (and on the
    queue's page), so it is redacted first: a server may have quoted the worker's key."""
    from eval_harness.redact import redact

    log = redact(log)
    job.status, job.failure_category = "failed", category
    job.failure_log = log[-LOG_EXCERPT:]
    job.lease_owner = job.lease_until = None
    job.events.append(Event(status="failed", detail=f"{category}: {log[-300:]}"))


def reap(session: Session) -> int:
    """Expired leases back to pending (or failed after MAX_ATTEMPTS); returns how many."""
    expired = session.scalars(sa.select(Submission).where(
        Submission.status == "running", Submission.lease_until < now())).all()
    for job in expired:
        if job.attempts >= MAX_ATTEMPTS:
            fail(session, job, "lease expired", f"its worker stopped answering "
                 f"{job.attempts} times (last: {job.lease_owner})")
        else:
            job.events.append(Event(status="pending", detail=f"lease of {job.lease_owner} "
                                    "expired: re-queued"))
            job.status, job.lease_owner, job.lease_until = "pending", None, None
    return len(expired)


def withdraw(session: Session, submission_id: int, reason: str) -> Submission:
    """Take a row off the board for good; it stays in the store with its reason."""
    job = session.get(Submission, submission_id)
    if job is None:
        raise LookupError(f"no submission {submission_id}")
    if not reason.strip():
        raise ValueError("a withdrawal needs its reason")
    job.status, job.withdrawn_reason = "withdrawn", reason.strip()
    job.lease_owner = job.lease_until = None  # a worker still running it cannot write
    job.events.append(Event(status="withdrawn", detail=reason.strip()))
    session.flush()
    from leaderboard import standings

    standings.recompute(session, job.board_id)
    return job
