"""invoice lines keep their tiers and the discounts netted into them, for the document

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-09 10:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json_list(name: str) -> sa.Column[Any]:
    # Existing lines start with none: their documents show them as before.
    return sa.Column(
        name,
        sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
        nullable=False,
        server_default=sa.text("'[]'"),
    )


def upgrade() -> None:
    with op.batch_alter_table("invoice_line_items", schema=None) as batch_op:
        batch_op.add_column(_json_list("tiers"))
        batch_op.add_column(_json_list("netted_discounts"))


def downgrade() -> None:
    with op.batch_alter_table("invoice_line_items", schema=None) as batch_op:
        batch_op.drop_column("netted_discounts")
        batch_op.drop_column("tiers")
