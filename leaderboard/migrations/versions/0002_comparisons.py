"""Pairwise comparisons on each task's primary metric (the rank upper bounds' input).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "comparisons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("task", sa.String(length=32), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("a_id", sa.Integer(), nullable=False),
        sa.Column("b_id", sa.Integer(), nullable=False),
        sa.Column("delta", sa.Float(), nullable=False),
        sa.Column("share_a_better", sa.Float(), nullable=False),
        sa.Column("share_b_better", sa.Float(), nullable=False),
        sa.Column("n_resamples", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["a_id"], ["submissions.id"], name=op.f("fk_comparisons_a_id_submissions")
        ),
        sa.ForeignKeyConstraint(
            ["b_id"], ["submissions.id"], name=op.f("fk_comparisons_b_id_submissions")
        ),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_comparisons_board_id_boards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comparisons")),
        sa.UniqueConstraint("task", "a_id", "b_id", name="uq_comparisons_pair"),
    )
    op.create_index(op.f("ix_comparisons_board_id"), "comparisons", ["board_id"], unique=False)


def downgrade() -> None:
    op.drop_table("comparisons")
