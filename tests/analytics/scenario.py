"""One account's invoices, credit notes, payments, schedules and usage, made once per module,
with what the analytics figures must say computed here by plain sums over what was made (and,
for what refunds change, over the API's own lists of invoices and credit notes)."""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import InvoiceStatus
from tests.conftest import make_account
from tests.documents.helpers import insert_credit_note
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.metering.helpers import create_metric, event, send
from tests.payments.helpers import pay, refund
from tests.schedules.helpers import created, new_price, new_product, schedule_body
from tests.support.api_client import ApiClient

D = Decimal
ZERO = D(0)


def months_back(today: date, count: int) -> date:
    """The first day of the month `count` months before today's."""
    index = today.year * 12 + today.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def bucket(due: date | None, today: date) -> str:
    late = 0 if due is None else (today - due).days
    return (
        "current" if late <= 0
        else "days_1_to_30" if late <= 30
        else "days_31_to_60" if late <= 60
        else "days_61_to_90" if late <= 90
        else "over_90_days"
    )  # fmt: skip


@dataclass(frozen=True)
class Made:
    customer: str
    currency: str
    status: InvoiceStatus
    issued: date
    net: Decimal
    tax: Decimal
    due: date
    paid: Decimal = ZERO
    number: str = ""

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


@dataclass
class Scenario:
    credentials: Credentials
    api: ApiClient
    account_id: str
    today: date
    customers: dict[str, dict[str, Any]]
    invoices: list[Made]
    invoice_ids: list[str]
    payments: list[tuple[str, date, Decimal]]  # currency, paid on, amount
    refunds: list[tuple[str, date, Decimal]]  # currency, the payment's day, amount
    mrr: dict[str, Decimal] = field(default_factory=dict)  # today's, per currency
    mrr_by_month: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    metric: dict[str, Any] = field(default_factory=dict)
    usage_by_customer: dict[str, int] = field(default_factory=dict)  # this month's events
    usage_by_day: dict[date, int] = field(default_factory=dict)

    @property
    def months(self) -> list[str]:
        return [month_key(months_back(self.today, k)) for k in range(11, -1, -1)]

    def issued(self) -> list[Made]:
        window = months_back(self.today, 11)
        return [
            m
            for m in self.invoices
            if m.status in (InvoiceStatus.FINAL, InvoiceStatus.SENT) and m.issued >= window
        ]

    def credit_notes(self) -> list[dict[str, Any]]:
        """The API's issued credit notes (a refund issues one)."""
        items = self.api.get("/api/credit-notes", params={"limit": 100}).json()["items"]
        return [n for n in items if n["status"] in ("FINAL", "SENT")]

    def owed(self) -> list[dict[str, Any]]:
        """The API's issued invoices that still owe something."""
        items = self.api.get("/api/invoices", params={"limit": 100}).json()["items"]
        return [
            i for i in items if i["status"] in ("FINAL", "SENT") and i["paymentStatus"] != "PAID"
        ]


def _other_account(api: ApiClient) -> str:
    return str(api.get("/api/sequence-accounts").json()["items"][0]["id"])


def build(http: TestClient, database: Database) -> Scenario:
    credentials = make_account(database, "Analytics merchant")
    api = ApiClient(http, (credentials.api_key, credentials.api_secret))
    account_id = credentials.account_id
    today = datetime.now(UTC).date()
    acme = new_customer(api, "Acme Rockets Ltd")
    globex = new_customer(api, "Globex plc")
    initech = new_customer(api, "Initech GmbH")
    customers = {"acme": acme, "globex": globex, "initech": initech}
    m = lambda k: months_back(today, k)  # noqa: E731
    days = lambda n: today + timedelta(days=n)  # noqa: E731
    sent, final = InvoiceStatus.SENT, InvoiceStatus.FINAL
    made = [
        Made("acme", "GBP", sent, m(0), D("100.00"), D("20.00"), days(10)),
        Made("acme", "GBP", sent, m(1), D("200.00"), D("40.00"), days(-5)),
        Made("globex", "GBP", final, m(2), D("300.00"), D("0.00"), days(-45)),
        Made("globex", "GBP", sent, m(5), D("50.50"), D("10.10"), days(-75), D("20.60")),
        Made("acme", "EUR", sent, m(11), D("400.00"), D("80.00"), days(-120)),
        Made("globex", "GBP", sent, m(12), D("999.00"), D("0.00"), days(-400)),  # before
        Made("acme", "GBP", InvoiceStatus.DRAFT, m(0), D("777.00"), D("0"), days(30)),
        Made("acme", "GBP", InvoiceStatus.VOIDED, m(1), D("888.00"), D("0"), days(-3)),
        Made("acme", "GBP", InvoiceStatus.IN_PROGRESS, m(0), D("666.00"), D("0"), days(30)),
        Made("initech", "GBP", sent, m(3), D("150.00"), D("30.00"), days(-80), D("180.00")),
    ]
    ids = []
    for n, item in enumerate(made):
        issued = item.status in (sent, final)
        ids.append(
            insert_invoice(
                database,
                account_id,
                customers[item.customer],
                groups=[],
                lines=[],
                status=item.status,
                currency=item.currency,
                invoice_number=f"AN-{n}" if issued else None,
                issue_date=item.issued if issued else None,
                due_date=item.due,
                net_total=item.net,
                total_tax=item.tax,
                gross_total=item.gross,
                balance=item.gross if issued else D(0),
                balance_version=1 if issued else 0,
                finalized_at=datetime.combine(item.issued, datetime.min.time(), UTC),
            )
        )
    made = [
        Made(**{**item.__dict__, "number": f"AN-{n}"}) for n, item in enumerate(made)
    ]  # fmt: skip
    payments: list[tuple[str, date, Decimal]] = []
    refunds: list[tuple[str, date, Decimal]] = []
    for invoice_id, item in zip(ids, made, strict=True):
        if item.paid:
            paid_on = item.issued + timedelta(days=3)
            payment = pay(api, invoice_id, str(item.paid), paidOn=paid_on.isoformat())
            payments.append((item.currency, paid_on, item.paid))
            if item.customer == "initech":
                refund(api, payment["id"], "30.00")
                refunds.append((item.currency, paid_on, D("30.00")))
    # A credit note issued last month (a refund above issued another, today).
    insert_credit_note(
        database, account_id, globex, ids[2], status=InvoiceStatus.FINAL,
        issue_date=m(1) + timedelta(days=1), credit_note_number="CN-1",
    )  # fmt: skip
    scenario = Scenario(
        credentials, api, account_id, today, customers, made, ids, payments, refunds
    )
    _schedules(api, scenario)
    _usage(api, scenario)
    _another_account(http, database)
    return scenario


