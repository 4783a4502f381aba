"""`scripts/check_dialect.py` (in `make lint`): `dialect.name` is read only in the dialect
layer (tally/core, db.py, sqlite_functions.py, migrations)."""

from pathlib import Path

from tests.support.conventions import run_check


def test_the_tree_reads_the_dialect_only_in_the_dialect_layer() -> None:
    checked = run_check("dialect")
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout == ""


def test_a_branch_on_the_dialect_in_a_domain_fails_naming_its_line(tmp_path: Path) -> None:
    branch = 'def insert(session):\n    return session.get_bind().dialect.name == "postgresql"\n'
    for allowed in ("core/sql.py", "db.py", "sqlite_functions.py", "migrations/env.py"):
        (tmp_path / allowed).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / allowed).write_text(branch)
    domain = tmp_path / "metering" / "ingest.py"
    domain.parent.mkdir()
    domain.write_text("import json\n\n\n" + branch)
    (tmp_path / "seats.py").write_text("def f(dialect):\n    return dialect.name\n")
    checked = run_check("dialect", str(tmp_path))
    assert checked.returncode == 1
    assert checked.stdout.splitlines() == [
        f"{domain}:5: reads dialect.name; ask tally.core.sql instead",
        f"{tmp_path / 'seats.py'}:2: reads dialect.name; ask tally.core.sql instead",
    ]
