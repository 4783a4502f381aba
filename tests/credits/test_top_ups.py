"""Credit top-ups through the API: an issued invoice for the purchase, and credits usable
once it is PAID (ON_PAYMENT) or at once (IMMEDIATELY); voiding the unpaid invoice cancels."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.core.clock import local_today
from tally.credits import auto_recharge
from tally.credits.usable import usable_grants
from tally.db import Database
from tally.models import ActivityLog
from tally.models.scoped import get_account
from tests.credits.helpers import account_id, exact, usage_metric
from tests.factories import new_customer_id
from tests.support.api_client import ApiClient

D = Decimal


def _top_up(api: ApiClient, customer_id: str, **fields: Any) -> dict[str, Any]:
    body = {"customerId": customer_id, "currency": "GBP", "amount": 50, "cost": 40, **fields}
    answer = api.post("/api/credit-top-ups", json=body)
    assert answer.status_code == 201, answer.text
    return dict(exact(answer))


def _today(session: Session, api: ApiClient) -> date:
    return local_today(get_account(session, account_id(api)).timezone)


def _available(database: Database, api: ApiClient, customer_id: str) -> Decimal:
    with database.transaction() as session:
        found = auto_recharge.available_balances(
            session, account_id(api), [customer_id], _today(session, api)
        )
    return found.get((customer_id, "GBP"), D(0))


def _usable(database: Database, api: ApiClient, customer_id: str) -> list[str]:
    with database.transaction() as session:
        return [
            g.grant_id
            for g in usable_grants(session, account_id(api), [customer_id], _today(session, api))
        ]


def test_an_on_payment_top_up_is_usable_once_its_invoice_is_paid(
    api: ApiClient, database: Database
) -> None:
    customer_id = new_customer_id(api)
    top_up = _top_up(api, customer_id)
    assert top_up["status"] == "AWAITING_PAYMENT" and top_up.get("grantId") is None
    invoice = api.get(f"/api/invoices/{top_up['invoiceId']}").json()
    assert invoice["status"] == "SENT" and invoice["paymentStatus"] == "UNPAID"
    assert _usable(database, api, customer_id) == []
    assert _available(database, api, customer_id) == 0
    balances = api.get(f"/api/credits/{customer_id}/balances").json()["items"]
    assert balances == []

    paid = api.post(f"/api/invoices/{top_up['invoiceId']}/payments", json={"amount": "40.00"})
    assert paid.status_code == 201, paid.text

    after = exact(api.get(f"/api/credit-top-ups/{top_up['id']}"))
    assert after["status"] == "GRANTED" and after["grantId"]
    assert _usable(database, api, customer_id) == [after["grantId"]]
    assert _available(database, api, customer_id) == D(50)
    grant = exact(api.get(f"/api/credits/{after['grantId']}"))
    assert grant["balance"] == D(50) and grant["invoiceId"] == top_up["invoiceId"]
    # A second report of the payment (manual, here) is refused: nothing granted twice.
    again = api.post(f"/api/invoices/{top_up['invoiceId']}/payments", json={"amount": "0.01"})
    assert again.status_code == 400
    listed = api.get("/api/credits", params={"customerId": customer_id}).json()["items"]
    assert len(listed) == 1


def test_an_immediate_top_up_is_usable_at_once(api: ApiClient, database: Database) -> None:
    customer_id = new_customer_id(api)
    top_up = _top_up(api, customer_id, grantWhen="IMMEDIATELY", amount="12.34", cost="10")
    assert top_up["status"] == "GRANTED" and top_up["grantId"]
    assert _available(database, api, customer_id) == D("12.34")
    # Voiding its invoice leaves the credits granted (the merchant chose so).
    assert api.post(f"/api/invoices/{top_up['invoiceId']}/void").status_code == 200
    assert exact(api.get(f"/api/credit-top-ups/{top_up['id']}"))["status"] == "GRANTED"


def test_voiding_the_unpaid_invoice_cancels_the_top_up(api: ApiClient, database: Database) -> None:
    customer_id = new_customer_id(api)
    top_up = _top_up(api, customer_id)
    assert api.post(f"/api/invoices/{top_up['invoiceId']}/void").status_code == 200
    after = exact(api.get(f"/api/credit-top-ups/{top_up['id']}"))
    assert after["status"] == "CANCELLED" and after.get("grantId") is None
    assert _available(database, api, customer_id) == 0
    with database.transaction() as session:
        verbs = session.scalars(
            select(ActivityLog.verb).where(
                ActivityLog.account_id == account_id(api), ActivityLog.object_id == top_up["id"]
            )
        ).all()
    assert sorted(verbs) == ["CANCELLED", "CREATED"]


def test_metric_credits_can_be_bought(api: ApiClient, database: Database) -> None:
    customer_id = new_customer_id(api)
    metric_id = usage_metric(api)
    top_up = _top_up(api, customer_id, creditUnitType="METRIC", metricId=metric_id, amount=1000)
    paid = api.post(f"/api/invoices/{top_up['invoiceId']}/payments", json={"amount": "40.00"})
    assert paid.status_code == 201, paid.text
    after = exact(api.get(f"/api/credit-top-ups/{top_up['id']}"))
    grant = exact(api.get(f"/api/credits/{after['grantId']}"))
    assert grant["creditUnitType"] == "METRIC" and grant["balance"] == D(1000)


def test_bad_top_ups_are_refused_and_change_nothing(api: ApiClient, other_api: ApiClient) -> None:
    customer_id = new_customer_id(api)
    for body, status in [
        ({"customerId": customer_id, "currency": "GBP", "amount": 5, "cost": 0}, 400),
        ({"customerId": customer_id, "currency": "GBP", "amount": 5, "cost": "1.001"}, 400),
        ({"customerId": customer_id, "currency": "GBP", "amount": 5, "cost": 1, "x": 1}, 400),
        (
            {"customerId": new_customer_id(other_api), "currency": "GBP", "amount": 5, "cost": 1},
            404,
        ),
    ]:
        answer = api.post("/api/credit-top-ups", json=body)
        assert answer.status_code == status, answer.text
    assert api.get("/api/credit-top-ups").json()["items"] == []
    assert other_api.get("/api/credit-top-ups").json()["items"] == []


def test_a_retried_purchase_with_its_idempotency_key_buys_once(api: ApiClient) -> None:
    customer_id = new_customer_id(api)
    body = {"customerId": customer_id, "currency": "GBP", "amount": 50, "cost": 40}
    headers = {"Idempotency-Key": "top-up-once"}
    first = api.post("/api/credit-top-ups", json=body, headers=headers)
    again = api.post("/api/credit-top-ups", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    listed = api.get("/api/credit-top-ups", params={"customerId": customer_id}).json()
    assert len(listed["items"]) == 1
    invoices = api.get("/api/invoices", params={"customerId": customer_id}).json()["items"]
    assert len(invoices) == 1
