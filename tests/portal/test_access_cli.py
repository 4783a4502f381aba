"""`tally portal link CUSTOMER`: the real command, against the test run's database."""

from pathlib import Path

from tally.accounts.service import Credentials
from tally.db import Database
from tests.factories import new_customer
from tests.portal.helpers import rotate_link
from tests.support.api_client import ApiClient
from tests.support.cli import run_tally


def test_the_command_prints_the_customer_link(
    api: ApiClient, account: Credentials, database: Database, tmp_path: Path
) -> None:
    customer = new_customer(api, customerAliases=["cli-globex-7"])

    def link(*args: str) -> str:
        result = run_tally("portal", "link", *args, database_url=database.url, data_dir=tmp_path)
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout.strip()

    assert link(customer["id"]) == customer["portalUrl"]
    assert link("cli-globex-7") == customer["portalUrl"]
    assert link("cli-globex-7", "--account", account.account_id) == customer["portalUrl"]
    rotated = rotate_link(api, customer["id"])
    assert link(customer["id"]) == rotated["portalUrl"]

    unknown = run_tally(
        "portal", "link", "no-such-customer",
        database_url=database.url, data_dir=tmp_path, in_process=False,  # the installed command
    )  # fmt: skip
    assert unknown.returncode == 1
    assert "no-such-customer" in unknown.stdout
