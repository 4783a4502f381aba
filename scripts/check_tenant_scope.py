"""`make lint`: every query over a tenant table names an account.

Every row of a tenant table carries `account_id`; a read or write that forgets it is how one
merchant sees another's data. A function that selects, updates, deletes or gets rows of a
tenant model (`models.base.TenantMixin`) must name an account somewhere in its body: the
`account_id` column or variable, or the tenant-scoped base (`scoped`, `scoped_get`). The few
functions that rightly work by ids another query of the same account produced, or across
accounts by design, are listed below with the reason.

Usage: `python scripts/check_tenant_scope.py [PACKAGE_DIR]` (default: src/tally). Prints each
offending `file:line` and exits 1; exits 0 when there is none.
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from tally import models  # noqa: E402
from tally.models.base import TenantMixin  # noqa: E402

TENANT_MODELS = frozenset(
    name
    for name in dir(models)
    if isinstance(getattr(models, name), type) and issubclass(getattr(models, name), TenantMixin)
)
STATEMENTS = ("select", "update", "delete")
ACCOUNT_NAMES = ("account_id", "scoped", "scoped_get")

# "path/inside/tally.py:function": why it names no account.
EXEMPT = {
    "billing/terms.py:_phases": "schedule ids the run read from the account's schedules",
    "billing/writing.py:_delete_lines": "ids of the account's invoices the run holds",
    "billing/writing.py:_delete_invoices": "ids of the account's invoices the run holds",
    "billing/writing.py:write_invoices": "rows of the account's invoices the run holds",
    "billing/writing.py:flush": "rows the run built for the account, by primary key",
    "billing/writing.py:mark_schedules": "ids of the account's schedules the run billed",
    "invoices/lifecycle.py:_delete_invoices": "ids of the account's invoices, read scoped",
    "dashboard/sessions.py:sign_out": "the signed-in viewer's own session, by its token",
    "dashboard/users.py:find_user": "sign-in: an email is unique across accounts",
    "payments/connections.py:check_secret_key": "at start: is any account's key stored",
}


def _queried_models(call: ast.Call) -> set[str]:
    """Tenant models a `select(...)`, `update(M)`, `delete(M)` or `session.get(M, id)` reads."""
    function = call.func
    name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
    if not call.args:
        return set()
    if name in STATEMENTS:
        return {n.id for n in ast.walk(call.args[0]) if isinstance(n, ast.Name)} & TENANT_MODELS
    first = call.args[0]
    if name == "get" and isinstance(first, ast.Name) and first.id in TENANT_MODELS:
        return {first.id}
    return set()


def _names_an_account(function: ast.AST) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Attribute) and node.attr in ACCOUNT_NAMES:
            return True
        if isinstance(node, ast.Name) and node.id in ACCOUNT_NAMES:
            return True
        if isinstance(node, ast.keyword) and node.arg in ACCOUNT_NAMES:
            return True
    return False


def violations(package: Path) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if f"{relative}:{function.name}" in EXEMPT or _names_an_account(function):
                continue
            for call in ast.walk(function):
                if isinstance(call, ast.Call) and (queried := _queried_models(call)):
                    found.append(
                        f"{path}:{call.lineno}: {function.name} queries "
                        f"{', '.join(sorted(queried))} without naming an account"
                    )
    return found


def main(argv: list[str]) -> int:
    package = Path(argv[1]) if len(argv) > 1 else ROOT / "src" / "tally"
    found = violations(package)
    for line in found:
        print(line)
    stale = [
        key
        for key in EXEMPT
        if package == ROOT / "src" / "tally" and not (package / key.split(":")[0]).exists()
    ]
    for key in stale:
        print(f"{key}: listed as an exception but the file is gone")
    return 1 if found or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
