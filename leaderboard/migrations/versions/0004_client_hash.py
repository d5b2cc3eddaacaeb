"""Submissions remember a keyed hash of the uploading client's address (rate limits).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("submissions", sa.Column("client_hash", sa.String(length=32), nullable=True))
    op.create_index(
        op.f("ix_submissions_client_hash"), "submissions", ["client_hash"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_submissions_client_hash"), table_name="submissions")
    op.drop_column("submissions", "client_hash")
