"""threshold invoicing

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 18:06:15.486873
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tally.db

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "threshold_invoices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("billing_schedule_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("billing_period_start", sa.Date(), nullable=False),
        sa.Column("billing_period_end", sa.Date(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column(
            "charges",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_threshold_invoices_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["billing_schedule_id"],
            ["billing_schedules.id"],
            name=op.f("fk_threshold_invoices_billing_schedule_id_billing_schedules"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_threshold_invoices_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threshold_invoices")),
        sa.UniqueConstraint(
            "account_id",
            "billing_schedule_id",
            "invoice_date",
            "sequence",
            name="uq_threshold_invoices_step",
        ),
    )
    with op.batch_alter_table("threshold_invoices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_threshold_invoices_invoice_id"), ["invoice_id"], unique=False
        )

    with op.batch_alter_table("billing_schedule_phases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invoice_threshold", tally.db.ExactDecimal(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("billing_schedule_phases", schema=None) as batch_op:
        batch_op.drop_column("invoice_threshold")

    with op.batch_alter_table("threshold_invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_threshold_invoices_invoice_id"))

    op.drop_table("threshold_invoices")
