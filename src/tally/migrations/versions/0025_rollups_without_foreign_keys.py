"""usage rollups without foreign keys: the ingestion path's per-row checks

Every rollup row a batch appends was checked against `usage_metrics` and `accounts`, each
check a row lock (FOR KEY SHARE) on the same metric and account rows for every batch of
the account: a third of PostgreSQL's work per event, and lock traffic between concurrent
batches. `usage_events` has carried no foreign key for the same reason since it was made;
metrics and accounts are never deleted (metrics are archived), so nothing is lost.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08 00:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = {
    "usage_rollups": (
        "fk_usage_rollups_account_id_accounts",
        "fk_usage_rollups_metric_id_usage_metrics",
    ),
    "usage_rollup_values": (
        "fk_usage_rollup_values_account_id_accounts",
        "fk_usage_rollup_values_metric_id_usage_metrics",
    ),
}


def upgrade() -> None:
    for table, keys in _KEYS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for key in keys:
                batch_op.drop_constraint(key, type_="foreignkey")


def downgrade() -> None:
    for table, (account_key, metric_key) in _KEYS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(account_key, "accounts", ["account_id"], ["id"])
            batch_op.create_foreign_key(
                metric_key, "usage_metrics", ["metric_id"], ["id"], ondelete="CASCADE"
            )
