"""`make lint`: the dashboard and the portal are presentation only; they read through the
domains' `queries.py` (and services), never with queries of their own.

Fails, naming file:line, where a module under src/tally/dashboard or src/tally/portal calls
`select(...)`, `session.execute`, `session.scalars`, `session.scalar` or `session.get`, or
imports anything from SQLAlchemy but the `Session` type (and `Select`, the type of a domain's
statement a page hands to `paginate`). The modules in EXCEPTIONS own tables of their own or
are the portal's read layer; each says why.

Usage: python scripts/check_presentation.py [root]  (root: the repository, by default this
script's parent directory's parent).
"""

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PRESENTATION = ("src/tally/dashboard", "src/tally/portal")
SESSION_READS = frozenset({"execute", "scalars", "scalar", "get"})
# What a page may name from SQLAlchemy: types, which build no query.
ALLOWED_IMPORTS = {"sqlalchemy": frozenset({"Select"}), "sqlalchemy.orm": frozenset({"Session"})}

# Files, relative to the root, with the reason.
EXCEPTIONS = {
    "src/tally/dashboard/sessions.py": (
        "the dashboard's sign-in sessions: owns dashboard_sessions (creates, checks, revokes)"
    ),
    "src/tally/dashboard/users.py": (
        "merchant users: owns merchant_users (passwords, creation), a service kept beside its pages"
    ),
    "src/tally/portal/access.py": (
        "who looks at the portal: one statement finds the viewer with the cache's data version"
    ),
    "src/tally/portal/sessions.py": "portal sessions: owns portal_sessions (issues, revokes)",
    "src/tally/portal/settings.py": "portal settings: owns portal_settings (reads, saves)",
    "src/tally/portal/versions.py": "the portal cache's data version, SQL beside the viewer's",
}
# The portal's read models (`portal/data/`, one module per area) that still query themselves:
# to move into the domains' queries.py, each leaving this list as it goes.
EXCEPTIONS |= {
    f"src/tally/portal/data/{name}.py": "a portal read model not yet moved into a domain"
    for name in (
        "breakdown",
        "credits",
        "invoices",
        "rollups",
        "series",
        "subscriptions",
    )
}


def _call(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name) and func.id == "select":
        return "calls select(): ask the domain's queries.py"
    if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Name):
        return None
    if func.attr == "select" and func.value.id in {"sa", "sqlalchemy"}:
        return "calls select(): ask the domain's queries.py"
    if func.attr in SESSION_READS and func.value.id == "session":
        return f"calls session.{func.attr}: ask the domain's queries.py"
    return None


def _imports(node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == "sqlalchemy" or alias.name.startswith("sqlalchemy."):
                yield f"imports {alias.name}: ask the domain's queries.py"
        return
    module = node.module or ""
    if module == "sqlalchemy" or module.startswith("sqlalchemy."):
        allowed = ALLOWED_IMPORTS.get(module, frozenset())
        for alias in node.names:
            if alias.name not in allowed:
                yield f"imports {alias.name} from {module}: ask the domain's queries.py"


def _problems(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (what := _call(node)) is not None:
            yield node.lineno, what
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for what in _imports(node):
                yield node.lineno, what


def check(root: Path) -> list[str]:
    """'file:line: what' for every query a presentation module makes of its own."""
    found = []
    for folder in PRESENTATION:
        for path in sorted((root / folder).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if relative in EXCEPTIONS:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
            found += [f"{relative}:{line}: {what}" for line, what in sorted(set(_problems(tree)))]
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    found = check(root)
    for line in found:
        print(line)
    if found:
        print(
            f"{len(found)} queries in presentation modules: the dashboard and the portal read "
            "through the domains' queries.py (scripts/check_presentation.py)"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
