"""payments: refunds kept by the provider's refund id (each recorded once); open attempts
indexed for the reconciliation job

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 09:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tally.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("payment_id", sa.String(length=36), nullable=False),
        sa.Column("provider_refund_id", sa.String(length=255), nullable=False),
        sa.Column("amount", tally.db.ExactDecimal(), nullable=False),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_payment_refunds_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_refunds_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
        sa.UniqueConstraint(
            "account_id",
            "provider_refund_id",
            name=op.f("uq_payment_refunds_account_id_provider_refund_id"),
        ),
    )
    op.create_index(
        "ix_payment_attempts_open", "payment_attempts", ["status", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_payment_attempts_open", table_name="payment_attempts")
    op.drop_table("payment_refunds")
