"""Seed 000's portal example, built through the API: AcmeLabs bills Globex for account
verifications (a UNIQUE metric of "verification" events) and API calls, granted Globex 250
verification credits, and Globex verified 6 unique accounts in the current period: a pending
debit of 6 credits until that period's invoice is finalized.

Dates follow today (the portal reads the account's today): the schedule starts on the first
of last month, so last month's invoice is SENT and this month's is IN_PROGRESS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI

from tally.credits import ledger
from tally.db import Database, new_id
from tally.documents.links import portal_secret
from tally.models import CreditGrant, CreditUnitType
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import fixed, linear
from tests.metering.helpers import create_metric, event, send
from tests.schedules.helpers import created, ok
from tests.support.api_client import ApiClient

GRANTED = Decimal(250)
PENDING = Decimal(6)
CREDITS_PER_POUND = Decimal("2.5")  # one verification credit is worth £0.40


@dataclass
class Seed000:
    customer_id: str
    portal_key: str
    verification_metric_id: str
    calls_metric_id: str
    schedule_id: str
    grant_id: str
    sent_invoice_id: str
    sent_invoice_number: str
    open_invoice_id: str
    period_start: date
    last_period_start: date
    calls_this_period: int
    calls_last_period: int

    @property
    def link(self) -> str:
        return f"/portal/c/{self.portal_key}"


def utc_today() -> date:
    """The account's today (test accounts keep the default zone, UTC)."""
    return datetime.now(UTC).date()


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def _product(api: ApiClient, name: str) -> str:
    return str(created(api.post("/api/products", json={"name": name, "label": name}))["id"])


def _grant(api: ApiClient, app: FastAPI, account_id: str, body: dict[str, Any]) -> str:
    """POST /api/credits when the app has it; else the grant and its ledger entry written
    as the credits service writes them."""
    if any(getattr(route, "path", "") == "/api/credits" for route in app.routes):
        return str(created(api.post("/api/credits", json=body))["id"])
    database: Database = app.state.db
    with database.transaction() as session:
        grant = CreditGrant(
            id=new_id(),
            account_id=account_id,
            customer_id=body["customerId"],
            name=body["name"],
            credit_unit_type=CreditUnitType(body["creditUnitType"]),
            currency=body["currency"],
            metric_id=body.get("metricId"),
            amount=Decimal(str(body["amount"])),
            effective_date=date.fromisoformat(body["effectiveDate"]),
            credits_per_currency_unit=Decimal(str(body["creditsPerCurrencyUnit"])),
        )
        session.add(grant)
        session.flush()
        ledger.record(session, account_id, [ledger.grant_movement(grant)])
        return grant.id


def build_seed_000(
    api: ApiClient, app: FastAPI, account_id: str, *, name: str = "Globex Corporation"
) -> Seed000:
    today = utc_today()
    period_start = first_of_month(today)
    last_start = first_of_month(period_start - timedelta(days=1))
    ok(api.put(f"/api/sequence-accounts/{account_id}", json={"companyName": "AcmeLabs"}))
    merchant = Merchant(api)
    verifications = str(
        create_metric(
            api,
            name="Account verifications",
            eventType="verification",
            aggregationType="UNIQUE",
            aggregationProperty="accountId",
            unit="verifications",
        )["id"]
    )
    calls = str(
        create_metric(api, name="API calls", eventType="api_call", aggregationType="COUNT",
                      unit="calls")["id"]
    )  # fmt: skip
    merchant.product_id = _product(api, "Platform")
    platform = merchant.price(fixed("49.00"), name="Platform fee")
    merchant.product_id = _product(api, "Verification API")
    per_verification = merchant.price(linear(verifications, pricePerUnit="0.40"), name="Checks")
    per_call = merchant.price(linear(calls, pricePerUnit="0.02"), name="Calls")
    customer = merchant.customer(name)
    created(api.post("/api/customer-aliases", json={"customerId": customer, "value": "globex"}))
    schedule = merchant.schedule(
        customer, [platform, per_verification, per_call], last_start.isoformat()
    )
    grant_id = _grant(
        api,
        app,
        account_id,
        {
            "customerId": customer,
            "name": "Account verification credits",
            "creditUnitType": "METRIC",
            "currency": "GBP",
            "metricId": verifications,
            "amount": 250,
            "effectiveDate": (last_start + timedelta(days=19)).isoformat(),
            "creditsPerCurrencyUnit": "2.5",
        },
    )

    # Last period: API calls only (the credits stay whole until this period).
    last_days = (period_start - last_start).days
    calls_last = [
        event("globex", _at(last_start + timedelta(days=i % last_days), hour=9 + i % 8))
        for i in range(3 * last_days)
    ]
    # This period: 6 unique accounts verified (9 events, some accounts twice) and calls,
    # all between today's midnight and now, so they are in the period and the last 24 hours.
    now = datetime.now(UTC)
    midnight = datetime.combine(today, datetime.min.time(), UTC)
    span = max(now - midnight, timedelta(minutes=10))

    def moment(k: int, of: int) -> str:
        return (midnight + span * k / (of + 1)).isoformat().replace("+00:00", "Z")

    accounts = ["acc-1", "acc-2", "acc-3", "acc-1", "acc-4", "acc-5", "acc-2", "acc-6", "acc-3"]
    checks = [
        event(customer, moment(k + 1, len(accounts)), "verification", accountId=account)
        for k, account in enumerate(accounts)
    ]
    days_so_far = (today - period_start).days
    calls_now = [
        event("globex", _at(period_start + timedelta(days=i % max(days_so_far, 1)), hour=10))
        for i in range(2 * days_so_far)
    ] + [event("globex", moment(k + 1, 5)) for k in range(5)]
    send(api, *calls_last)
    send(api, *checks)
    send(api, *calls_now)

    merchant.bill(today.isoformat())
    invoices = merchant.invoices(schedule["id"])
    last = next(i for i in invoices if i["billingPeriod"]["start"] == last_start.isoformat())
    current = next(i for i in invoices if i["billingPeriod"]["start"] == period_start.isoformat())
    sent = ok(api.post(f"/api/invoices/{last['id']}/mark-as-sent"))
    database: Database = app.state.db
    with database.transaction() as session:
        key = portal_secret(session, customer)
    return Seed000(
        customer_id=customer,
        portal_key=key,
        verification_metric_id=verifications,
        calls_metric_id=calls,
        schedule_id=schedule["id"],
        grant_id=grant_id,
        sent_invoice_id=sent["id"],
        sent_invoice_number=sent["invoiceNumber"],
        open_invoice_id=current["id"],
        period_start=period_start,
        last_period_start=last_start,
        calls_this_period=len(calls_now),
        calls_last_period=len(calls_last),
    )


def _at(day: date, hour: int) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00Z"
