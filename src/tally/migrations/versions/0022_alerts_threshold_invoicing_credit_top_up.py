"""alerts, threshold invoicing, credit top-ups and auto-recharge

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 19:26:54.655413
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
        "alert_checks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_name", sa.String(length=500), nullable=False),
        sa.Column("dirty_since", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_alert_checks_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_checks")),
    )
    with op.batch_alter_table("alert_checks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alert_checks_account_dirty", ["account_id", "dirty_since"], unique=False
        )

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
        "alerts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "USAGE", "SPEND", "CREDIT_BALANCE", name="alerttype", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("price_id", sa.String(length=36), nullable=True),
        sa.Column("metric_id", sa.String(length=36), nullable=True),
        sa.Column("threshold", tally.db.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("include_tax", sa.Boolean(), nullable=False),
        sa.Column(
            "email_addresses",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("notify_customer", sa.Boolean(), nullable=False),
        sa.Column("archived_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_alerts_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_alerts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["metric_id"], ["usage_metrics.id"], name=op.f("fk_alerts_metric_id_usage_metrics")
        ),
        sa.ForeignKeyConstraint(
            ["price_id"], ["prices.id"], name=op.f("fk_alerts_price_id_prices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alerts_account_customer", ["account_id", "customer_id"], unique=False
        )
        batch_op.create_index("ix_alerts_account_price", ["account_id", "price_id"], unique=False)

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
        "alert_firings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("period_key", sa.String(length=40), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("value", tally.db.ExactDecimal(), nullable=False),
        sa.Column("threshold", tally.db.ExactDecimal(), nullable=False),
        sa.Column("fired_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_alert_firings_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_firings_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_alert_firings_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_firings")),
        sa.UniqueConstraint(
            "account_id",
            "alert_id",
            "customer_id",
            "period_key",
            name=op.f("uq_alert_firings_account_id_alert_id_customer_id_period_key"),
        ),
    )
    with op.batch_alter_table("alert_firings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alert_firings_account_customer", ["account_id", "customer_id"], unique=False
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
        batch_op.create_index(
            "ix_billing_schedule_phases_thresholds",
            ["account_id"],
            unique=False,
            sqlite_where=sa.text("invoice_threshold IS NOT NULL"),
            postgresql_where=sa.text("invoice_threshold IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("billing_schedule_phases", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_billing_schedule_phases_thresholds",
            sqlite_where=sa.text("invoice_threshold IS NOT NULL"),
            postgresql_where=sa.text("invoice_threshold IS NOT NULL"),
        )
        batch_op.drop_column("invoice_threshold")

    with op.batch_alter_table("threshold_invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_threshold_invoices_invoice_id"))

    op.drop_table("threshold_invoices")
    with op.batch_alter_table("credit_top_ups", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_top_ups_account_customer")

    op.drop_table("credit_top_ups")
    with op.batch_alter_table("alert_firings", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_firings_account_customer")

    op.drop_table("alert_firings")
    with op.batch_alter_table("credit_recharges", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_recharges_account_customer")

    op.drop_table("credit_recharges")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_account_price")
        batch_op.drop_index("ix_alerts_account_customer")

    op.drop_table("alerts")
    op.drop_table("credit_auto_recharges")
    with op.batch_alter_table("alert_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_checks_account_dirty")

    op.drop_table("alert_checks")
