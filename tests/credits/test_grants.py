"""Credit grants through the API: create, list, get, delete; bad input changes nothing;
createInvoice drafts an invoice for the cost of the credit; metric grants; wallet value."""

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tally.accounts.service import Credentials
from tally.credits import ledger
from tally.credits.usable import usable_grants
from tally.db import Database
from tally.models import LedgerEntryType
from tests.credits.helpers import (
    D,
    account_id,
    exact,
    grant,
    grant_body,
    move,
    usable,
    usage_metric,
)
from tests.factories import new_customer_id, tax_rate_body
from tests.support.api_client import ApiClient


def test_a_grant_is_created_with_its_grant_entry(api: ApiClient, database: Database) -> None:
    customer = new_customer_id(api)
    created = grant(
        api, customer, amount=250.75, costOfCredit=200.5, expiryDate="2024-12-31", name="Promo"
    )
    assert created["customerId"] == customer
    assert created["sequenceAccountId"] == account_id(api)
    assert (created["amount"], created["costOfCredit"]) == (D("250.75"), D("200.5"))
    assert (created["effectiveDate"], created["expiryDate"]) == ("2024-01-01", "2024-12-31")
    assert created["creditUnitType"] == "CURRENCY"
    assert created["integrationIds"] == []
    assert created["balance"] == D("250.75")
    assert "invoiceId" not in created
    assert exact(api.get(f"/api/credits/{created['id']}")) == created

    transactions = api.get(f"/api/credits/{customer}/balances").json()["items"][0]["transactions"]
    assert [(t["entryType"], t["type"], t["amount"], t["date"]) for t in transactions] == [
        ("GRANT", "CREDIT", "250.75", "2024-01-01")
    ]


