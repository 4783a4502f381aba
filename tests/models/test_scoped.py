"""The tenant-scoped base: another account's row is never selected, and looks like none."""

import pytest

from tally.accounts.service import Credentials
from tally.db import Database
from tally.exceptions import NotFound
from tally.models import Customer
from tally.models.scoped import scoped, scoped_get
from tests.conftest import make_account
from tests.factories import customer_body
from tests.support.api_client import ApiClient


def test_scoped_selects_only_the_accounts_rows(
    api: ApiClient, account: Credentials, database: Database
) -> None:
    mine = api.post("/api/customers", json=customer_body(legalName="Mine")).json()["id"]
    other = make_account(database, "Another merchant")
    with database.transaction() as session:
        ids = list(
            session.scalars(scoped(Customer, account.account_id).with_only_columns(Customer.id))
        )
        assert ids == [mine]
        assert list(session.scalars(scoped(Customer, other.account_id))) == []


def test_scoped_get_answers_none_or_not_found_for_another_account(
    api: ApiClient, account: Credentials, database: Database
) -> None:
    mine = api.post("/api/customers", json=customer_body()).json()["id"]
    other = make_account(database, "Another merchant")
    with database.transaction() as session:
        found = scoped_get(session, Customer, account.account_id, mine, kind="Customer")
        assert found.id == mine
        assert scoped_get(session, Customer, other.account_id, mine) is None
        with pytest.raises(NotFound, match="Customer"):
            scoped_get(session, Customer, other.account_id, mine, kind="Customer")
