"""`make lint`: no module reads `dialect.name` outside the dialect layer.

Code that differs between PostgreSQL and SQLite asks `tally.core.sql` (`is_postgres`,
`upsert_insert`, `exact_sum`, `exact_compare`...), so each difference has one home and a
reviewer never has to find the branches. Only `tally/core/`, `tally/db.py`,
`tally/sqlite_functions.py` and `tally/migrations/` (the dialect layer itself) may read it.

Usage: `python scripts/check_dialect.py [PACKAGE_DIR]` (default: src/tally). Prints each
offending `file:line` and exits 1; exits 0 when there is none.
"""

import ast
import sys
from pathlib import Path

ALLOWED = ("core/", "db.py", "sqlite_functions.py", "migrations/")


def _reads_dialect_name(node: ast.AST) -> bool:
    """`<anything>.dialect.name` or `dialect.name` (a variable holding a dialect)."""
    if not isinstance(node, ast.Attribute) or node.attr != "name":
        return False
    owner = node.value
    return (isinstance(owner, ast.Attribute) and owner.attr == "dialect") or (
        isinstance(owner, ast.Name) and owner.id == "dialect"
    )


def violations(package: Path) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative.startswith(ALLOWED) or relative in ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        lines = sorted(node.lineno for node in ast.walk(tree) if _reads_dialect_name(node))
        found += [
            f"{path}:{line}: reads dialect.name; ask tally.core.sql instead" for line in lines
        ]
    return found


def main(argv: list[str]) -> int:
    default = Path(__file__).resolve().parent.parent / "src" / "tally"
    package = Path(argv[1]) if len(argv) > 1 else default
    found = violations(package)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
