"""The schema against `tally.models.distribution`: every table carries `account_id` and every
unique key (primary keys, unique constraints, unique indexes) leads with it, except what is
listed there with why; nothing listed is stale; ARCHITECTURE.md names each exception."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Table, UniqueConstraint

from tally.models import Base
from tally.models.distribution import GLOBAL_KEYS, ID_PRIMARY_KEY, UNKEYED_TABLES

ARCHITECTURE = Path(__file__).resolve().parents[2] / "ARCHITECTURE.md"


def _unique_keys(table: Table) -> set[tuple[str, ...]]:
    keys = {tuple(column.name for column in table.primary_key.columns)}
    keys |= {
        tuple(column.name for column in constraint.columns)
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint)
    }
    keys |= {
        tuple(column.name for column in index.columns) for index in table.indexes if index.unique
    }
    return {key for key in keys if key}


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def test_every_table_has_the_tenant_key_or_says_why_not() -> None:
    unkeyed = {table.name for table in _tables() if "account_id" not in table.c}
    assert unkeyed == set(UNKEYED_TABLES)


def test_every_unique_key_leads_with_the_tenant_key_or_says_why_not() -> None:
    found = {
        (table.name, key)
        for table in _tables()
        for key in _unique_keys(table)
        if key[0] != "account_id" and key != ID_PRIMARY_KEY
    }
    assert found == set(GLOBAL_KEYS)


def test_every_table_keyed_by_id_alone_is_a_tenant_table() -> None:
    """An `id` primary key is exempt because ids are unique across accounts and the table has
    the tenant key to pair it with: a table keyed by `id` without account_id breaks that."""
    by_id = {
        table.name
        for table in _tables()
        if tuple(column.name for column in table.primary_key.columns) == ID_PRIMARY_KEY
    }
    assert not {name for name in by_id if name in UNKEYED_TABLES} - {"accounts"}


def test_architecture_names_each_exception() -> None:
    text = ARCHITECTURE.read_text()
    section = text[text.index("## Running at scale") :]
    missing = [name for name in UNKEYED_TABLES if f"`{name}`" not in section]
    missing += [f"{table}.{key}" for table, key in GLOBAL_KEYS if f"`{table}`" not in section]
    assert not missing
