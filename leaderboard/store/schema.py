"""The leaderboard's tables (SQLAlchemy 2 declarative models).

Nothing is ever deleted: a submission keeps every state change as an event, and a
withdrawn one stays with its reason. Per-sample records hold what paired tests and the
submitter's own view need (correctness, scores, the prediction's findings), never a
reference report's text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Named constraints: Alembic can then alter and drop them on every database.
NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "ck": "ck_%(table_name)s_%(constraint_name)s",
          "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
          "pk": "pk_%(table_name)s"}

#: pending -> running -> finished | failed; withdrawn from any state (kept, with its reason).
STATUSES = ("pending", "running", "finished", "failed", "withdrawn")
FAILURE_CATEGORIES = ("validation", "model load", "out of memory", "timeout", "stalled",
                      "degraded run", "crash", "lease expired")
KINDS = ("predictions", "model", "seed")
SETTINGS = ("zero-shot", "few-shot", "fine-tuned")


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Board(Base):
    """One benchmark: a fixed set of held-out checkups (``code-test-600``, ``synthetic-demo``)."""

    __tablename__ = "boards"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Pinned when the board is created: a run scored on other checkups, classes or
    # reference reports is refused at landing.
    dataset_fingerprint: Mapped[str | None] = mapped_column(String(64))
    reports_fingerprint: Mapped[str | None] = mapped_column(String(64))
    n_checkups: Mapped[int] = mapped_column(Integer)
    # The board's resample plan (eval_harness.paired.ResamplePlan): every row's
    # replicates are drawn on it, so any two rows compare paired.
    resamples: Mapped[int] = mapped_column(Integer, default=1000)
    resample_seed: Mapped[int] = mapped_column(Integer, default=0)
    # Wall-clock limit of a job on this board (None: CODEBENCH_JOB_TIMEOUT_S).
    job_timeout_s: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Submission(Base):
    """A model or predictions file on one board, and its place in the queue."""

    __tablename__ = "submissions"
    __table_args__ = (
        # The same content on the same board is one submission (dedup by content hash).
        UniqueConstraint("board_id", "content_hash", name="uq_submissions_board_content"),
        Index("ix_submissions_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    board_id: Mapped[str] = mapped_column(ForeignKey("boards.id"))
    kind: Mapped[str] = mapped_column(String(16))
    model_name: Mapped[str] = mapped_column(String(200))
    submitter: Mapped[str] = mapped_column(String(100))
    # A keyed hash of the uploading client's address (rate limits; never the address).
    client_hash: Mapped[str | None] = mapped_column(String(32), index=True)
    base_model: Mapped[str | None] = mapped_column(String(200))
    params_billion: Mapped[float | None] = mapped_column(Float)
    open_weights: Mapped[bool | None] = mapped_column(Boolean)
    setting: Mapped[str | None] = mapped_column(String(16))
    link: Mapped[str | None] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64))
    # What the worker runs: the stored predictions file or the model spec (never a secret).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    failure_category: Mapped[str | None] = mapped_column(String(32))
    failure_log: Mapped[str | None] = mapped_column(Text)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The scorer's identity, so rows scored under another version can be marked.
    harness_version: Mapped[str | None] = mapped_column(String(32))
    label_map: Mapped[str | None] = mapped_column(String(64))
    labeler_rules: Mapped[str | None] = mapped_column(String(64))
    prompt_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now,
                                                 onupdate=now)

    events: Mapped[list[Event]] = relationship(back_populates="submission",
                                               order_by="Event.id")


class Event(Base):
    """One timestamped state change of a submission (the history is append-only)."""

    __tablename__ = "submission_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    submission: Mapped[Submission] = relationship(back_populates="events")


class Result(Base):
    """One metric of one task of a finished submission, with its 95% CI."""

    __tablename__ = "results"
    __table_args__ = (UniqueConstraint("submission_id", "task", "metric", "view",
                                       name="uq_results_metric"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    task: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(64))
    view: Mapped[str] = mapped_column(String(16))  # "all" samples or "answered" only
    value: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)


class ClassResult(Base):
    """Per-class precision, recall and F1 of a classification task."""

    __tablename__ = "class_results"
    __table_args__ = (UniqueConstraint("submission_id", "task", "class_name",
                                       name="uq_class_results_class"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    task: Mapped[str] = mapped_column(String(32))
    class_name: Mapped[str] = mapped_column(String(64))
    precision: Mapped[float] = mapped_column(Float)
    recall: Mapped[float] = mapped_column(Float)
    f1: Mapped[float] = mapped_column(Float)
    support: Mapped[int] = mapped_column(Integer)


class SampleRecord(Base):
    """What one sample scored (correctness, per-sample metric values): the paired tests'
    input and the submitter's own per-sample view. Never reference text."""

    __tablename__ = "sample_records"
    __table_args__ = (UniqueConstraint("submission_id", "task", "sample_id",
                                       name="uq_sample_records_sample"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    task: Mapped[str] = mapped_column(String(32))
    sample_id: Mapped[str] = mapped_column(String(64))
    values: Mapped[dict[str, Any]] = mapped_column(JSON)


class Replicate(Base):
    """A finished row's headline metric on each of its board's B resamples (float64
    bytes): what every rank interval and paired comparison on the board is made of."""

    __tablename__ = "replicates"
    __table_args__ = (UniqueConstraint("submission_id", "task", "metric",
                                       name="uq_replicates_metric"),
                      Index("ix_replicates_board_task_metric", "board_id", "task", "metric"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    board_id: Mapped[str] = mapped_column(ForeignKey("boards.id"))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    task: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(64))
    point: Mapped[float] = mapped_column(Float)  # the metric on the full sample
    higher_is_better: Mapped[bool] = mapped_column(Boolean)
    values: Mapped[bytes] = mapped_column(LargeBinary)


class RankInterval(Base):
    """A finished row's rank interval on its board for one task and metric (the per-row
    max-t rule), recomputed whole with every landing, withdrawal and rescore."""

    __tablename__ = "rank_intervals"
    __table_args__ = (UniqueConstraint("submission_id", "task", "metric",
                                       name="uq_rank_intervals_row"),
                      Index("ix_rank_intervals_board_task_metric", "board_id", "task",
                            "metric"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    board_id: Mapped[str] = mapped_column(ForeignKey("boards.id"))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    task: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    rank_low: Mapped[int] = mapped_column(Integer)
    rank_high: Mapped[int] = mapped_column(Integer)
    critical: Mapped[float] = mapped_column(Float)  # the row's max-t critical value c_i


class Standing(Base):
    """A finished row's place on its board for one task (so the ranked view is one indexed
    read): the primary metric with its CI, its rank interval's best end, and the table's
    other columns. Rank intervals by every headline metric are in ``rank_intervals``."""

    __tablename__ = "standings"
    __table_args__ = (UniqueConstraint("submission_id", "task", name="uq_standings_row"),
                      Index("ix_standings_board_task_value", "board_id", "task", "value"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    board_id: Mapped[str] = mapped_column(ForeignKey("boards.id"))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    task: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    rank_upper_bound: Mapped[int] = mapped_column(Integer)
    columns: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
