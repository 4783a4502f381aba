"""attachments, tax categories, invoice lines' and groups' revenue settings, creditBalances

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-07 06:16:58.873745
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tally.db

revision: str = "0013"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json_list(name: str) -> sa.Column[Any]:
    # Existing rows start with an empty list.
    return sa.Column(
        name,
        sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
        nullable=False,
        server_default=sa.text("'[]'"),
    )


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("deleted_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_attachments_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_account_id"), ["account_id"], unique=False)

    op.create_table(
        "tax_categories",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_tax_categories_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_categories")),
    )
    with op.batch_alter_table("tax_categories", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tax_categories_account_id"), ["account_id"], unique=False
        )

    with op.batch_alter_table("billing_schedules", schema=None) as batch_op:
        batch_op.add_column(_json_list("attachment_assets"))

    with op.batch_alter_table("invoice_line_item_groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tax_category_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("tax_category_name", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("revenue_recognition_method", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("revenue_classification", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("service_period_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("service_period_end", sa.Date(), nullable=True))

    with op.batch_alter_table("invoice_line_items", schema=None) as batch_op:
        batch_op.add_column(_json_list("external_ids"))
        batch_op.add_column(
            sa.Column("revenue_recognition_method", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("revenue_classification", sa.String(length=32), nullable=True)
        )

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credit_balances", sa.String(length=2000), nullable=True))
        batch_op.add_column(_json_list("attachment_assets"))


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("attachment_assets")
        batch_op.drop_column("credit_balances")

    with op.batch_alter_table("invoice_line_items", schema=None) as batch_op:
        batch_op.drop_column("revenue_classification")
        batch_op.drop_column("revenue_recognition_method")
        batch_op.drop_column("external_ids")

    with op.batch_alter_table("invoice_line_item_groups", schema=None) as batch_op:
        batch_op.drop_column("service_period_end")
        batch_op.drop_column("service_period_start")
        batch_op.drop_column("revenue_classification")
        batch_op.drop_column("revenue_recognition_method")
        batch_op.drop_column("tax_category_name")
        batch_op.drop_column("tax_category_id")

    with op.batch_alter_table("billing_schedules", schema=None) as batch_op:
        batch_op.drop_column("attachment_assets")

    with op.batch_alter_table("tax_categories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tax_categories_account_id"))

    op.drop_table("tax_categories")

    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_account_id"))

    op.drop_table("attachments")
