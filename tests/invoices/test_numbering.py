"""Invoice numbers are gapless and never shared: finalizations racing on their own
connections get 1..N, and a finalization rolled back gives its number back.

On PostgreSQL the racers queue on the account's number-sequence row; on SQLite on the
database's write lock. The same test runs on both."""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tally.accounts.service import Credentials
from tally.db import Database
from tally.invoices import lifecycle
from tally.models import Account
from tests.factories import new_customer
from tests.invoices.states import get, invoice_in
from tests.support.api_client import ApiClient

RACERS = 8


class Abandoned(Exception):
    pass


@pytest.fixture
def customer(api: ApiClient) -> dict[str, Any]:
    return new_customer(api)


def finalize_on_own_connection(database: Database, account_id: str, invoice_id: str) -> str:
    with database.transaction() as session:
        account = session.get(Account, account_id)
        assert account is not None
        invoice = lifecycle.finalize_invoice(session, account, invoice_id)
        assert invoice.invoice_number is not None
        return invoice.invoice_number


def test_concurrent_finalizations_number_1_to_n(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    drafts = [
        invoice_in(database, account.account_id, customer, "DRAFT") for _ in range(RACERS + 1)
    ]
    abandoned, racers = drafts[0], drafts[1:]
    holding = threading.Event()
    start = threading.Barrier(RACERS)

    def abandon() -> None:
        """Takes a number first, holds it while the others queue, then rolls back."""
        with pytest.raises(Abandoned), database.transaction() as session:
            account_row = session.get(Account, account.account_id)
            assert account_row is not None
            taken = lifecycle.finalize_invoice(session, account_row, abandoned)
            assert taken.invoice_number == "INV00001"
            holding.set()
            threading.Event().wait(0.5)  # the racers are waiting on the lock by now
            raise Abandoned

    def race(invoice_id: str) -> str:
        holding.wait(10)
        start.wait(10)
        return finalize_on_own_connection(database, account.account_id, invoice_id)

    with ThreadPoolExecutor(max_workers=RACERS + 1) as pool:
        abandoning = pool.submit(abandon)
        numbers = list(pool.map(race, racers))
        abandoning.result()

    assert sorted(numbers) == [f"INV{n:05d}" for n in range(1, RACERS + 1)]
    assert {get(api, invoice_id)["invoiceNumber"] for invoice_id in racers} == set(numbers)
    assert get(api, abandoned)["status"] == "DRAFT"
    assert "invoiceNumber" not in get(api, abandoned)
    # The one given back is not lost for good: the next finalization goes on from N.
    after = finalize_on_own_connection(database, account.account_id, abandoned)
    assert after == f"INV{RACERS + 1:05d}"


def test_a_rolled_back_finalization_gives_its_number_back(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    first = invoice_in(database, account.account_id, customer, "DRAFT")
    second = invoice_in(database, account.account_id, customer, "DRAFT")
    with pytest.raises(Abandoned), database.transaction() as session:
        account_row = session.get(Account, account.account_id)
        assert account_row is not None
        assert lifecycle.finalize_invoice(session, account_row, first).invoice_number
        raise Abandoned

    assert finalize_on_own_connection(database, account.account_id, second) == "INV00001"
    assert finalize_on_own_connection(database, account.account_id, first) == "INV00002"


def test_each_account_counts_on_its_own(
    api: ApiClient, other_api: ApiClient, customer: dict[str, Any]
) -> None:
    mine = api.post("/api/invoices", json={"currency": "GBP", "customerId": customer["id"]})
    other_customer = new_customer(other_api)
    theirs = other_api.post(
        "/api/invoices", json={"currency": "GBP", "customerId": other_customer["id"]}
    )
    numbers = [
        client.post(f"/api/invoices/{created.json()['id']}/finalize").json()["invoiceNumber"]
        for client, created in ((api, mine), (other_api, theirs))
    ]
    assert numbers == ["INV00001", "INV00001"]
