"""The portal's JSON API (seed 004, "Direct API access"): `X-Session-Token` in, the
customer's profile, subscriptions, invoices, wallet and usage out, camelCase with decimal
strings; only SENT invoices; usage that agrees with the invoice; fixed query counts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import InvoiceStatus, PaymentStatus
from tests.conftest import make_account
from tests.factories import new_customer
from tests.invoices.helpers import counting_statements, insert_invoice
from tests.metering.helpers import event, send
from tests.portal.helpers import issue_session, portal_client
from tests.portal.portal_scenario import Seed000, build_seed_000, utc_today
from tests.schedules.helpers import ok
from tests.support.api_client import ApiClient

D = Decimal


@pytest.fixture
def seed(api: ApiClient, app: FastAPI, account: Credentials) -> Seed000:
    return build_seed_000(api, app, account.account_id)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return portal_client(app)


@pytest.fixture
def token(api: ApiClient, seed: Seed000) -> str:
    return str(issue_session(api, seed.customer_id)["token"])


def get(client: TestClient, token: str, path: str, **params: Any) -> httpx.Response:
    return client.get(f"/portal/api{path}", headers={"X-Session-Token": token}, params=params)


def body(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return dict(response.json())


def test_profile_and_subscriptions(client: TestClient, token: str, seed: Seed000) -> None:
    profile = body(get(client, token, "/profile"))
    assert profile["id"] == seed.customer_id
    assert profile["name"] == "Globex Corporation"
    assert profile["email"] == "jane@example.com"
    assert profile["address"]["town"] == "London"
    subscriptions = body(get(client, token, "/subscriptions"))["items"]
    assert len(subscriptions) == 1
    (sub,) = subscriptions
    assert sub["id"] == seed.schedule_id
    assert sub["planName"] == "Platform, Verification API"
    assert sub["status"] == "ACTIVE"
    assert sub["currentPeriodStart"] == seed.period_start.isoformat()
    next_month = (seed.period_start + timedelta(days=32)).replace(day=1)
    assert sub["currentPeriodEnd"] == (next_month - timedelta(days=1)).isoformat()
    assert sub["nextBillingDate"] == next_month.isoformat()


def test_the_wallet_shows_seed_000s_credits(client: TestClient, token: str) -> None:
    wallet = body(get(client, token, "/wallet"))
    assert wallet["balance"] == "250"
    assert wallet["value"] == "100.00"
    assert wallet["currency"] == "GBP"
    assert wallet["status"] == "ACTIVE"
    (pocket,) = wallet["pockets"]
    assert pocket["type"] == "METRIC" and pocket["unit"] == "verifications"
    assert pocket["pending"] == "6"
    kinds = [
        (t["type"], t["credits"], t.get("amount"), t["pending"]) for t in wallet["transactions"]
    ]
    assert kinds == [("PENDING_DEBIT", "-6", "-2.40", True), ("GRANT", "250", "100.00", False)]
    assert wallet["transactions"][0]["priority"] == 1


def test_invoices_only_sent_and_searched_over_all(
    client: TestClient,
    token: str,
    seed: Seed000,
    api: ApiClient,
    database: Database,
    account: Credentials,
) -> None:
    customer = ok(api.get(f"/api/customers/{seed.customer_id}"))
    for n in range(1, 31):
        insert_invoice(
            database,
            account.account_id,
            customer,
            status=InvoiceStatus.SENT,
            invoice_number=f"OLD-{n:03d}",
            issue_date=date(2024, 1, 1) + timedelta(days=n),
            gross_total=D(n),
            payment_status=PaymentStatus.PAID if n % 2 else PaymentStatus.UNPAID,
        )
    insert_invoice(database, account.account_id, customer, status=InvoiceStatus.FINAL,
                   invoice_number="FINAL-1")  # fmt: skip
    page = body(get(client, token, "/invoices", limit=10))
    assert page["pagination"] == {"page": 1, "pages": 4, "limit": 10, "totalResultSize": 31}
    assert page["counts"]["all"] == 31
    assert page["items"][0]["invoiceNumber"] == seed.sent_invoice_number  # the newest
    every = [
        item["invoiceNumber"]
        for n in (1, 2, 3, 4)
        for item in body(get(client, token, "/invoices", limit=10, page=n))["items"]
    ]
    assert "FINAL-1" not in every and len(set(every)) == 31
    found = body(get(client, token, "/invoices", number="old-001"))["items"]
    assert [i["invoiceNumber"] for i in found] == ["OLD-001"]
    assert found[0]["total"] == "1.00" and found[0]["status"] == "PAID"
    ranged = body(get(client, token, "/invoices", amountMin="10", amountMax="12", status="paid"))
    assert [i["invoiceNumber"] for i in ranged["items"]] == ["OLD-011"]
    dated = body(get(client, token, "/invoices", issuedFrom="2024-01-02", issuedTo="2024-01-03"))
    assert [i["invoiceNumber"] for i in dated["items"]] == ["OLD-002", "OLD-001"]
    exact = body(get(client, token, "/invoices", amount="7"))
    assert [i["invoiceNumber"] for i in exact["items"]] == ["OLD-007"]
    assert get(client, token, "/invoices", status="bogus").status_code == 400


def test_usage_agrees_with_the_invoice_lines(
    client: TestClient, token: str, seed: Seed000, api: ApiClient
) -> None:
    usage = body(get(client, token, "/usage"))
    assert usage["period"]["start"] == seed.period_start.isoformat()
    assert usage["period"]["current"] is True
    assert [p["start"] for p in usage["periods"]] == [
        seed.period_start.isoformat(),
        seed.last_period_start.isoformat(),
    ]
    invoice = ok(api.get(f"/api/invoices/{seed.open_invoice_id}"))
    lines = {line["title"]: line for line in invoice["lineItems"]}
    (group,) = usage["groups"]
    assert group["title"] == "Verification API"
    metrics = {m["name"]: m for m in group["metrics"]}
    checks = metrics["Account verifications"]
    assert D(checks["total"]) == D(lines["Checks"]["quantity"]) == 6
    assert checks["eventCount"] == 9
    assert checks["cost"] == lines["Checks"]["netTotal"]
    calls = metrics["API calls"]
    assert D(calls["total"]) == D(lines["Calls"]["quantity"]) == seed.calls_this_period
    assert calls["cost"] == lines["Calls"]["netTotal"]
    assert usage["cost"] == f"{D(lines['Checks']['netTotal']) + D(lines['Calls']['netTotal']):.2f}"
    graph = usage["graph"]
    assert graph["range"] == "period" and graph["granularity"] == "DAY"
    assert graph["buckets"][0] == seed.period_start.isoformat()
    series = {s["name"]: s for s in graph["series"]}
    assert D(series["Account verifications"]["values"][utc_today().day - 1]) == 6
    assert D(series["API calls"]["total"]) == seed.calls_this_period


def test_usage_of_a_past_period_and_hourly_range(
    client: TestClient, token: str, seed: Seed000, api: ApiClient
) -> None:
    past = body(get(client, token, "/usage", period=seed.last_period_start.isoformat()))
    assert past["period"]["invoiceStatus"] == "SENT"
    sent = ok(api.get(f"/api/invoices/{seed.sent_invoice_id}"))
    calls_line = next(line for line in sent["lineItems"] if line["title"] == "Calls")
    (group,) = past["groups"]
    calls = next(m for m in group["metrics"] if m["name"] == "API calls")
    assert D(calls["total"]) == D(calls_line["quantity"]) == seed.calls_last_period
    hourly = body(get(client, token, "/usage", range="1d"))["graph"]
    assert hourly["granularity"] == "HOUR" and len(hourly["buckets"]) == 24
    verifications = next(s for s in hourly["series"] if s["name"] == "Account verifications")
    # Distinct accounts per hour: at least the 6 of today, all within the last 24 hours.
    assert sum(D(v) for v in verifications["values"]) >= 6
    assert get(client, token, "/usage", period="1999-01-01").status_code == 404
    assert get(client, token, "/usage", range="2y").status_code == 400


def test_a_token_sees_only_its_own_customer(
    client: TestClient, api: ApiClient, seed: Seed000, database: Database, http: TestClient
) -> None:
    other = new_customer(api, legalName="Initech")
    other_token = str(issue_session(api, other["id"])["token"])
    assert body(get(client, other_token, "/profile"))["name"] == "Initech"
    assert body(get(client, other_token, "/invoices"))["items"] == []
    assert get(client, other_token, "/wallet").status_code == 404  # no grants
    assert body(get(client, other_token, "/usage"))["groups"] == []
    # Another account's customer, with the same kind of data.
    stranger = make_account(database, "Stranger")
    stranger_api = ApiClient(http, (stranger.api_key, stranger.api_secret))
    theirs = new_customer(stranger_api, legalName="Umbrella")
    their_token = str(issue_session(stranger_api, theirs["id"])["token"])
    assert body(get(client, their_token, "/profile"))["name"] == "Umbrella"
    assert body(get(client, their_token, "/subscriptions"))["items"] == []


@pytest.mark.parametrize("path", ["/profile", "/subscriptions", "/invoices", "/wallet", "/usage"])
def test_without_a_valid_token_nothing_is_shown(client: TestClient, path: str) -> None:
    assert client.get(f"/portal/api{path}").status_code == 401
    assert get(client, "not-a-token", path).status_code == 401


def test_the_api_is_read_only(client: TestClient, token: str) -> None:
    for path in ("/profile", "/invoices", "/wallet", "/usage", "/subscriptions"):
        response = client.post(f"/portal/api{path}", headers={"X-Session-Token": token})
        assert response.status_code == 405


def test_answers_read_in_a_fixed_number_of_queries(
    client: TestClient, token: str, seed: Seed000, api: ApiClient, database: Database
) -> None:
    paths = ["/profile", "/subscriptions", "/invoices", "/wallet", "/usage", "/usage?range=1d"]

    def counted() -> dict[str, int]:
        result = {}
        for path in paths:
            with counting_statements(database) as seen:
                response = client.get(f"/portal/api{path}", headers={"X-Session-Token": token})
                assert response.status_code == 200
            result[path] = len(seen)
        return result

    before = counted()
    send(
        api,
        *(
            event("globex", f"{(utc_today() - timedelta(days=k % 20)).isoformat()}T04:00:00Z")
            for k in range(300)
        ),
    )
    assert counted() == before


def test_amount_search_is_exact_past_fifteen_significant_digits(
    api: ApiClient, app: FastAPI, database: Database, account: Credentials, client: TestClient
) -> None:
    """As floats (SQLite's REAL) 1234567890123456.01 and .02 are the same number; as money
    they are a penny apart, and the search tells them apart on both databases."""
    customer = new_customer(api)
    for number, total in (("BIG-1", "1234567890123456.01"), ("BIG-2", "1234567890123456.02")):
        insert_invoice(database, account.account_id, customer, status=InvoiceStatus.SENT,
                       invoice_number=number, gross_total=D(total))  # fmt: skip
    token = str(issue_session(api, customer["id"])["token"])

    def found(**params: str) -> list[str]:
        items = body(get(client, token, "/invoices", **params))["items"]
        return sorted(item["invoiceNumber"] for item in items)

    assert found(amount="1234567890123456.01") == ["BIG-1"]
    assert found(amountMin="1234567890123456.02") == ["BIG-2"]
    assert found(amountMax="1234567890123456.01") == ["BIG-1"]
