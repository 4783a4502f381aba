"""Expiry: the balance left after a grant's last usable day becomes an EXPIRY entry, once per
time it holds credits again, on each account's local day, never while an open invoice
projects credits on it; expired credits are no longer usable."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.credits import ledger
from tally.credits.expiry import expire_due
from tally.credits.usable import usable_grants
from tally.db import Database
from tally.jobs import background_jobs
from tally.models import CreditGrant, LedgerEntryType
from tally.settings import Settings
from tests.conftest import make_account
from tests.credits.helpers import D, grant, move, usable
from tests.factories import new_customer_id
from tests.invoices.helpers import counting_statements
from tests.support.api_client import ApiClient


def _entries(database: Database, account: str, grant_id: str) -> list[tuple[Any, ...]]:
    """The grant's ledger entries: (type, amount, date), oldest first."""
    with database.session(write=False) as session:
        found = session.get(CreditGrant, grant_id)
        assert found is not None and found.account_id == account
        entries = ledger.customer_entries(session, account, [found.customer_id])
    return [(e.entry_type, e.amount, e.effective_date) for e in entries if e.grant_id == grant_id]


def _expired(report: Any, *grants: dict[str, Any]) -> dict[str, Any]:
    ids = {g["id"] for g in grants}
    return {grant_id: amount for grant_id, amount in report.expired if grant_id in ids}


