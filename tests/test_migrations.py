"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tally import migrations
from tally.db import Database
from tally.models import Base


def test_migrated_schema_matches_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_database_is_at_the_newest_migration(database: Database) -> None:
    assert migrations.is_current(database.engine)


def test_upgrading_again_changes_nothing(database: Database) -> None:
    migrations.upgrade(database.engine)
    assert migrations.is_current(database.engine)
