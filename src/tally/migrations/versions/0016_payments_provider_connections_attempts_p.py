"""payments: provider connections, attempts, payments, events, collection, settings

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-07 09:06:47.593520
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tally.db

revision: str = "0016"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_payment_settings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column(
            "merchant_notifications",
            sa.Enum(
                "SEND_NOTIFICATIONS",
                "DO_NOT_SEND_NOTIFICATIONS",
                name="failurenotificationoption",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "customer_notifications",
            sa.Enum(
                "SEND_NOTIFICATIONS",
                "DO_NOT_SEND_NOTIFICATIONS",
                name="failurenotificationoption",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_payment_settings_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_payment_settings")),
        sa.UniqueConstraint("account_id", name=op.f("uq_account_payment_settings_account_id")),
    )
    op.create_table(
        "payment_provider_connections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column(
            "provider",
            sa.Enum(
                "STRIPE",
                "GOCARDLESS",
                "NONE",
                name="paymentprovidername",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("secret_key_encrypted", sa.String(length=2000), nullable=False),
        sa.Column("webhook_secret_encrypted", sa.String(length=2000), nullable=True),
        sa.Column("publishable_key", sa.String(length=255), nullable=True),
        sa.Column("secret_key_hint", sa.String(length=8), nullable=False),
        sa.Column("connected_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disconnected_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_payment_provider_connections_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_provider_connections")),
        sa.UniqueConstraint(
            "account_id",
            "provider",
            name=op.f("uq_payment_provider_connections_account_id_provider"),
        ),
    )
    op.create_table(
        "provider_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column(
            "provider",
            sa.Enum(
                "STRIPE",
                "GOCARDLESS",
                "NONE",
                name="paymentprovidername",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("occurred_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=255), nullable=False),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_provider_events_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_events")),
        sa.UniqueConstraint(
            "account_id",
            "provider",
            "event_id",
            name=op.f("uq_provider_events_account_id_provider_event_id"),
        ),
    )
    op.create_table(
        "stripe_collection_settings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("enable_automatic_payments", sa.Boolean(), nullable=False),
        sa.Column("auto_enable_stripe_payments", sa.Boolean(), nullable=False),
        sa.Column(
            "retry_anchor",
            sa.Enum("SENT_DATE", "DUE_DATE", name="retryanchor", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "retry_offset_days",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_stripe_collection_settings_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_collection_settings")),
        sa.UniqueConstraint("account_id", name=op.f("uq_stripe_collection_settings_account_id")),
    )
    op.create_table(
        "customer_dunning_pauses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("paused_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resumed_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_customer_dunning_pauses_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_dunning_pauses_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_dunning_pauses")),
    )
    with op.batch_alter_table("customer_dunning_pauses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_dunning_pauses_customer", ["account_id", "customer_id"], unique=False
        )

    op.create_table(
        "customer_payment_settings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column(
            "payment_provider",
            sa.Enum(
                "STRIPE",
                "GOCARDLESS",
                "NONE",
                name="paymentprovidername",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("deleted_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_customer_payment_settings_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_payment_settings_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_payment_settings")),
        sa.UniqueConstraint(
            "account_id",
            "customer_id",
            name=op.f("uq_customer_payment_settings_account_id_customer_id"),
        ),
    )
    op.create_table(
        "provider_customers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column(
            "provider",
            sa.Enum(
                "STRIPE",
                "GOCARDLESS",
                "NONE",
                name="paymentprovidername",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("provider_customer_id", sa.String(length=255), nullable=False),
        sa.Column("default_payment_method_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_provider_customers_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_provider_customers_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_customers")),
        sa.UniqueConstraint(
            "account_id",
            "provider",
            "customer_id",
            name=op.f("uq_provider_customers_account_id_provider_customer_id"),
        ),
    )
    op.create_table(
        "billing_schedule_payment_settings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("billing_schedule_id", sa.String(length=36), nullable=False),
        sa.Column(
            "payment_provider",
            sa.Enum(
                "STRIPE",
                "GOCARDLESS",
                "NONE",
                name="paymentprovidername",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("auto_charge", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_billing_schedule_payment_settings_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["billing_schedule_id"],
            ["billing_schedules.id"],
            name=op.f("fk_billing_schedule_payment_settings_billing_schedule_id_billing_schedules"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_schedule_payment_settings")),
        sa.UniqueConstraint(
            "account_id",
            "billing_schedule_id",
            name=op.f("uq_billing_schedule_payment_settings_account_id_billing_schedule_id"),
        ),
    )
    op.create_table(
        "invoice_collections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "SCHEDULED",
                "OVERDUE_CHECK_SCHEDULED",
                "COMPLETED",
                "FAILED",
                "NOT_REQUIRED",
                name="collectionstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_on", sa.Date(), nullable=True),
        sa.Column("paused_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure", sa.String(length=1000), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_invoice_collections_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_collections_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_collections")),
        sa.UniqueConstraint(
            "account_id", "invoice_id", name=op.f("uq_invoice_collections_account_id_invoice_id")
        ),
    )
    with op.batch_alter_table("invoice_collections", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invoice_collections_due", ["status", "next_attempt_on"], unique=False
        )

    op.create_table(
        "invoice_payment_settings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column(
            "payment_provider",
            sa.Enum(
                "STRIPE",
                "GOCARDLESS",
                "NONE",
                name="paymentprovidername",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("deleted_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_invoice_payment_settings_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_invoice_payment_settings_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_payment_settings_invoice_id_invoices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_payment_settings")),
        sa.UniqueConstraint(
            "account_id",
            "invoice_id",
            name=op.f("uq_invoice_payment_settings_account_id_invoice_id"),
        ),
    )
    op.create_table(
        "payment_attempts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "provider",
            sa.Enum(
                "STRIPE",
                "GOCARDLESS",
                "NONE",
                name="paymentprovidername",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("amount", tally.db.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("off_session", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "REQUIRES_ACTION",
                "SUCCEEDED",
                "FAILED",
                "CANCELLED",
                name="attemptstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("provider_payment_id", sa.String(length=255), nullable=True),
        sa.Column("failure_message", sa.String(length=1000), nullable=True),
        sa.Column("completed_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_payment_attempts_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_payment_attempts_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_attempts")),
        sa.UniqueConstraint(
            "account_id",
            "invoice_id",
            "number",
            name=op.f("uq_payment_attempts_account_id_invoice_id_number"),
        ),
    )
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payment_attempts_account_intent",
            ["account_id", "provider_payment_id"],
            unique=False,
        )

    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column(
            "origin",
            sa.Enum(
                "MANUAL", "STRIPE", "GOCARDLESS", name="paymentorigin", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("amount", tally.db.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=500), nullable=True),
        sa.Column("provider_payment_id", sa.String(length=255), nullable=True),
        sa.Column("attempt_id", sa.String(length=36), nullable=True),
        sa.Column("refunded_amount", tally.db.ExactDecimal(), nullable=False),
        sa.Column("recorded_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_payments_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_payments_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_payments_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint(
            "account_id",
            "origin",
            "provider_payment_id",
            name=op.f("uq_payments_account_id_origin_provider_payment_id"),
        ),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payments_account_invoice", ["account_id", "invoice_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_account_invoice")

    op.drop_table("payments")
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_attempts_account_intent")

    op.drop_table("payment_attempts")
    op.drop_table("invoice_payment_settings")
    with op.batch_alter_table("invoice_collections", schema=None) as batch_op:
        batch_op.drop_index("ix_invoice_collections_due")

    op.drop_table("invoice_collections")
    op.drop_table("billing_schedule_payment_settings")
    op.drop_table("provider_customers")
    op.drop_table("customer_payment_settings")
    with op.batch_alter_table("customer_dunning_pauses", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_dunning_pauses_customer")

    op.drop_table("customer_dunning_pauses")
    op.drop_table("stripe_collection_settings")
    op.drop_table("provider_events")
    op.drop_table("payment_provider_connections")
    op.drop_table("account_payment_settings")