def test_the_balance_left_expires_once_the_day_after_expiry(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer_id(api)
    expiring = grant(api, customer, amount=100, expiryDate="2024-01-31")
    lasting = grant(api, customer, amount=5)
    move(
        database,
        account.account_id,
        expiring,
        LedgerEntryType.DEBIT,
        D(-30),
        date(2024, 1, 15),
        "d",
    )
    assert usable(database, account.account_id, [customer], date(2024, 1, 31)) == {
        expiring["id"]: D(70),
        lasting["id"]: D(5),
    }

    # The expiry date is the last usable day: nothing expires on it.
    assert _expired(expire_due(database, today=date(2024, 1, 31)), expiring) == {}
    report = expire_due(database, today=date(2024, 2, 1))
    assert _expired(report, expiring, lasting) == {expiring["id"]: D(70)}
    assert _entries(database, account.account_id, expiring["id"]) == [
        (LedgerEntryType.GRANT, D(100), date(2024, 1, 1)),
        (LedgerEntryType.DEBIT, D(-30), date(2024, 1, 15)),
        (LedgerEntryType.EXPIRY, D(-70), date(2024, 2, 1)),
    ]
    # Once: later passes record nothing more.
    assert _expired(expire_due(database, today=date(2024, 3, 1)), expiring) == {}
    assert len(_entries(database, account.account_id, expiring["id"])) == 3

    # Expired credits are no longer usable, on any day.
    for day in (date(2024, 1, 31), date(2024, 2, 1), date(2025, 1, 1)):
        assert usable(database, account.account_id, [customer], day) == {lasting["id"]: D(5)}
    assert api.get(f"/api/credits/{expiring['id']}").json()["balance"] == 0
    [item] = api.get(f"/api/credits/{customer}/balances").json()["items"]
    assert item["balance"] == "5"
    assert (item["transactions"][-1]["entryType"], item["transactions"][-1]["type"]) == (
        "EXPIRY",
        "DEBIT",
    )
    assert [g["id"] for g in api.get(f"/api/credits/{customer}/grants").json()["items"]] == [
        lasting["id"]
    ]


def test_expired_but_unprocessed_credits_serve_only_the_periods_they_cover(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer_id(api)
    expiring = grant(api, customer, amount=10, expiryDate="2024-01-31")
    assert usable(database, account.account_id, [customer], date(2024, 1, 31)) == {
        expiring["id"]: D(10)
    }
    assert usable(database, account.account_id, [customer], date(2024, 2, 1)) == {}
    # An invoice of January, finalized in February, still spends them: judged by its period.
    with database.session(write=False) as session:
        for ends, found in [
            ([date(2024, 1, 31)], [expiring["id"]]),
            ([date(2024, 2, 29)], []),
            ([date(2024, 2, 29), date(2024, 1, 31)], [expiring["id"]]),
            ([date(2023, 12, 31)], []),  # effective after that period
        ]:
            grants = usable_grants(session, account.account_id, [customer], date(2024, 2, 5), ends)
            assert [g.grant_id for g in grants] == found
            assert [g.usable_for(date(2024, 1, 31)) for g in grants] == [True] * len(found)


def test_spent_and_deleted_grants_do_not_expire(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer_id(api)
    spent = grant(api, customer, amount=10, expiryDate="2024-01-31")
    move(database, account.account_id, spent, LedgerEntryType.DEBIT, D(-10), date(2024, 1, 9), "d")
    deleted = grant(api, customer, amount=10, expiryDate="2024-01-31")
    assert api.delete(f"/api/credits/{deleted['id']}").status_code == 200
    assert _expired(expire_due(database, today=date(2024, 6, 1)), spent, deleted) == {}
    assert [e[0] for e in _entries(database, account.account_id, spent["id"])] == [
        LedgerEntryType.GRANT,
        LedgerEntryType.DEBIT,
    ]


def test_credits_restored_after_expiry_expire_again_once(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    """A RESTORE (a voided invoice giving back what it spent) on an expired grant: the next
    pass expires it again, dated the restore's day; repeated passes add nothing."""
    customer = new_customer_id(api)
    expiring = grant(api, customer, amount=100, expiryDate="2024-01-31")
    day = date(2024, 1, 15)
    move(database, account.account_id, expiring, LedgerEntryType.DEBIT, D(-30), day, "d")
    assert _expired(expire_due(database, today=date(2024, 2, 1)), expiring) == {
        expiring["id"]: D(70)
    }
    day = date(2024, 2, 10)
    move(database, account.account_id, expiring, LedgerEntryType.RESTORE, D(30), day, "r")
    assert _expired(expire_due(database, today=date(2024, 2, 11)), expiring) == {
        expiring["id"]: D(30)
    }
    for _ in range(2):
        assert _expired(expire_due(database, today=date(2024, 3, 1)), expiring) == {}
    assert _entries(database, account.account_id, expiring["id"]) == [
        (LedgerEntryType.GRANT, D(100), date(2024, 1, 1)),
        (LedgerEntryType.DEBIT, D(-30), date(2024, 1, 15)),
        (LedgerEntryType.EXPIRY, D(-70), date(2024, 2, 1)),
        (LedgerEntryType.RESTORE, D(30), date(2024, 2, 10)),
        (LedgerEntryType.EXPIRY, D(-30), date(2024, 2, 10)),
    ]
    assert api.get(f"/api/credits/{expiring['id']}").json()["balance"] == 0


def test_concurrent_passes_expire_each_grant_once(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    """Two passes at once (workers racing): the second waits on the grants' row locks, then
    finds nothing left; on SQLite the write lock runs them one after the other."""
    customer = new_customer_id(api)
    grants = [grant(api, customer, amount=10 + n, expiryDate="2024-01-31") for n in range(3)]
    start = threading.Barrier(2)

    def expire() -> Any:
        start.wait(10)
        return expire_due(database, today=date(2024, 2, 1))

    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = [future.result() for future in [pool.submit(expire) for _ in range(2)]]

    found = [_expired(report, *grants) for report in reports]
    assert sorted(found, key=len) == [{}, {g["id"]: g["amount"] for g in grants}]
    for g in grants:
        kinds = [e[0] for e in _entries(database, account.account_id, g["id"])]
        assert kinds == [LedgerEntryType.GRANT, LedgerEntryType.EXPIRY]


def test_each_account_expires_on_its_own_local_day(
    api: ApiClient, http: TestClient, database: Database, account: Credentials
) -> None:
    far_east = make_account(database, "Kiritimati merchant")
    east_api = ApiClient(http, (far_east.api_key, far_east.api_secret))
    assert (
        east_api.put(
            f"/api/sequence-accounts/{far_east.account_id}", json={"timezone": "Pacific/Kiritimati"}
        ).status_code
        == 200
    )
    here = grant(api, new_customer_id(api), amount=10, expiryDate="2024-01-31")
    there = grant(east_api, new_customer_id(east_api), amount=10, expiryDate="2024-01-31")
    # Noon UTC on the 31st is 02:00 on 1 February in Kiritimati (UTC+14).
    noon = datetime(2024, 1, 31, 12, tzinfo=UTC)
    assert _expired(expire_due(database, now=noon), here, there) == {there["id"]: D(10)}
    assert _expired(expire_due(database, now=noon.replace(day=1, month=2)), here, there) == {
        here["id"]: D(10)
    }


def test_a_fixed_number_of_statements_however_many_grants(
    api: ApiClient, http: TestClient, database: Database
) -> None:
    def statements(count: int) -> int:
        customers = [new_customer_id(api) for _ in range(2)]
        for index in range(count):
            grant(api, customers[index % 2], amount=1, expiryDate="2024-01-31")
        with counting_statements(database) as seen:
            report = expire_due(database, today=date(2024, 2, 1))
        assert len(report.expired) >= count
        return len(seen)

    assert statements(2) == statements(7)


def test_expiry_is_a_background_job(settings: Settings) -> None:
    assert "credit-expiry" in [job.name for job in background_jobs(settings)]
