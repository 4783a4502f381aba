"""read-your-writes fences for a read replica

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tally.db

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "replica_fences",
        sa.Column("client", sa.String(length=80), nullable=False),
        sa.Column("lsn", sa.BigInteger(), nullable=False),
        sa.Column("written_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client", name=op.f("pk_replica_fences")),
    )


def downgrade() -> None:
    op.drop_table("replica_fences")
