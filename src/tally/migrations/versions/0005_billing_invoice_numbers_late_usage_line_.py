"""billing: invoice numbers, late usage, line groups

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 20:33:54.517911
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "number_sequences",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("INVOICE", "CREDIT_NOTE", name="documentkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_number_sequences_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "kind", name=op.f("pk_number_sequences")),
    )
    with op.batch_alter_table("billing_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_runs_account_id"))
        batch_op.drop_constraint(
            batch_op.f("uq_billing_runs_billing_schedule_id_invoice_date"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_billing_runs_account_id_billing_schedule_id_invoice_date"),
            ["account_id", "billing_schedule_id", "invoice_date"],
        )

    with op.batch_alter_table("invoice_line_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_line_items_group_id"), ["group_id"], unique=False
        )

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calculation_digest", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_invoices_billing_run_id"), ["billing_run_id"], unique=False
        )

    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_events_received_at", ["received_at"], unique=False, postgresql_using="brin"
        )


def downgrade() -> None:
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_events_received_at", postgresql_using="brin")

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_billing_run_id"))
        batch_op.drop_column("calculation_digest")

    with op.batch_alter_table("invoice_line_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_line_items_group_id"))

    with op.batch_alter_table("billing_runs", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_billing_runs_account_id_billing_schedule_id_invoice_date"),
            type_="unique",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_billing_runs_billing_schedule_id_invoice_date"),
            ["billing_schedule_id", "invoice_date"],
        )
        batch_op.create_index(
            batch_op.f("ix_billing_runs_account_id"), ["account_id"], unique=False
        )

    op.drop_table("number_sequences")
