"""alerts

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 19:16:40.218221
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


def downgrade() -> None:
    with op.batch_alter_table("alert_firings", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_firings_account_customer")

    op.drop_table("alert_firings")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_account_price")
        batch_op.drop_index("ix_alerts_account_customer")

    op.drop_table("alerts")
    with op.batch_alter_table("alert_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_checks_account_dirty")

    op.drop_table("alert_checks")
