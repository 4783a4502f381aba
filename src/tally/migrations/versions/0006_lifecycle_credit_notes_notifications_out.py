"""lifecycle: credit notes, notifications, outboxes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 21:07:03.461529
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tally.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column(
            "to_addresses",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "cc_addresses",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column(
            "attachments",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "DELIVERED",
                "FAILED",
                name="deliverystatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_email_messages_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_messages")),
        sa.UniqueConstraint(
            "account_id", "dedupe_key", name=op.f("uq_email_messages_account_id_dedupe_key")
        ),
    )
    with op.batch_alter_table("email_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_email_messages_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index("ix_email_messages_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "notification_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("notification_type", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=100), nullable=True),
        sa.Column("resource_id", sa.String(length=36), nullable=True),
        sa.Column("resource", sa.Text(), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_notification_events_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_events")),
    )
    with op.batch_alter_table("notification_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_events_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "notification_policies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("WEBHOOK", "EMAIL", name="notificationchannel", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "notification_types",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "recipients",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("webhook_secret", sa.String(length=200), nullable=True),
        sa.Column("deleted_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_notification_policies_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_policies")),
    )
    with op.batch_alter_table("notification_policies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_policies_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("policy_id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "DELIVERED",
                "FAILED",
                name="deliverystatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column("delivered_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "attempt_log",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_webhook_deliveries_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["notification_events.id"],
            name=op.f("fk_webhook_deliveries_event_id_notification_events"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["notification_policies.id"],
            name=op.f("fk_webhook_deliveries_policy_id_notification_policies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "event_id",
            "policy_id",
            "url",
            name=op.f("uq_webhook_deliveries_event_id_policy_id_url"),
        ),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "ix_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_policy_id"), ["policy_id"], unique=False
        )

    op.create_table(
        "credit_notes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=True),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("billing_schedule_id", sa.String(length=36), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "IN_PROGRESS",
                "DRAFT",
                "FINAL",
                "SENT",
                "VOIDED",
                name="invoicestatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("credit_note_number", sa.String(length=50), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("accounting_date", sa.Date(), nullable=True),
        sa.Column("billing_period_start", sa.Date(), nullable=True),
        sa.Column("billing_period_end", sa.Date(), nullable=True),
        sa.Column("net_total", tally.db.ExactDecimal(), nullable=False),
        sa.Column("total_tax", tally.db.ExactDecimal(), nullable=False),
        sa.Column("gross_total", tally.db.ExactDecimal(), nullable=False),
        sa.Column("purchase_order_number", sa.String(length=200), nullable=True),
        sa.Column("memo", sa.String(length=5000), nullable=True),
        sa.Column("customer_legal_company_name", sa.String(length=500), nullable=False),
        sa.Column(
            "customer_emails",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "customer_billing_address",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "customer_shipping_address",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("customer_tax_id", sa.String(length=100), nullable=True),
        sa.Column(
            "metadata_items",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("generate_cash_credit_grant", sa.String(length=20), nullable=False),
        sa.Column("finalized_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("voided_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("balance", tally.db.ExactDecimal(), nullable=False),
        sa.Column("balance_version", sa.Integer(), nullable=False),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_credit_notes_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_credit_notes_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_credit_notes_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
    )
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_notes_account_customer", ["account_id", "customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_notes_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "ix_credit_notes_account_invoice", ["account_id", "invoice_id"], unique=False
        )

    op.create_table(
        "credit_note_applications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("credit_note_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("amount", tally.db.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("applied_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_credit_note_applications_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["credit_notes.id"],
            name=op.f("fk_credit_note_applications_credit_note_id_credit_notes"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_credit_note_applications_invoice_id_invoices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note_applications")),
    )
    with op.batch_alter_table("credit_note_applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_note_applications_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_note_applications_credit_note_id"),
            ["credit_note_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_credit_note_applications_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "credit_note_line_item_groups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("credit_note_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_line_item_group_id", sa.String(length=36), nullable=True),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("net_total", tally.db.ExactDecimal(), nullable=False),
        sa.Column("total_tax", tally.db.ExactDecimal(), nullable=False),
        sa.Column("gross_total", tally.db.ExactDecimal(), nullable=False),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_credit_note_line_item_groups_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["credit_notes.id"],
            name=op.f("fk_credit_note_line_item_groups_credit_note_id_credit_notes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_line_item_group_id"],
            ["invoice_line_item_groups.id"],
            name=op.f(
                "fk_credit_note_line_item_groups_invoice_line_item_group_id_invoice_line_item_groups"
            ),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note_line_item_groups")),
    )
    with op.batch_alter_table("credit_note_line_item_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_note_line_item_groups_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_note_line_item_groups_credit_note_id"),
            ["credit_note_id"],
            unique=False,
        )

    op.create_table(
        "credit_note_line_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("credit_note_id", sa.String(length=36), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=True),
        sa.Column("invoice_line_item_id", sa.String(length=36), nullable=True),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.String(length=5000), nullable=True),
        sa.Column("quantity", tally.db.ExactDecimal(), nullable=False),
        sa.Column("rate", tally.db.ExactDecimal(), nullable=False),
        sa.Column("rate_display", sa.String(length=20), nullable=False),
        sa.Column("tax_rate", tally.db.ExactDecimal(), nullable=False),
        sa.Column("net_total", tally.db.ExactDecimal(), nullable=False),
        sa.Column("total_tax", tally.db.ExactDecimal(), nullable=False),
        sa.Column("gross_total", tally.db.ExactDecimal(), nullable=False),
        sa.Column("price_id", sa.String(length=36), nullable=True),
        sa.Column("product_id", sa.String(length=36), nullable=True),
        sa.Column("service_period_start", sa.Date(), nullable=True),
        sa.Column("service_period_end", sa.Date(), nullable=True),
        sa.Column(
            "external_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("revenue_recognition_method", sa.String(length=32), nullable=True),
        sa.Column("revenue_classification", sa.String(length=32), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_credit_note_line_items_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["credit_notes.id"],
            name=op.f("fk_credit_note_line_items_credit_note_id_credit_notes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["credit_note_line_item_groups.id"],
            name=op.f("fk_credit_note_line_items_group_id_credit_note_line_item_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_line_item_id"],
            ["invoice_line_items.id"],
            name=op.f("fk_credit_note_line_items_invoice_line_item_id_invoice_line_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note_line_items")),
    )
    with op.batch_alter_table("credit_note_line_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_note_line_items_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_note_line_items_credit_note_id"), ["credit_note_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_note_line_items_group_id"), ["group_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_note_line_items_invoice_line_item_id"),
            ["invoice_line_item_id"],
            unique=False,
        )

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("credit_note_number_prefix", sa.String(length=20), nullable=False)
        )

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("portal_secret", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_customers_portal_secret"), ["portal_secret"]
        )

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "customer_shipping_address",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "payment_options",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "due_date_source",
                sa.Enum("CALCULATED", "MANUAL", name="duedatesource", native_enum=False, length=32),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("finalized_at", tally.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("sent_at", tally.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("voided_at", tally.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("edited_at", tally.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("balance", tally.db.ExactDecimal(), nullable=False))
        batch_op.add_column(sa.Column("balance_version", sa.Integer(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("balance_version")
        batch_op.drop_column("balance")
        batch_op.drop_column("edited_at")
        batch_op.drop_column("voided_at")
        batch_op.drop_column("sent_at")
        batch_op.drop_column("finalized_at")
        batch_op.drop_column("due_date_source")
        batch_op.drop_column("payment_options")
        batch_op.drop_column("customer_shipping_address")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_customers_portal_secret"), type_="unique")
        batch_op.drop_column("portal_secret")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("credit_note_number_prefix")

    with op.batch_alter_table("credit_note_line_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_note_line_items_invoice_line_item_id"))
        batch_op.drop_index(batch_op.f("ix_credit_note_line_items_group_id"))
        batch_op.drop_index(batch_op.f("ix_credit_note_line_items_credit_note_id"))
        batch_op.drop_index(batch_op.f("ix_credit_note_line_items_account_id"))

    op.drop_table("credit_note_line_items")
    with op.batch_alter_table("credit_note_line_item_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_note_line_item_groups_credit_note_id"))
        batch_op.drop_index(batch_op.f("ix_credit_note_line_item_groups_account_id"))

    op.drop_table("credit_note_line_item_groups")
    with op.batch_alter_table("credit_note_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_note_applications_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_credit_note_applications_credit_note_id"))
        batch_op.drop_index(batch_op.f("ix_credit_note_applications_account_id"))

    op.drop_table("credit_note_applications")
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_notes_account_invoice")
        batch_op.drop_index(batch_op.f("ix_credit_notes_account_id"))
        batch_op.drop_index("ix_credit_notes_account_customer")

    op.drop_table("credit_notes")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_policy_id"))
        batch_op.drop_index("ix_webhook_deliveries_due")
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_account_id"))

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("notification_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_policies_account_id"))

    op.drop_table("notification_policies")
    with op.batch_alter_table("notification_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_events_account_id"))

    op.drop_table("notification_events")
    with op.batch_alter_table("email_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_email_messages_due")
        batch_op.drop_index(batch_op.f("ix_email_messages_account_id"))

    op.drop_table("email_messages")
