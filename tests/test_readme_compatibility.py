"""The README's Sequence compatibility table is the one the schema and the app give today."""

from fastapi import FastAPI

from tests.support.compatibility import DIFFERENCES, NOT_SERVED, README, readme_section, table
from tests.support.sequence_schema import spec


def test_the_readme_table_is_current(app: FastAPI) -> None:
    assert readme_section(README.read_text()) == table(app), (
        "README.md's compatibility table is stale: python -m tests.support.compatibility --write"
    )


def test_differences_name_served_sequence_operations() -> None:
    for method, path in DIFFERENCES:
        assert method in spec()["paths"][path], (method, path)
        assert (method, path) not in NOT_SERVED
