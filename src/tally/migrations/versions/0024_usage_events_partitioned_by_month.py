"""usage events partitioned by month (PostgreSQL), their keys apart, retired months

On PostgreSQL `usage_events` becomes a table partitioned by month of `event_timestamp` (its
rows and ids kept): one partition per month that holds events, the current month and the
next three, and a DEFAULT partition; partitions live in the schema `tally_partitions`. A
unique index on a partitioned table must include the partition key, so the idempotency key
(account, customer_event_id) moves to `usage_event_keys`. SQLite is not partitioned; it gets
the same keys table, so ingestion runs one way on both.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 21:20:00
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tally.db

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "tally_partitions"
AHEAD = 3


def _event_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_event_id", sa.Text(), nullable=False),
        sa.Column("customer_alias", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("event_timestamp", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("received_at", tally.db.UTCDateTime(timezone=True), nullable=False),
    ]


COLUMNS = (
    "id, account_id, customer_event_id, customer_alias, event_type, event_timestamp, "
    "properties, received_at"
)


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _create_indexes() -> None:
    op.create_index(
        "ix_usage_events_account_alias_type_time",
        "usage_events",
        ["account_id", "customer_alias", "event_type", "event_timestamp"],
    )
    op.create_index(
        "ix_usage_events_received_at", "usage_events", ["received_at"], postgresql_using="brin"
    )


def _create_keys_and_retirements() -> None:
    op.create_table(
        "usage_event_keys",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_event_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "customer_event_id", name=op.f("pk_usage_event_keys")
        ),
    )
    op.create_table(
        "usage_event_retirements",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("exported_to", sa.Text(), nullable=False),
        sa.Column("retired_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_usage_event_retirements")),
    )


def upgrade() -> None:
    _create_keys_and_retirements()
    if op.get_bind().dialect.name != "postgresql":
        op.execute(
            "INSERT INTO usage_event_keys (account_id, customer_event_id, event_id) "
            "SELECT account_id, customer_event_id, id FROM usage_events"
        )
        with op.batch_alter_table("usage_events", schema=None) as batch_op:
            batch_op.drop_constraint("uq_usage_events_account_id_customer_event_id", "unique")
            batch_op.drop_constraint("pk_usage_events", "primary")
            batch_op.create_primary_key("pk_usage_events", ["id", "event_timestamp"])
        return
    _upgrade_postgres()


def _upgrade_postgres() -> None:
    connection = op.get_bind()
    op.rename_table("usage_events", "usage_events_unpartitioned")
    for name in (
        "pk_usage_events",
        "uq_usage_events_account_id_customer_event_id",
    ):
        op.execute(f"ALTER TABLE usage_events_unpartitioned RENAME CONSTRAINT {name} TO old_{name}")
    for name in ("ix_usage_events_account_alias_type_time", "ix_usage_events_received_at"):
        op.execute(f"ALTER INDEX {name} RENAME TO old_{name}")
    op.create_table(
        "usage_events",
        *_event_columns(),
        sa.PrimaryKeyConstraint("id", "event_timestamp", name=op.f("pk_usage_events")),
        postgresql_partition_by="RANGE (event_timestamp)",
    )
    _create_indexes()
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    op.execute(f"CREATE TABLE {SCHEMA}.usage_events_default PARTITION OF usage_events DEFAULT")
    months = set(
        connection.scalars(
            sa.text(
                "SELECT DISTINCT (date_trunc('month', event_timestamp AT TIME ZONE 'UTC'))::date "
                "FROM usage_events_unpartitioned"
            )
        )
    )
    month = datetime.now(UTC).date().replace(day=1)
    for _ in range(AHEAD + 1):
        months.add(month)
        month = _next(month)
    for month in sorted(months):
        op.execute(
            f"CREATE TABLE {SCHEMA}.usage_events_p{month:%Y_%m} PARTITION OF usage_events "
            f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') "
            f"TO ('{_next(month).isoformat()} 00:00:00+00')"
        )
    # In arrival order, so the BRIN index on received_at stays narrow.
    copy = f"INSERT INTO usage_events ({COLUMNS}) SELECT {COLUMNS} FROM usage_events_unpartitioned"  # noqa: S608
    op.execute(f"{copy} ORDER BY received_at")
    op.execute(
        "INSERT INTO usage_event_keys (account_id, customer_event_id, event_id) "
        "SELECT account_id, customer_event_id, id FROM usage_events_unpartitioned"
    )
    op.drop_table("usage_events_unpartitioned")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table("usage_events", schema=None) as batch_op:
            batch_op.drop_constraint("pk_usage_events", "primary")
            batch_op.create_primary_key("pk_usage_events", ["id"])
            batch_op.create_unique_constraint(
                "uq_usage_events_account_id_customer_event_id", ["account_id", "customer_event_id"]
            )
    else:
        op.rename_table("usage_events", "usage_events_partitioned")
        op.execute("ALTER TABLE usage_events_partitioned RENAME CONSTRAINT pk_usage_events TO old")
        for name in ("ix_usage_events_account_alias_type_time", "ix_usage_events_received_at"):
            op.execute(f"ALTER INDEX {name} RENAME TO old_{name}")
        op.create_table(
            "usage_events",
            *_event_columns(),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_events")),
            sa.UniqueConstraint(
                "account_id",
                "customer_event_id",
                name=op.f("uq_usage_events_account_id_customer_event_id"),
            ),
        )
        _create_indexes()
        op.execute(
            f"INSERT INTO usage_events ({COLUMNS}) SELECT {COLUMNS} FROM usage_events_partitioned"  # noqa: S608
        )
        op.drop_table("usage_events_partitioned")
        op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    op.drop_table("usage_event_retirements")
    op.drop_table("usage_event_keys")
