"""One ranking engine: boards pin their fingerprints and resample plan, rows store the
bootstrap replicates of their headline metrics, rank intervals replace the per-pair
comparisons. Boards may also carry their own job time limit.

Existing stores are filled in place: each board gets its plan (B = 1,000, its own seed)
and, where it had none, the fingerprint its rows were scored on; every finished row's
replicates are computed from its stored per-sample records; a finished row that does not
belong on its board (another dataset's fingerprint, samples that cannot be ranked) is
withdrawn with the reason, never deleted; the standings are then recomputed.

Revision ID: 0005
Revises: 0004
"""

from collections import Counter

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("boards") as batch:
        batch.add_column(sa.Column("reports_fingerprint", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("resamples", sa.Integer(), nullable=False,
                                   server_default="1000"))
        batch.add_column(sa.Column("resample_seed", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("job_timeout_s", sa.Integer(), nullable=True))
    op.create_table(
        "replicates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=32), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("point", sa.Float(), nullable=False),
        sa.Column("higher_is_better", sa.Boolean(), nullable=False),
        sa.Column("values", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["board_id"], ["boards.id"],
                                name=op.f("fk_replicates_board_id_boards")),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"],
                                name=op.f("fk_replicates_submission_id_submissions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replicates")),
        sa.UniqueConstraint("submission_id", "task", "metric", name="uq_replicates_metric"),
    )
    op.create_index("ix_replicates_board_task_metric", "replicates",
                    ["board_id", "task", "metric"])
    op.create_index(op.f("ix_replicates_submission_id"), "replicates", ["submission_id"])
    op.create_table(
        "rank_intervals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=32), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("rank_low", sa.Integer(), nullable=False),
        sa.Column("rank_high", sa.Integer(), nullable=False),
        sa.Column("critical", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["board_id"], ["boards.id"],
                                name=op.f("fk_rank_intervals_board_id_boards")),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"],
                                name=op.f("fk_rank_intervals_submission_id_submissions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rank_intervals")),
        sa.UniqueConstraint("submission_id", "task", "metric", name="uq_rank_intervals_row"),
    )
    op.create_index("ix_rank_intervals_board_task_metric", "rank_intervals",
                    ["board_id", "task", "metric"])
    op.drop_table("comparisons")
    _fill(op.get_bind())


def _fill(connection) -> None:
    """Plans, fingerprints, replicates and standings for the rows already stored."""
    from sqlalchemy.orm import Session

    from leaderboard import standings
    from leaderboard.store.schema import Board, Event, Submission

    session = Session(bind=connection)
    for board in session.scalars(sa.select(Board)).all():
        board.resamples, board.resample_seed = 1000, standings.board_seed(board.id)
        finished = session.scalars(sa.select(Submission).where(
            Submission.board_id == board.id, Submission.status == "finished")
            .order_by(Submission.id)).all()
        if board.dataset_fingerprint is None:
            seen = Counter((s.provenance or {}).get("fingerprint") for s in finished)
            seen.pop(None, None)
            board.dataset_fingerprint = seen.most_common(1)[0][0] if seen else None
        for submission in finished:
            reason = _misfit(session, board, submission)
            if reason:
                submission.status, submission.withdrawn_reason = "withdrawn", reason
                submission.events.append(Event(status="withdrawn", detail=reason))
        session.flush()
        standings.recompute(session, board.id)
    session.flush()


def _misfit(session, board, submission) -> str | None:
    """Store the row's replicates; or say why it cannot be ranked on this board."""
    from eval_harness.errors import DataError
    from leaderboard import standings
    from leaderboard.ingest import samples_of
    from leaderboard.store.schema import Replicate, SampleRecord

    fingerprint = (submission.provenance or {}).get("fingerprint")
    if board.dataset_fingerprint and fingerprint and fingerprint != board.dataset_fingerprint:
        return (f"scored on dataset {fingerprint[:16]}, but board {board.id} holds dataset "
                f"{board.dataset_fingerprint[:16]} (found by migration 0005)")
    tasks = session.scalars(sa.select(SampleRecord.task).where(
        SampleRecord.submission_id == submission.id).distinct()).all()
    rows = []
    try:
        for task in sorted(tasks):
            rows += standings.replicate_rows(board, submission.id, task,
                                             samples_of(session, submission.id, task))
    except (DataError, KeyError) as error:  # KeyError: a task no longer registered
        return f"cannot be ranked: {error} (found by migration 0005)"
    if rows:
        session.execute(sa.insert(Replicate), rows)
    return None


def downgrade() -> None:
    raise NotImplementedError("0005 replaced the per-pair comparisons; restore a backup "
                              "taken before the upgrade to go back")
