"""`scripts/check_dialect.py` (in `make lint`): `dialect.name` is read only in the dialect
layer (tally/core, db.py, sqlite_functions.py, migrations)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "scripts" / "check_dialect.py"


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(CHECK), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_the_tree_reads_the_dialect_only_in_the_dialect_layer() -> None:
    checked = _check()
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
    checked = _check(str(tmp_path))
    assert checked.returncode == 1
    assert checked.stdout.splitlines() == [
        f"{domain}:5: reads dialect.name; ask tally.core.sql instead",
        f"{tmp_path / 'seats.py'}:2: reads dialect.name; ask tally.core.sql instead",
    ]
