"""payment settings: one live row per customer, schedule and invoice; a schedule's payment
provider and autoCharge move to its payment settings row (the one truth)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 10:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import tally.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the column a live row is unique on (per account)
LIVE = {
    "customer_payment_settings": "customer_id",
    "billing_schedule_payment_settings": "billing_schedule_id",
    "invoice_payment_settings": "invoice_id",
}


def upgrade() -> None:
    for table, column in LIVE.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"uq_{table}_account_id_{column}"), type_="unique")
            batch_op.create_index(
                f"uq_{table}_live",
                ["account_id", column],
                unique=True,
                sqlite_where=sa.text("deleted_at IS NULL"),
                postgresql_where=sa.text("deleted_at IS NULL"),
            )
    _move_schedule_columns()
    with op.batch_alter_table("billing_schedules", schema=None) as batch_op:
        batch_op.drop_column("auto_charge")
        batch_op.drop_column("payment_provider")


def _move_schedule_columns() -> None:
    """A schedule created with a paymentProvider gets its settings row. autoCharge without a
    provider said nothing a settings row can hold (a provider is required): left behind."""
    connection = op.get_bind()
    schedules = sa.table(
        "billing_schedules",
        sa.column("id", sa.String),
        sa.column("account_id", sa.String),
        sa.column("payment_provider", sa.String),
        sa.column("auto_charge", sa.Boolean),
    )
    rows = connection.execute(
        sa.select(
            schedules.c.id,
            schedules.c.account_id,
            schedules.c.payment_provider,
            schedules.c.auto_charge,
        ).where(schedules.c.payment_provider.is_not(None))
    ).all()
    if not rows:
        return
    settings = sa.table(
        "billing_schedule_payment_settings",
        sa.column("id", sa.String),
        sa.column("account_id", sa.String),
        sa.column("billing_schedule_id", sa.String),
        sa.column("payment_provider", sa.String),
        sa.column("auto_charge", sa.Boolean),
        sa.column("created_at", tally.db.UTCDateTime(timezone=True)),
        sa.column("updated_at", tally.db.UTCDateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    connection.execute(
        settings.insert(),
        [
            {
                "id": tally.db.new_id(),
                "account_id": row.account_id,
                "billing_schedule_id": row.id,
                "payment_provider": row.payment_provider,
                "auto_charge": bool(row.auto_charge),
                "created_at": now,
                "updated_at": now,
            }
            for row in rows
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("billing_schedules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_provider", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("auto_charge", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    for table, column in LIVE.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"uq_{table}_live")
            batch_op.create_unique_constraint(
                op.f(f"uq_{table}_account_id_{column}"), ["account_id", column]
            )
