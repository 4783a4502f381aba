"""`scripts/check_tenant_scope.py` (in `make lint`): a query over a tenant table names an
account, or is listed with the reason it need not."""

from pathlib import Path

from tests.support.conventions import run_check


def test_every_query_of_the_tree_names_an_account() -> None:
    checked = run_check("tenant_scope")
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout == ""


def test_a_query_that_forgets_the_account_fails_naming_its_line(tmp_path: Path) -> None:
    scoped = (
        "def by_id(session, account_id, invoice_id):\n"
        "    return session.scalar(select(Invoice).where(\n"
        "        Invoice.account_id == account_id, Invoice.id == invoice_id))\n"
        "\n\n"
        "def listed(session, account_id):\n"
        "    return session.scalars(scoped(Customer, account_id))\n"
    )
    forgetful = (
        "def by_id(session, invoice_id):\n"
        "    return session.scalar(select(Invoice).where(Invoice.id == invoice_id))\n"
        "\n\n"
        "def customer(session, customer_id):\n"
        "    return session.get(Customer, customer_id)\n"
        "\n\n"
        "def not_a_tenant_table(session, key):\n"
        "    return session.get(IdempotencyKeyRow, key)\n"
    )
    (tmp_path / "good.py").write_text(scoped)
    bad = tmp_path / "invoices" / "service.py"
    bad.parent.mkdir()
    bad.write_text(forgetful)
    checked = run_check("tenant_scope", str(tmp_path))
    assert checked.returncode == 1
    assert checked.stdout.splitlines() == [
        f"{bad}:2: by_id queries Invoice without naming an account",
        f"{bad}:6: customer queries Customer without naming an account",
    ]
