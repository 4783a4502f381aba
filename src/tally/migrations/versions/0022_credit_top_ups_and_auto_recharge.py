"""credit top-ups and auto-recharge

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 18:05:38.782378
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tally.db

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_auto_recharges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("below_balance", tally.db.ExactDecimal(), nullable=False),
        sa.Column("recharge_amount", tally.db.ExactDecimal(), nullable=False),
        sa.Column("cost", tally.db.ExactDecimal(), nullable=True),
        sa.Column("monthly_cap", tally.db.ExactDecimal(), nullable=True),
        sa.Column("tax_rate_id", sa.String(length=36), nullable=True),
        sa.Column("paused_until", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure", sa.String(length=1000), nullable=True),
        sa.Column("deleted_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_credit_auto_recharges_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_credit_auto_recharges_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_auto_recharges")),
        sa.UniqueConstraint(
            "account_id",
            "customer_id",
            "currency",
            name=op.f("uq_credit_auto_recharges_account_id_customer_id_currency"),
        ),
    )
    op.create_table(
        "credit_recharges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("auto_recharge_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "SUCCEEDED",
                "FAILED",
                "CAPPED",
                name="rechargestatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("amount", tally.db.ExactDecimal(), nullable=False),
        sa.Column("charged", tally.db.ExactDecimal(), nullable=False),
        sa.Column("balance_before", tally.db.ExactDecimal(), nullable=False),
        sa.Column("top_up_id", sa.String(length=36), nullable=True),
        sa.Column("invoice_id", sa.String(length=36), nullable=True),
        sa.Column("attempt_id", sa.String(length=36), nullable=True),
        sa.Column("failure_message", sa.String(length=1000), nullable=True),
        sa.Column("completed_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_credit_recharges_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["auto_recharge_id"],
            ["credit_auto_recharges.id"],
            name=op.f("fk_credit_recharges_auto_recharge_id_credit_auto_recharges"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_credit_recharges_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_recharges")),
        sa.UniqueConstraint(
            "account_id",
            "auto_recharge_id",
            "number",
            name=op.f("uq_credit_recharges_account_id_auto_recharge_id_number"),
        ),
    )
    with op.batch_alter_table("credit_recharges", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_recharges_account_customer", ["account_id", "customer_id"], unique=False
        )

    op.create_table(
        "credit_top_ups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column(
            "credit_unit_type",
            sa.Enum("CURRENCY", "METRIC", name="creditunittype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("metric_id", sa.String(length=36), nullable=True),
        sa.Column("amount", tally.db.ExactDecimal(), nullable=False),
        sa.Column("cost", tally.db.ExactDecimal(), nullable=False),
        sa.Column("tax_rate_id", sa.String(length=36), nullable=True),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column(
            "grant_when",
            sa.Enum("ON_PAYMENT", "IMMEDIATELY", name="grantwhen", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "AWAITING_PAYMENT",
                "GRANTED",
                "CANCELLED",
                name="topupstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("grant_id", sa.String(length=36), nullable=True),
        sa.Column("recharge_id", sa.String(length=36), nullable=True),
        sa.Column("granted_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_credit_top_ups_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_credit_top_ups_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_credit_top_ups_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_top_ups")),
        sa.UniqueConstraint(
            "account_id", "invoice_id", name=op.f("uq_credit_top_ups_account_id_invoice_id")
        ),
    )
    with op.batch_alter_table("credit_top_ups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_top_ups_account_customer", ["account_id", "customer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("credit_top_ups", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_top_ups_account_customer")

    op.drop_table("credit_top_ups")
    with op.batch_alter_table("credit_recharges", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_recharges_account_customer")

    op.drop_table("credit_recharges")
    op.drop_table("credit_auto_recharges")
