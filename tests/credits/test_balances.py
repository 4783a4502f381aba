"""A customer's credit balances and grants in Sequence's shapes, with transactions derived
from the ledger."""

from datetime import date
from typing import Any

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import LedgerEntryType
from tests.credits.helpers import D, exact, grant, move, usage_metric
from tests.factories import new_customer_id
from tests.support.api_client import ApiClient


def _balances(api: ApiClient, customer: str) -> list[dict[str, Any]]:
    response = api.get(f"/api/credits/{customer}/balances")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_seed_000_verification_credits(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    """250 verification credits granted on 20 July, 6 used in August: 244 left."""
    customer = new_customer_id(api, legalName="Globex")
    metric = usage_metric(api, "Account verifications")
    credits = grant(
        api,
        customer,
        name="Verification credits",
        creditUnitType="METRIC",
        metricId=metric,
        currency="USD",
        amount=250,
        costOfCredit=0,
        effectiveDate="2024-07-20",
    )
    move(
        database,
        account.account_id,
        credits,
        LedgerEntryType.DEBIT,
        D(-6),
        date(2024, 9, 1),
        "debit:august",
        invoice_id="01900000-0000-7000-8000-000000000001",
    )
    [item] = _balances(api, customer)
    assert (item["id"], item["type"], item["name"], item["balance"]) == (
        metric,
        "USAGE",
        "Account verifications",
        "244",
    )
    [held] = item["grants"]
    assert (held["originalAmount"], held["currentBalance"], held["metricId"]) == (
        "250",
        "244",
        metric,
    )
    assert [
        (t["type"], t["amount"], t["date"], t.get("invoiceId")) for t in item["transactions"]
    ] == [
        ("CREDIT", "250", "2024-07-20", None),
        ("DEBIT", "6", "2024-09-01", "01900000-0000-7000-8000-000000000001"),
    ]
    [listed] = exact(api.get(f"/api/credits/{customer}/grants"))["items"]
    assert listed == {
        "id": credits["id"],
        "name": "Verification credits",
        "grantAmount": D(250),
        "balance": D(244),
        "issueDate": "2024-07-20",
    }


def test_items_per_currency_and_per_metric(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer_id(api)
    calls, seats = usage_metric(api, "Calls"), usage_metric(api, "Seats")
    gbp = grant(api, customer, amount=100, costOfCredit=80, expiryDate="2024-06-30")
    gbp_more = grant(api, customer, amount=20.5, costOfCredit=0, effectiveDate="2024-02-01")
    usd = grant(api, customer, currency="USD", amount=50, costOfCredit=45)
    metric_fields = {"creditUnitType": "METRIC", "currency": "USD", "costOfCredit": 0}
    call_grant = grant(api, customer, metricId=calls, amount=1000, **metric_fields)
    seat_grant = grant(api, customer, metricId=seats, amount=3, **metric_fields)
    invoice = "01900000-0000-7000-8000-0000000000aa"
    move(
        database,
        account.account_id,
        gbp,
        LedgerEntryType.DEBIT,
        D(-30),
        date(2024, 3, 1),
        "d1",
        invoice_id=invoice,
    )
    move(
        database,
        account.account_id,
        gbp,
        LedgerEntryType.RESTORE,
        D(10),
        date(2024, 3, 5),
        "r1",
        invoice_id=invoice,
    )
    move(
        database,
        account.account_id,
        call_grant,
        LedgerEntryType.DEBIT,
        D(-1000),
        date(2024, 3, 1),
        "d2",
    )

    items = _balances(api, customer)
    by_id = {item["id"]: item for item in items}
    assert [(item["type"], item["id"]) for item in items][:2] == [("CASH", "GBP"), ("CASH", "USD")]
    assert {item["id"] for item in items[2:]} == {calls, seats}
    assert all(item["type"] == "USAGE" for item in items[2:])
    assert (by_id["GBP"]["balance"], by_id["USD"]["balance"]) == ("100.5", "50")
    assert (by_id[calls]["balance"], by_id[seats]["balance"]) == ("0", "3")

    first, second = by_id["GBP"]["grants"]
    assert first == {
        "id": gbp["id"],
        "sequenceAccountId": account.account_id,
        "customerId": customer,
        "type": "CASH",
        "currency": "GBP",
        "name": "Onboarding credits",
        "originalAmount": "100",
        "currentBalance": "80",
        "expiryDate": "2024-06-30",
        "costOfCredit": "80",
        "effectiveDate": "2024-01-01",
        "createdAt": gbp["createdAt"],
    }
    assert (second["id"], second["currentBalance"]) == (gbp_more["id"], "20.5")
    assert [
        (t["grantId"], t["entryType"], t["type"], t["amount"], t["date"], t.get("invoiceId"))
        for t in by_id["GBP"]["transactions"]
    ] == [
        (gbp["id"], "GRANT", "CREDIT", "100", "2024-01-01", None),
        (gbp_more["id"], "GRANT", "CREDIT", "20.5", "2024-02-01", None),
        (gbp["id"], "DEBIT", "DEBIT", "30", "2024-03-01", invoice),
        (gbp["id"], "RESTORE", "CREDIT", "10", "2024-03-05", invoice),
    ]
    assert [t["reason"] for t in by_id["GBP"]["transactions"]] == [
        "Onboarding credits",
        "Onboarding credits",
        "Used by an invoice",
        "Restored by a voided invoice",
    ]
    assert by_id["USD"]["grants"][0]["id"] == usd["id"]

    # /grants: those with credits left, amounts as exact numbers.
    listed = exact(api.get(f"/api/credits/{customer}/grants"))["items"]
    assert {(g["id"], g["balance"]) for g in listed} == {
        (gbp["id"], D(80)),
        (gbp_more["id"], D("20.5")),
        (usd["id"], D(50)),
        (seat_grant["id"], D(3)),
    }
    assert next(g for g in listed if g["id"] == gbp["id"])["expiryDate"] == "2024-06-30"


def test_a_customer_without_grants_has_no_balances(api: ApiClient) -> None:
    customer = new_customer_id(api)
    assert _balances(api, customer) == []
    assert api.get(f"/api/credits/{customer}/grants").json() == {"items": []}


def test_unknown_and_foreign_customers_are_not_found(api: ApiClient, other_api: ApiClient) -> None:
    foreign = new_customer_id(other_api)
    grant(other_api, foreign)
    for customer in ("nobody", foreign):
        for suffix in ("balances", "grants"):
            response = api.get(f"/api/credits/{customer}/{suffix}")
            assert response.status_code == 404, (customer, suffix)