def _schedules(api: ApiClient, scenario: Scenario) -> None:
    """Three ACTIVE schedules and a draft: MRR is computed here from their prices."""
    today = scenario.today
    product = new_product(api)
    monthly = new_price(api, product, name="Monthly")  # 100.00 a month
    yearly = new_price(api, product, frequency="YEARLY", name="Yearly")  # 100.00 a year
    quarterly = new_price(api, product, currency="EUR", frequency="QUARTERLY", name="Q")
    excluded = new_price(api, product, name="Excluded")  # EXCLUDE from ARR
    one_time = new_price(api, product, frequency="ONE_TIME", name="Setup")
    acme, globex = scenario.customers["acme"]["id"], scenario.customers["globex"]["id"]
    long_ago = months_back(today, 14).isoformat()
    recent = months_back(today, 3)  # started three months ago: the trend rises then
    body = schedule_body(acme, [monthly, yearly, excluded, one_time], long_ago, None)
    body["phases"][0]["phasePriceMetadata"] = [{"priceId": excluded, "arrCalculation": "EXCLUDE"}]
    created(api.post("/api/billing-schedules", json=body))
    discounted = schedule_body(globex, [monthly], recent.isoformat(), None)
    discounted["phases"][0]["discounts"] = [
        {"type": "PERCENTAGE", "amount": 10, "message": "10% off", "separateLineItem": False}
    ]
    created(api.post("/api/billing-schedules", json=discounted))
    created(
        api.post("/api/billing-schedules", json=schedule_body(globex, [quarterly], long_ago, None))
    )
    draft = schedule_body(acme, [monthly], long_ago, None, isDraft=True)
    created(api.post("/api/billing-schedules", json=draft))
    # By hand: 100 + 100/12 (Acme), 100 less 10 % (Globex, from `recent`), EUR 100/3.
    acme_gbp = D(100) + D(100) / 12
    globex_gbp = D(100) * D("0.9")
    scenario.mrr = {
        "GBP": (acme_gbp + globex_gbp).quantize(D("0.01")),
        "EUR": (D(100) / 3).quantize(D("0.01")),
    }
    for k in range(12):
        first = months_back(today, k)
        key = month_key(first)
        gbp = acme_gbp + (globex_gbp if first >= recent else ZERO)
        scenario.mrr_by_month[key] = {
            "GBP": gbp.quantize(D("0.01")),
            "EUR": scenario.mrr["EUR"],
        }


def _usage(api: ApiClient, scenario: Scenario) -> None:
    """API calls this month (and one day last month): per customer and per day."""
    today = scenario.today
    metric = create_metric(api, name="API calls", eventType="api_call", aggregationType="COUNT")
    scenario.metric = metric
    sent: list[tuple[str, date]] = [
        ("acme", today),
        ("acme", today),
        ("acme", today.replace(day=1)),
        ("globex", today),
        ("globex", months_back(today, 1)),  # last month: not this month's top
    ]
    if today.day > 1:
        sent.append(("initech", today - timedelta(days=1)))
    events = []
    by_customer: dict[str, int] = defaultdict(int)
    by_day: dict[date, int] = defaultdict(int)
    for n, (who, day) in enumerate(sent):
        alias = scenario.customers[who]["id"]
        at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=1, minutes=n)
        events.append({**event(alias, at.isoformat()), "customerEventId": f"e-{n}"})
        if day >= today.replace(day=1):
            by_customer[who] += 1
        if day > today - timedelta(days=30):
            by_day[day] += 1
    send(api, *events)
    scenario.usage_by_customer = dict(by_customer)
    scenario.usage_by_day = dict(by_day)


def _another_account(http: TestClient, database: Database) -> None:
    """Another account's invoice and payment: never in this account's figures."""
    credentials = make_account(database, "Another merchant")
    api = ApiClient(http, (credentials.api_key, credentials.api_secret))
    theirs = new_customer(api, "Their Customer")
    today = datetime.now(UTC).date()
    invoice_id = insert_invoice(
        database, credentials.account_id, theirs, groups=[], lines=[],
        status=InvoiceStatus.SENT, invoice_number="THEIRS", issue_date=today,
        due_date=today - timedelta(days=10), net_total=D("5555"), total_tax=D("0"),
        gross_total=D("5555"), balance=D("5555"), balance_version=1,
    )  # fmt: skip
    pay(api, invoice_id, "55.55", paidOn=today.isoformat())
