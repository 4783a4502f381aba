"""billing: prices, schedules, runs, invoices

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 19:40:10.943038
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tally.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "billing_schedules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "DRAFT",
                "PENDING",
                "ACTIVE",
                "SUSPENDED",
                "CANCELLED",
                "COMPLETED",
                name="schedulestatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("recurrence_day_of_month", sa.Integer(), nullable=True),
        sa.Column("auto_issue_invoices", sa.Boolean(), nullable=False),
        sa.Column("roll_up_billing", sa.Boolean(), nullable=False),
        sa.Column("default_due_date_days", sa.Integer(), nullable=True),
        sa.Column("purchase_order_number", sa.String(length=200), nullable=True),
        sa.Column("reference", sa.String(length=500), nullable=True),
        sa.Column("label", sa.String(length=500), nullable=True),
        sa.Column("memo", sa.String(length=5000), nullable=True),
        sa.Column("payment_provider", sa.String(length=20), nullable=True),
        sa.Column("auto_charge", sa.Boolean(), nullable=False),
        sa.Column(
            "custom_fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "integration_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("archived_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("billed_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_billing_schedules_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_billing_schedules_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_schedules")),
    )
    with op.batch_alter_table("billing_schedules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_billing_schedules_account_customer", ["account_id", "customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_billing_schedules_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_billing_schedules_billed_at"), ["billed_at"], unique=False
        )

    op.create_table(
        "prices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "billing_frequency",
            sa.Enum(
                "ONE_TIME",
                "MONTHLY",
                "QUARTERLY",
                "HALF_YEARLY",
                "YEARLY",
                "ON_DEMAND",
                "PER_EVENT",
                name="billingfrequency",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "billing_type",
            sa.Enum("IN_ADVANCE", "IN_ARREARS", name="billingtype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "pricing_type",
            sa.Enum(
                "ONE_TIME",
                "FIXED",
                "LINEAR",
                "PACKAGE",
                "VOLUME",
                "GRADUATED",
                "SEAT_BASED",
                name="pricingtype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "structure",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("usage_metric_id", sa.String(length=36), nullable=True),
        sa.Column("seat_metric_id", sa.String(length=36), nullable=True),
        sa.Column(
            "usage_calculation_period",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "integration_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "custom_metric_parameters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("list_price_id", sa.String(length=36), nullable=True),
        sa.Column(
            "status",
            sa.Enum("DRAFT", "ACTIVE", name="pricestatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("deleted_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_prices_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_prices_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["seat_metric_id"],
            ["seat_metrics.id"],
            name=op.f("fk_prices_seat_metric_id_seat_metrics"),
        ),
        sa.ForeignKeyConstraint(
            ["usage_metric_id"],
            ["usage_metrics.id"],
            name=op.f("fk_prices_usage_metric_id_usage_metrics"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prices")),
    )
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prices_account_id"), ["account_id"], unique=False)
        batch_op.create_index(
            "ix_prices_account_product", ["account_id", "product_id"], unique=False
        )

    op.create_table(
        "billing_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("billing_schedule_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("billing_period_start", sa.Date(), nullable=False),
        sa.Column("billing_period_end", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "SCHEDULED",
                "IN_PROGRESS",
                "COMPLETED",
                "FAILED",
                name="billingrunstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("invoice_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_billing_runs_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["billing_schedule_id"],
            ["billing_schedules.id"],
            name=op.f("fk_billing_runs_billing_schedule_id_billing_schedules"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_runs")),
        sa.UniqueConstraint(
            "billing_schedule_id",
            "invoice_date",
            name=op.f("uq_billing_runs_billing_schedule_id_invoice_date"),
        ),
    )
    with op.batch_alter_table("billing_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_runs_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "billing_schedule_phases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("billing_schedule_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("external_contract_ref", sa.String(length=500), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column(
            "recurrence_preference",
            sa.Enum(
                "CONTINUE_FROM_PREVIOUS_PHASE",
                "RESET",
                name="recurrencepreference",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "phase_price_metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_billing_schedule_phases_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["billing_schedule_id"],
            ["billing_schedules.id"],
            name=op.f("fk_billing_schedule_phases_billing_schedule_id_billing_schedules"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_schedule_phases")),
    )
    with op.batch_alter_table("billing_schedule_phases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_schedule_phases_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_billing_schedule_phases_billing_schedule_id"),
            ["billing_schedule_id"],
            unique=False,
        )

    op.create_table(
        "billing_schedule_tax_rates",
        sa.Column("billing_schedule_id", sa.String(length=36), nullable=False),
        sa.Column("price_id", sa.String(length=36), nullable=False),
        sa.Column("tax_rate_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["billing_schedule_id"],
            ["billing_schedules.id"],
            name=op.f("fk_billing_schedule_tax_rates_billing_schedule_id_billing_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["price_id"], ["prices.id"], name=op.f("fk_billing_schedule_tax_rates_price_id_prices")
        ),
        sa.ForeignKeyConstraint(
            ["tax_rate_id"],
            ["tax_rates.id"],
            name=op.f("fk_billing_schedule_tax_rates_tax_rate_id_tax_rates"),
        ),
        sa.PrimaryKeyConstraint(
            "billing_schedule_id", "price_id", name=op.f("pk_billing_schedule_tax_rates")
        ),
    )
    op.create_table(
        "billing_schedule_discounts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("billing_schedule_id", sa.String(length=36), nullable=False),
        sa.Column("phase_id", sa.String(length=36), nullable=False),
        sa.Column(
            "type",
            sa.Enum("PERCENTAGE", "NOMINAL", name="discounttype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("amount", tally.db.ExactDecimal(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("separate_line_item", sa.Boolean(), nullable=False),
        sa.Column(
            "restrict_to_prices",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "seat_discount_type",
            sa.Enum(
                "INCLUDED_SEATS_ONLY",
                "OVERAGE_SEATS_ONLY",
                "ALL_SEATS",
                name="seatdiscounttype",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_billing_schedule_discounts_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["billing_schedule_id"],
            ["billing_schedules.id"],
            name=op.f("fk_billing_schedule_discounts_billing_schedule_id_billing_schedules"),
        ),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["billing_schedule_phases.id"],
            name=op.f("fk_billing_schedule_discounts_phase_id_billing_schedule_phases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_schedule_discounts")),
    )
    with op.batch_alter_table("billing_schedule_discounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_schedule_discounts_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_billing_schedule_discounts_billing_schedule_id"),
            ["billing_schedule_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_billing_schedule_discounts_phase_id"), ["phase_id"], unique=False
        )

    op.create_table(
        "billing_schedule_minimums",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("billing_schedule_id", sa.String(length=36), nullable=False),
        sa.Column("phase_id", sa.String(length=36), nullable=False),
        sa.Column("amount", tally.db.ExactDecimal(), nullable=False),
        sa.Column(
            "restrict_to_prices",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_billing_schedule_minimums_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["billing_schedule_id"],
            ["billing_schedules.id"],
            name=op.f("fk_billing_schedule_minimums_billing_schedule_id_billing_schedules"),
        ),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["billing_schedule_phases.id"],
            name=op.f("fk_billing_schedule_minimums_phase_id_billing_schedule_phases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_schedule_minimums")),
    )
    with op.batch_alter_table("billing_schedule_minimums", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_schedule_minimums_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_billing_schedule_minimums_billing_schedule_id"),
            ["billing_schedule_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_billing_schedule_minimums_phase_id"), ["phase_id"], unique=False
        )

    op.create_table(
        "billing_schedule_phase_prices",
        sa.Column("phase_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("price_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["billing_schedule_phases.id"],
            name=op.f("fk_billing_schedule_phase_prices_phase_id_billing_schedule_phases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["price_id"],
            ["prices.id"],
            name=op.f("fk_billing_schedule_phase_prices_price_id_prices"),
        ),
        sa.PrimaryKeyConstraint(
            "phase_id", "position", name=op.f("pk_billing_schedule_phase_prices")
        ),
        sa.UniqueConstraint(
            "phase_id", "price_id", name=op.f("uq_billing_schedule_phase_prices_phase_id_price_id")
        ),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("billing_schedule_id", sa.String(length=36), nullable=True),
        sa.Column("billing_run_id", sa.String(length=36), nullable=True),
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
        sa.Column(
            "payment_status",
            sa.Enum(
                "UNPAID",
                "PARTIALLY_PAID",
                "PAID",
                "UNCOLLECTIBLE",
                name="paymentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("invoice_number", sa.String(length=50), nullable=True),
        sa.Column("invoice_date", sa.Date(), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("billing_period_start", sa.Date(), nullable=True),
        sa.Column("billing_period_end", sa.Date(), nullable=True),
        sa.Column("accounting_date", sa.Date(), nullable=False),
        sa.Column("net_total", tally.db.ExactDecimal(), nullable=False),
        sa.Column("total_tax", tally.db.ExactDecimal(), nullable=False),
        sa.Column("gross_total", tally.db.ExactDecimal(), nullable=False),
        sa.Column("purchase_order_number", sa.String(length=200), nullable=True),
        sa.Column("reference", sa.String(length=500), nullable=True),
        sa.Column("memo", sa.String(length=5000), nullable=True),
        sa.Column("payment_term_days", sa.Integer(), nullable=True),
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
        sa.Column("customer_tax_status", sa.String(length=32), nullable=False),
        sa.Column(
            "metadata_items",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("calculated_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_invoices_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["billing_run_id"],
            ["billing_runs.id"],
            name=op.f("fk_invoices_billing_run_id_billing_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["billing_schedule_id"],
            ["billing_schedules.id"],
            name=op.f("fk_invoices_billing_schedule_id_billing_schedules"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_invoices_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invoices_account_customer", ["account_id", "customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_invoices_account_id"), ["account_id"], unique=False)
        batch_op.create_index(
            "ix_invoices_account_schedule", ["account_id", "billing_schedule_id"], unique=False
        )
        batch_op.create_index("ix_invoices_account_status", ["account_id", "status"], unique=False)

    op.create_table(
        "invoice_line_item_groups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("product_id", sa.String(length=36), nullable=True),
        sa.Column("net_total", tally.db.ExactDecimal(), nullable=False),
        sa.Column("total_tax", tally.db.ExactDecimal(), nullable=False),
        sa.Column("gross_total", tally.db.ExactDecimal(), nullable=False),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_invoice_line_item_groups_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_line_item_groups_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_line_item_groups")),
    )
    with op.batch_alter_table("invoice_line_item_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_line_item_groups_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_invoice_line_item_groups_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "invoice_line_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=True),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "PRICE",
                "DISCOUNT",
                "MINIMUM",
                "CREDIT",
                "MANUAL",
                name="linekind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.String(length=5000), nullable=True),
        sa.Column("quantity", tally.db.ExactDecimal(), nullable=False),
        sa.Column("rate", tally.db.ExactDecimal(), nullable=False),
        sa.Column("rate_display", sa.String(length=20), nullable=False),
        sa.Column("tax_rate", tally.db.ExactDecimal(), nullable=False),
        sa.Column("tax_rate_version_id", sa.String(length=36), nullable=True),
        sa.Column("net_total", tally.db.ExactDecimal(), nullable=False),
        sa.Column("total_tax", tally.db.ExactDecimal(), nullable=False),
        sa.Column("gross_total", tally.db.ExactDecimal(), nullable=False),
        sa.Column("price_id", sa.String(length=36), nullable=True),
        sa.Column("product_id", sa.String(length=36), nullable=True),
        sa.Column("service_period_start", sa.Date(), nullable=True),
        sa.Column("service_period_end", sa.Date(), nullable=True),
        sa.Column(
            "breakdown",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_invoice_line_items_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["invoice_line_item_groups.id"],
            name=op.f("fk_invoice_line_items_group_id_invoice_line_item_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_line_items_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_line_items")),
    )
    with op.batch_alter_table("invoice_line_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_line_items_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_invoice_line_items_invoice_id"), ["invoice_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("invoice_line_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_line_items_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_line_items_account_id"))

    op.drop_table("invoice_line_items")
    with op.batch_alter_table("invoice_line_item_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_line_item_groups_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_line_item_groups_account_id"))

    op.drop_table("invoice_line_item_groups")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_account_status")
        batch_op.drop_index("ix_invoices_account_schedule")
        batch_op.drop_index(batch_op.f("ix_invoices_account_id"))
        batch_op.drop_index("ix_invoices_account_customer")

    op.drop_table("invoices")
    op.drop_table("billing_schedule_phase_prices")
    with op.batch_alter_table("billing_schedule_minimums", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_schedule_minimums_phase_id"))
        batch_op.drop_index(batch_op.f("ix_billing_schedule_minimums_billing_schedule_id"))
        batch_op.drop_index(batch_op.f("ix_billing_schedule_minimums_account_id"))

    op.drop_table("billing_schedule_minimums")
    with op.batch_alter_table("billing_schedule_discounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_schedule_discounts_phase_id"))
        batch_op.drop_index(batch_op.f("ix_billing_schedule_discounts_billing_schedule_id"))
        batch_op.drop_index(batch_op.f("ix_billing_schedule_discounts_account_id"))

    op.drop_table("billing_schedule_discounts")
    op.drop_table("billing_schedule_tax_rates")
    with op.batch_alter_table("billing_schedule_phases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_schedule_phases_billing_schedule_id"))
        batch_op.drop_index(batch_op.f("ix_billing_schedule_phases_account_id"))

    op.drop_table("billing_schedule_phases")
    with op.batch_alter_table("billing_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_runs_account_id"))

    op.drop_table("billing_runs")
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.drop_index("ix_prices_account_product")
        batch_op.drop_index(batch_op.f("ix_prices_account_id"))

    op.drop_table("prices")
    with op.batch_alter_table("billing_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_schedules_billed_at"))
        batch_op.drop_index(batch_op.f("ix_billing_schedules_account_id"))
        batch_op.drop_index("ix_billing_schedules_account_customer")

    op.drop_table("billing_schedules")
