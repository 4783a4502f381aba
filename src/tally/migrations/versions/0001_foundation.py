"""foundation: accounts, customers, products, tax rates

Revision ID: 0001
Revises:
Create Date: 2026-11-21 18:21:44.452012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tally.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("company_number", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("invoice_number_prefix", sa.String(length=20), nullable=False),
        sa.Column("payment_terms_days", sa.Integer(), nullable=False),
        sa.Column(
            "address",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("logo_url", sa.String(length=2000), nullable=True),
        sa.Column("send_customer_notifications", sa.Boolean(), nullable=False),
        sa.Column(
            "alert_email_addresses",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("revoked_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_api_keys_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key", name=op.f("uq_api_keys_key")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_account_id"), ["account_id"], unique=False)

    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("legal_name", sa.String(length=500), nullable=False),
        sa.Column(
            "address",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("label", sa.String(length=500), nullable=True),
        sa.Column("telephone", sa.String(length=100), nullable=True),
        sa.Column(
            "tax_status",
            sa.Enum(
                "TAXED",
                "TAX_EXEMPT",
                "REVERSE_CHARGED",
                name="taxstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("ACTIVE", "DRAFT", name="customerstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "integration_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "custom_properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("archived_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_customers_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["customers.id"], name=op.f("fk_customers_parent_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_customers_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("completed_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_idempotency_records_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint(
            "account_id", "key", name=op.f("uq_idempotency_records_account_id_key")
        ),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=True),
        sa.Column("tax_category_id", sa.String(length=36), nullable=True),
        sa.Column("archived_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_products_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_account_id"), ["account_id"], unique=False)

    op.create_table(
        "tax_rates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("archived_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_tax_rates_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_rates")),
    )
    with op.batch_alter_table("tax_rates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tax_rates_account_id"), ["account_id"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column(
            "billing_preference",
            sa.Enum(
                "PRIMARY",
                "STANDARD",
                "NONE",
                name="billingpreference",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("archived_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_contacts_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_contacts_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "customer_aliases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=True),
        sa.Column("deleted_at", tally.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_customer_aliases_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_aliases_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_aliases")),
    )
    with op.batch_alter_table("customer_aliases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_aliases_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_aliases_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "uq_customer_aliases_account_value",
            ["account_id", "value"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "customer_organizations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_customer_organizations_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["customers.id"],
            name=op.f("fk_customer_organizations_owner_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_organizations")),
        sa.UniqueConstraint("owner_id", name=op.f("uq_customer_organizations_owner_id")),
    )
    with op.batch_alter_table("customer_organizations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_organizations_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "tax_rate_versions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("tax_rate_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("invoice_name", sa.String(length=500), nullable=False),
        sa.Column("invoice_short_name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("amount", tally.db.ExactDecimal(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=200), nullable=True),
        sa.Column("tax_category_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tally.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_tax_rate_versions_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["tax_rate_id"],
            ["tax_rates.id"],
            name=op.f("fk_tax_rate_versions_tax_rate_id_tax_rates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_rate_versions")),
        sa.UniqueConstraint(
            "tax_rate_id", "version", name=op.f("uq_tax_rate_versions_tax_rate_id_version")
        ),
    )
    with op.batch_alter_table("tax_rate_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tax_rate_versions_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tax_rate_versions_tax_rate_id"), ["tax_rate_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("tax_rate_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tax_rate_versions_tax_rate_id"))
        batch_op.drop_index(batch_op.f("ix_tax_rate_versions_account_id"))

    op.drop_table("tax_rate_versions")
    with op.batch_alter_table("customer_organizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_organizations_account_id"))

    op.drop_table("customer_organizations")
    with op.batch_alter_table("customer_aliases", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_customer_aliases_account_value",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_customer_aliases_customer_id"))
        batch_op.drop_index(batch_op.f("ix_customer_aliases_account_id"))

    op.drop_table("customer_aliases")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_customer_id"))
        batch_op.drop_index(batch_op.f("ix_contacts_account_id"))

    op.drop_table("contacts")
    with op.batch_alter_table("tax_rates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tax_rates_account_id"))

    op.drop_table("tax_rates")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_account_id"))

    op.drop_table("products")
    op.drop_table("idempotency_records")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_parent_id"))
        batch_op.drop_index(batch_op.f("ix_customers_account_id"))

    op.drop_table("customers")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_account_id"))

    op.drop_table("api_keys")
    op.drop_table("accounts")
