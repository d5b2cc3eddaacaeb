"""The job queue on the submissions table: claims with a lease, heartbeats, and writes
that succeed only while the lease is held.

Every queue operation is one conditional ``UPDATE ... RETURNING`` statement, so what it
changed is exactly the rows it returns (one event is appended per returned row), and every
lease time is read from the database's own clock, never the host's: two workers on
machines whose clocks disagree still agree on whether a lease has run out.

- ``claim``: ``UPDATE submissions SET status = 'running', ... WHERE id = (SELECT id ...
  WHERE status = 'pending' ORDER BY created_at, id LIMIT 1) AND status = 'pending'
  RETURNING id``. On PostgreSQL the subquery is ``FOR UPDATE SKIP LOCKED`` (concurrent
  workers skip a row being claimed instead of waiting); on SQLite, whose dialect silently
  ignores FOR UPDATE, every transaction runs under ``BEGIN IMMEDIATE`` (see
  ``store.database``) and the ``status = 'pending'`` condition is the compare-and-swap.
- ``heartbeat``: ``UPDATE ... SET lease_until = <db now> + lease WHERE id = :id AND
  status = 'running' AND lease_owner = :worker AND lease_until > <db now> RETURNING id``;
  no row is :class:`LeaseLost`.
- ``reap``: ``UPDATE ... SET status = CASE WHEN attempts >= MAX_ATTEMPTS THEN 'failed' ELSE
  'pending' END, ... WHERE status = 'running' AND lease_until < <db now> RETURNING ...``;
  on PostgreSQL also ``AND id IN (SELECT id ... FOR UPDATE SKIP LOCKED)``, so a row whose
  heartbeat is being written (or that another reaper holds) is skipped, and a row whose
  heartbeat committed after the statement's snapshot is re-checked on its new lease and
  left alone. A lease that expires (its worker died) returns the job to pending, at most
  ``MAX_ATTEMPTS`` times, then fails it with its reason.

Results are written in the same transaction that checks the lease (:func:`holding`, which
locks the row on PostgreSQL), so a worker that lost its lease cannot write.

The database clock: PostgreSQL's ``statement_timestamp()``; SQLite's ``strftime('%Y-%m-%d
%H:%M:%f', 'now')`` (UTC) padded to the text SQLAlchemy stores a DateTime as there
(``YYYY-MM-DD HH:MM:SS.ffffff``), so stored and computed times compare as text in time
order.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

# ``now`` (the host's clock, for callers and tests): the queue itself reads the database's.
from leaderboard.store.schema import Event, Submission, now  # noqa: F401

MAX_ATTEMPTS = 3
LEASE = timedelta(seconds=60)
LOG_EXCERPT = 2000


class LeaseLost(Exception):
    """The worker no longer holds the job's lease: another worker may own it now."""


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def db_now(session: Session, offset: timedelta = timedelta(0)) -> sa.ColumnElement:
    """The database's clock (plus ``offset``), as a SQL expression comparable with the
    stored DateTime columns on this session's database."""
    if _postgres(session):
        clock = sa.func.statement_timestamp(type_=sa.DateTime(timezone=True))
        return clock + sa.literal(offset, sa.Interval()) if offset else clock
    # SQLite: 'now' is UTC and fixed within one statement; %f is SS.SSS, and SQLAlchemy
    # writes six fractional digits, so pad to compare as text in time order.
    modifier = f"{offset.total_seconds():+.3f} seconds"
    return sa.func.strftime("%Y-%m-%d %H:%M:%f", "now", modifier, type_=sa.String) + "000"


def _expire(session: Session, ids) -> None:
    """Rows changed behind the ORM's back: reload them on next access."""
    for job_id in ids:
        job = session.identity_map.get(Session.identity_key(Submission, job_id))
        if job is not None:
            session.expire(job)


