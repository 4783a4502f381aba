"""list prices (catalog templates that phases turn into price variants); discounts' validity
window and soft deletion (DELETE /discounts/{id})

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 06:17:51.721677
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tally.db

revision: str = "0011"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "list_prices",
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
        sa.Column("archived_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_list_prices_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_list_prices_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["seat_metric_id"],
            ["seat_metrics.id"],
            name=op.f("fk_list_prices_seat_metric_id_seat_metrics"),
        ),
        sa.ForeignKeyConstraint(
            ["usage_metric_id"],
            ["usage_metrics.id"],
            name=op.f("fk_list_prices_usage_metric_id_usage_metrics"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_prices")),
    )
    with op.batch_alter_table("list_prices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_list_prices_account_id"), ["account_id"], unique=False)
        batch_op.create_index(
            "ix_list_prices_account_product", ["account_id", "product_id"], unique=False
        )

    with op.batch_alter_table("billing_schedule_discounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("valid_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("valid_to", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("deleted_at", tally.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("billing_schedule_discounts", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("valid_to")
        batch_op.drop_column("valid_from")

    with op.batch_alter_table("list_prices", schema=None) as batch_op:
        batch_op.drop_index("ix_list_prices_account_product")
        batch_op.drop_index(batch_op.f("ix_list_prices_account_id"))

    op.drop_table("list_prices")
