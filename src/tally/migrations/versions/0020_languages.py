"""languages: the account's and each customer's

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 12:23:54.910770
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        # Existing accounts read English, as everything read before languages.
        batch_op.add_column(
            sa.Column("language", sa.String(length=8), nullable=False, server_default="en")
        )

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("language")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("language")