def claim(session: Session, worker: str, lease: timedelta = LEASE) -> Submission | None:
    """Take the oldest pending job for ``worker``; None when there is none."""
    queued = aliased(Submission)
    oldest = (sa.select(queued.id).where(queued.status == "pending")
              .order_by(queued.created_at, queued.id).limit(1))
    if _postgres(session):
        oldest = oldest.with_for_update(skip_locked=True)
    job_id = session.scalar(
        sa.update(Submission)
        .where(Submission.id == oldest.scalar_subquery(), Submission.status == "pending")
        .values(status="running", lease_owner=worker, lease_until=db_now(session, lease),
                attempts=Submission.attempts + 1, updated_at=db_now(session))
        .returning(Submission.id)
        .execution_options(synchronize_session=False))
    if job_id is None:
        return None
    session.add(Event(submission_id=job_id, status="running", detail=f"claimed by {worker}"))
    session.flush()
    return session.get(Submission, job_id, populate_existing=True)


def holding(session: Session, job_id: int, worker: str) -> Submission:
    """The job, locked for this transaction, if ``worker`` still holds an unexpired lease
    (by the database's clock)."""
    live = sa.func.coalesce(Submission.lease_until > db_now(session), False)
    query = sa.select(Submission, live.label("live")).where(Submission.id == job_id)
    if _postgres(session):
        query = query.with_for_update(of=Submission)
    row = session.execute(query.execution_options(populate_existing=True)).first()
    if row is None or row.Submission.status != "running" \
            or row.Submission.lease_owner != worker or not row.live:
        raise LeaseLost(f"job {job_id}: {worker} no longer holds its lease")
    return row.Submission


def heartbeat(session: Session, job_id: int, worker: str, lease: timedelta = LEASE) -> None:
    """Extend ``worker``'s lease to the database's now + ``lease``; LeaseLost when it no
    longer holds an unexpired one."""
    renewed = session.scalar(
        sa.update(Submission)
        .where(Submission.id == job_id, Submission.status == "running",
               Submission.lease_owner == worker, Submission.lease_until > db_now(session))
        .values(lease_until=db_now(session, lease), updated_at=db_now(session))
        .returning(Submission.id)
        .execution_options(synchronize_session=False))
    if renewed is None:
        raise LeaseLost(f"job {job_id}: {worker} no longer holds its lease")
    _expire(session, [renewed])


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
    expired = sa.and_(Submission.status == "running",
                      Submission.lease_until < db_now(session))
    statement = sa.update(Submission).where(expired)
    if _postgres(session):
        running = aliased(Submission)
        locked = (sa.select(running.id)
                  .where(running.status == "running", running.lease_until < db_now(session))
                  .with_for_update(skip_locked=True))
        statement = statement.where(Submission.id.in_(locked))
    exhausted = Submission.attempts >= MAX_ATTEMPTS
    reason = (sa.literal("its worker stopped answering ", sa.Text)
              + sa.cast(Submission.attempts, sa.Text) + " times (last: "
              + sa.func.coalesce(Submission.lease_owner, "unknown") + ")")
    changed = session.execute(
        statement.values(
            status=sa.case((exhausted, "failed"), else_="pending"),
            failure_category=sa.case((exhausted, "lease expired"),
                                     else_=Submission.failure_category),
            failure_log=sa.case((exhausted, reason), else_=Submission.failure_log),
            lease_owner=None, lease_until=None, updated_at=db_now(session))
        .returning(Submission.id, Submission.status, Submission.attempts,
                   Submission.failure_log)
        .execution_options(synchronize_session=False)).all()
    for job_id, status, attempts, log in sorted(changed):
        if status == "failed":
            detail = f"lease expired: {log[-300:]}"
        else:  # the claim event just before names the worker
            detail = f"lease expired after attempt {attempts} of {MAX_ATTEMPTS}: re-queued"
        session.add(Event(submission_id=job_id, status=status, detail=detail))
    session.flush()
    _expire(session, [job_id for job_id, *_ in changed])
    return len(changed)


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
