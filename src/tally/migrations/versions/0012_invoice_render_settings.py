"""invoice render settings: what each account's invoice PDFs show

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-07 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tally.db

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invoice_render_settings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column(
            "payment_link_display",
            sa.Enum(
                "SHOW_PAYMENT_LINK",
                "HIDE_PAYMENT_LINK",
                name="paymentlinkdisplay",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "currency_conversion_display",
            sa.Enum(
                "SHOW_CURRENCY_CONVERSION",
                "HIDE_CURRENCY_CONVERSION",
                name="currencyconversiondisplay",
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
            name=op.f("fk_invoice_render_settings_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_render_settings")),
        sa.UniqueConstraint("account_id", name=op.f("uq_invoice_render_settings_account_id")),
    )


def downgrade() -> None:
    op.drop_table("invoice_render_settings")