def test_amounts_keep_every_digit(api: ApiClient) -> None:
    customer = new_customer_id(api)
    body = grant_body(customer, currency="USD", creditsPerCurrencyUnit=3)
    raw = json.dumps(body).replace('"amount": 100', '"amount": 0.123456789012')
    response = api.post("/api/credits", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text
    assert exact(response)["amount"] == D("0.123456789012")
    assert b'"amount":0.123456789012' in response.content


def test_the_effective_date_defaults_to_the_accounts_local_today(api: ApiClient) -> None:
    account = account_id(api)
    zone = "Pacific/Kiritimati"  # UTC+14: its today is often not UTC's
    assert api.put(f"/api/sequence-accounts/{account}", json={"timezone": zone}).status_code == 200
    created = grant(api, new_customer_id(api), effectiveDate=None)
    assert (
        created["effectiveDate"] == datetime.now(UTC).astimezone(ZoneInfo(zone)).date().isoformat()
    )


def test_list_filters_by_customer_and_pages_by_keyset(api: ApiClient, other_api: ApiClient) -> None:
    first, second = new_customer_id(api), new_customer_id(api)
    ids = [grant(api, first)["id"] for _ in range(3)] + [grant(api, second)["id"]]
    grant(other_api, new_customer_id(other_api))  # another account's: never listed

    everything = api.get("/api/credits").json()
    assert [item["id"] for item in everything["items"]] == ids[::-1]  # newest first
    assert everything["pagination"]["totalResultSize"] == 4

    page = api.get("/api/credits", params={"customerId": first, "limit": 2}).json()
    assert [item["id"] for item in page["items"]] == [ids[2], ids[1]]
    assert page["pagination"]["totalResultSize"] == 3
    after = page["pagination"].get("after")
    rest = api.get("/api/credits", params={"customerId": first, "limit": 2, "after": after}).json()
    assert [item["id"] for item in rest["items"]] == [ids[0]]
    assert rest["pagination"].get("after") is None
    back = rest["pagination"].get("before")
    again = api.get("/api/credits", params={"customerId": first, "limit": 2, "before": back})
    assert [item["id"] for item in again.json()["items"]] == [ids[2], ids[1]]

    assert api.get("/api/credits", params={"customerId": "nobody"}).json()["items"] == []
    assert api.get("/api/credits", params={"after": "not-a-cursor"}).status_code == 400


def _state(api: ApiClient) -> tuple[Any, ...]:
    return (
        api.get("/api/credits").json()["items"],
        api.get("/api/invoices").json()["pagination"]["totalResultSize"],
    )


def test_bad_input_is_refused_and_changes_nothing(
    api: ApiClient, other_api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer_id(api)
    archived = new_customer_id(api)
    assert api.post(f"/api/customers/{archived}/archive").status_code == 200
    metric = usage_metric(api)
    foreign_customer = new_customer_id(other_api)
    foreign_metric = usage_metric(other_api)
    archived_rate = api.post("/api/tax-rates", json=tax_rate_body()).json()["id"]
    api.post(f"/api/tax-rates/{archived_rate}/archive")
    before = _state(api)

    refusals: list[tuple[dict[str, Any], int, str]] = [
        ({"amount": 0}, 400, "amount"),
        ({"amount": -5}, 400, "amount"),
        ({"amount": "lots"}, 400, "amount"),
        ({"amount": 10.001}, 400, "amount"),  # cash credits in GBP: pence at most
        ({"costOfCredit": -1}, 400, "costOfCredit"),
        ({"costOfCredit": 1.005}, 400, "costOfCredit"),
        ({"creditsPerCurrencyUnit": 0}, 400, "creditsPerCurrencyUnit"),
        ({"expiryDate": "2023-12-31"}, 400, "expiryDate"),
        ({"effectiveDate": "2024-02-30"}, 400, "effectiveDate"),
        ({"creditUnitType": "BITCOIN"}, 400, "creditUnitType"),
        ({"currency": "XXX"}, 400, "currency"),
        ({"name": ""}, 400, "name"),
        ({"creditUnitType": "METRIC"}, 400, "metricId"),
        ({"creditUnitType": "METRIC", "metricId": "nope"}, 404, "metricId"),
        ({"creditUnitType": "METRIC", "metricId": foreign_metric}, 404, "metricId"),
        ({"metricId": metric}, 400, "metricId"),  # a cash grant names no metric
        ({"createInvoice": True, "costOfCredit": None}, 400, "costOfCredit"),
        ({"createInvoice": True, "taxRateId": "nope"}, 404, "taxRateId"),
        ({"createInvoice": True, "taxRateId": archived_rate}, 400, "taxRateId"),
        ({"customerId": "nobody"}, 404, ""),
        ({"customerId": foreign_customer}, 404, ""),
        ({"customerId": archived}, 400, "ArchivedReference"),
        ({"sequenceAccountId": "another-account"}, 404, ""),
    ]
    for fields, status, field in refusals:
        response = api.post("/api/credits", json=grant_body(customer, **fields))
        assert response.status_code == status, (fields, response.text)
        assert field in response.text
    malformed = api.post(
        "/api/credits", content=b'{"amount": NaN}', headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert _state(api) == before
    assert usable(database, account.account_id, [customer], date(2030, 1, 1)) == {}


def test_create_invoice_drafts_an_invoice_for_the_cost_with_its_tax(api: ApiClient) -> None:
    customer = new_customer_id(api)
    rate = api.post("/api/tax-rates", json=tax_rate_body(amount="0.2")).json()["id"]
    created = grant(
        api, customer, name="Prepaid pack", costOfCredit=80.5, createInvoice=True, taxRateId=rate
    )
    assert created["taxRateId"] == rate
    invoice = api.get(f"/api/invoices/{created['invoiceId']}").json()
    assert (invoice["status"], invoice["customerId"], invoice["currency"]) == (
        "DRAFT",
        customer,
        "GBP",
    )
    assert (invoice["netTotal"], invoice["totalTax"], invoice["grossTotal"]) == (
        "80.50",
        "16.10",
        "96.60",
    )
    [line] = invoice["lineItems"]
    assert (line["title"], line["quantity"], line["rate"], line["taxRate"]) == (
        "Prepaid pack",
        "1",
        "80.50",
        "0.2",
    )
    # The line sells the grant's credits: prepaid revenue, deferred until drawn down.
    assert (line["creditGrantId"], line["revenueClassification"]) == (created["id"], "PREPAYMENT")
    # Without a tax rate the line is untaxed; a tax-exempt customer pays none either way.
    untaxed = grant(api, customer, costOfCredit=10, createInvoice=True)
    assert api.get(f"/api/invoices/{untaxed['invoiceId']}").json()["grossTotal"] == "10.00"
    exempt = new_customer_id(api, taxStatus="TAX_EXEMPT")
    free = grant(api, exempt, costOfCredit=10, createInvoice=True, taxRateId=rate)
    assert api.get(f"/api/invoices/{free['invoiceId']}").json()["totalTax"] == "0.00"
    # No invoice unless asked.
    assert "invoiceId" not in grant(api, customer)


def test_metric_grants_offset_a_usage_metric(
    api: ApiClient, account: Credentials, database: Database
) -> None:
    customer = new_customer_id(api)
    metric = usage_metric(api, "Verifications")
    created = grant(
        api,
        customer,
        creditUnitType="METRIC",
        metricId=metric,
        amount=250,
        currency="USD",
        name="Verification credits",
        effectiveDate="2024-07-20",
    )
    assert (created["creditUnitType"], created["metricId"], created["amount"]) == (
        "METRIC",
        metric,
        D(250),
    )
    [item] = api.get(f"/api/credits/{customer}/balances").json()["items"]
    assert (item["type"], item["id"], item["name"], item["balance"]) == (
        "USAGE",
        metric,
        "Verifications",
        "250",
    )
    assert usable(database, account.account_id, [customer], date(2024, 8, 31)) == {
        created["id"]: D(250)
    }
    assert usable(database, account.account_id, [customer], date(2024, 7, 19)) == {}


def test_wallet_value_converts_credits_to_money(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    """Seed 004: "434.2 credits ($43.42 value)" at 10 credits per dollar."""
    customer = new_customer_id(api)
    wallet = grant(
        api, customer, currency="USD", amount=1000, creditsPerCurrencyUnit=10, name="Free credits"
    )
    assert wallet["creditsPerCurrencyUnit"] == D(10)
    move(
        database,
        account.account_id,
        wallet,
        LedgerEntryType.DEBIT,
        D("-565.8"),
        date(2024, 2, 1),
        "debit:inv-1",
    )
    [item] = api.get(f"/api/credits/{customer}/balances").json()["items"]
    assert (item["balance"], item["walletValue"], item["walletCurrency"]) == (
        "434.2",
        "43.42",
        "USD",
    )
    [held] = item["grants"]
    assert (held["currentBalance"], held["creditsPerCurrencyUnit"], held["walletValue"]) == (
        "434.2",
        "10",
        "43.42",
    )
    with database.session(write=False) as session:
        [usable_grant] = usable_grants(session, account.account_id, [customer], date(2024, 3, 1))
    assert (usable_grant.balance, usable_grant.credits_per_currency_unit) == (D("434.2"), D(10))


def test_a_grant_without_conversion_has_no_wallet_value(api: ApiClient) -> None:
    customer = new_customer_id(api)
    grant(api, customer)
    [item] = api.get(f"/api/credits/{customer}/balances").json()["items"]
    assert "walletValue" not in item
    assert "walletValue" not in item["grants"][0]


def test_delete_revokes_the_remaining_balance(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer_id(api)
    kept = grant(api, customer, amount=5)
    doomed = grant(api, customer, amount=100, expiryDate="2030-12-31")
    move(database, account.account_id, doomed, LedgerEntryType.DEBIT, D(-30), date(2024, 2, 1), "d")

    deleted = api.delete(f"/api/credits/{doomed['id']}")
    assert deleted.status_code == 200
    body = exact(deleted)
    assert body["id"] == doomed["id"]
    assert body["balance"] == 0
    assert "deletedAt" in body

    assert api.get(f"/api/credits/{doomed['id']}").status_code == 404
    assert api.delete(f"/api/credits/{doomed['id']}").status_code == 404
    assert [g["id"] for g in api.get("/api/credits").json()["items"]] == [kept["id"]]
    assert usable(database, account.account_id, [customer], date(2024, 3, 1)) == {kept["id"]: D(5)}
    [item] = api.get(f"/api/credits/{customer}/balances").json()["items"]
    assert item["balance"] == "5"
    assert [g["id"] for g in item["grants"]] == [kept["id"]]
    with database.session(write=False) as session:
        entries = [
            entry
            for entry in ledger.customer_entries(session, account.account_id, [customer])
            if entry.grant_id == doomed["id"]
        ]
    assert [(e.entry_type, e.amount) for e in entries] == [
        (LedgerEntryType.GRANT, D(100)),
        (LedgerEntryType.DEBIT, D(-30)),
        (LedgerEntryType.REVOKE, D(-70)),
    ]
    # Dated today or later: no day's balance goes below zero.
    assert entries[-1].effective_date >= datetime.now(UTC).date() - timedelta(days=1)


def test_another_accounts_grant_is_not_found(api: ApiClient, other_api: ApiClient) -> None:
    created = grant(api, new_customer_id(api))
    assert other_api.get(f"/api/credits/{created['id']}").status_code == 404
    assert other_api.delete(f"/api/credits/{created['id']}").status_code == 404
    assert api.get(f"/api/credits/{created['id']}").status_code == 200


@pytest.mark.parametrize("currency,amount", [("JPY", 1500), ("USD", 12.34)])
def test_cash_amounts_in_the_currencys_minor_unit(
    api: ApiClient, currency: str, amount: float
) -> None:
    created = grant(api, new_customer_id(api), currency=currency, amount=amount, costOfCredit=0)
    assert created["amount"] == D(str(amount))
    refused = api.post(
        "/api/credits",
        json=grant_body(new_customer_id(api), currency=currency, amount=amount + 0.001),
    )
    assert refused.status_code == 400


def test_a_retried_create_with_its_idempotency_key_grants_once(api: ApiClient) -> None:
    customer = new_customer_id(api)
    headers = {"Idempotency-Key": "grant-once"}
    first = api.post("/api/credits", json=grant_body(customer), headers=headers)
    again = api.post("/api/credits", json=grant_body(customer), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert len(api.get("/api/credits", params={"customerId": customer}).json()["items"]) == 1
