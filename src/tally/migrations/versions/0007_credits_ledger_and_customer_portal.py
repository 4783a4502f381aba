"""credits ledger and customer portal

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 21:49:57.170224
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tally.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_settings",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("logo_url", sa.String(length=2000), nullable=True),
        sa.Column("brand_color", sa.String(length=7), nullable=True),
        sa.Column("application_url", sa.String(length=2000), nullable=True),
        sa.Column(
            "tabs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "frame_ancestors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_portal_settings_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_portal_settings")),
    )
    op.create_table(
        "credit_grants",
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
        sa.Column("cost_of_credit", tally.db.ExactDecimal(), nullable=True),
        sa.Column("tax_rate_id", sa.String(length=36), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("credits_per_currency_unit", tally.db.ExactDecimal(), nullable=True),
        sa.Column("invoice_id", sa.String(length=36), nullable=True),
        sa.Column("credit_note_id", sa.String(length=36), nullable=True),
        sa.Column("billing_schedule_id", sa.String(length=36), nullable=True),
        sa.Column("phase_credit_grant_id", sa.String(length=36), nullable=True),
        sa.Column("refresh_period_start", sa.Date(), nullable=True),
        sa.Column(
            "restrict_to_prices",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("deleted_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_credit_grants_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_credit_grants_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["metric_id"],
            ["usage_metrics.id"],
            name=op.f("fk_credit_grants_metric_id_usage_metrics"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_grants")),
        sa.UniqueConstraint(
            "account_id",
            "phase_credit_grant_id",
            "refresh_period_start",
            name=op.f("uq_credit_grants_account_id_phase_credit_grant_id_refresh_period_start"),
        ),
    )
    with op.batch_alter_table("credit_grants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_grants_account_customer", ["account_id", "customer_id"], unique=False
        )

    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("portal_secret_digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_portal_sessions_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_portal_sessions_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_sessions_token_hash")),
    )
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_sessions_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_portal_sessions_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "credit_ledger_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("grant_id", sa.String(length=36), nullable=False),
        sa.Column(
            "entry_type",
            sa.Enum(
                "GRANT",
                "DEBIT",
                "RESTORE",
                "EXPIRY",
                "ROLLOVER",
                "REVOKE",
                name="ledgerentrytype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("amount", tally.db.ExactDecimal(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=True),
        sa.Column("billing_run_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_credit_ledger_entries_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_credit_ledger_entries_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["credit_grants.id"],
            name=op.f("fk_credit_ledger_entries_grant_id_credit_grants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_ledger_entries")),
        sa.UniqueConstraint(
            "account_id", "dedupe_key", name=op.f("uq_credit_ledger_entries_account_id_dedupe_key")
        ),
    )
    with op.batch_alter_table("credit_ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_ledger_entries_account_customer", ["account_id", "customer_id"], unique=False
        )
        batch_op.create_index("ix_credit_ledger_entries_grant", ["grant_id"], unique=False)

    op.create_table(
        "phase_credit_grants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("billing_schedule_id", sa.String(length=36), nullable=False),
        sa.Column("phase_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column(
            "credit_unit_type",
            sa.Enum("CURRENCY", "METRIC", name="creditunittype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("metric_id", sa.String(length=36), nullable=True),
        sa.Column("amount", tally.db.ExactDecimal(), nullable=False),
        sa.Column("cost_of_credit", tally.db.ExactDecimal(), nullable=True),
        sa.Column("tax_rate_id", sa.String(length=36), nullable=True),
        sa.Column(
            "grant_refresh_frequency",
            sa.Enum(
                "NONE",
                "MONTHLY",
                "QUARTERLY",
                "HALF_YEARLY",
                "YEARLY",
                name="grantrefreshfrequency",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "rollover_mode",
            sa.Enum(
                "NONE",
                "ON_GRANT_REFRESH",
                "ON_GRANT_REFRESH_AND_PHASE",
                name="rollovermode",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "restrict_to_prices",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_phase_credit_grants_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["billing_schedule_id"],
            ["billing_schedules.id"],
            name=op.f("fk_phase_credit_grants_billing_schedule_id_billing_schedules"),
        ),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["billing_schedule_phases.id"],
            name=op.f("fk_phase_credit_grants_phase_id_billing_schedule_phases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phase_credit_grants")),
    )
    with op.batch_alter_table("phase_credit_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_phase_credit_grants_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_phase_credit_grants_billing_schedule_id"),
            ["billing_schedule_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_phase_credit_grants_phase_id"), ["phase_id"], unique=False
        )

    with op.batch_alter_table("invoice_line_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credit_grant_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoice_line_items", schema=None) as batch_op:
        batch_op.drop_column("credit_grant_id")

    with op.batch_alter_table("phase_credit_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phase_credit_grants_phase_id"))
        batch_op.drop_index(batch_op.f("ix_phase_credit_grants_billing_schedule_id"))
        batch_op.drop_index(batch_op.f("ix_phase_credit_grants_account_id"))

    op.drop_table("phase_credit_grants")
    with op.batch_alter_table("credit_ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_ledger_entries_grant")
        batch_op.drop_index("ix_credit_ledger_entries_account_customer")

    op.drop_table("credit_ledger_entries")
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_sessions_customer_id"))
        batch_op.drop_index(batch_op.f("ix_portal_sessions_account_id"))

    op.drop_table("portal_sessions")
    with op.batch_alter_table("credit_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_grants_account_customer")

    op.drop_table("credit_grants")
    op.drop_table("portal_settings")
