"""A finance lead's account, with something on every dashboard page: customers (one with a
contact, an alias, credits and a billing schedule), a catalog (a product with a price the
schedule bills and one it does not, a usage metric, a tax rate), invoices in each state the
home page counts (a draft, a sent one not yet due, an overdue one), usage events, a webhook
policy. Made through the API and, for the invoices, as billing writes them
(`tests/invoices/helpers.py`), once per module: the browser tests that share it only read it
or change what they made themselves.

The figures the tests check are this module's own numbers (`FinanceWeek`), not read back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from tally.core.clock import local_today
from tally.db import Database
from tally.models import ApiKey
from tally.models.scoped import get_account
from tests.conftest import make_account
from tests.credit_notes.helpers import sent_invoice
from tests.credits.helpers import grant
from tests.dashboard.helpers import Merchant, add_user
from tests.factories import new_customer, product_body, tax_rate_body
from tests.invoices.helpers import insert_invoice
from tests.metering.helpers import create_metric, event, send
from tests.schedules.helpers import created, schedule_body
from tests.support.api_client import ApiClient

D = Decimal
DRAFT_GROSS = D("270.00")  # insert_invoice's default invoice
PLATFORM_FEE = D("2500.00")  # a month, billed in arrears by Acme's schedule
VAT = D("0.20")
SUPPORT_FEE = D("400.00")  # a price no schedule bills: the one the lead changes
LAUNCH_CREDITS = D("100.00")  # granted to Acme: billing deducts them from its invoice


@dataclass(frozen=True)
class FinanceWeek:
    merchant: Merchant
    api: ApiClient
    today: date
    acme: dict[str, object]  # the customer with a schedule, credits, an alias
    globex: dict[str, object]  # the customer with an overdue invoice
    initech: dict[str, object]  # a sent invoice, not yet due
    draft_id: str
    overdue_id: str
    overdue_number: str
    overdue_gross: Decimal
    not_due_id: str
    not_due_gross: Decimal
    product_id: str
    platform_price_id: str
    support_price_id: str
    tax_rate_id: str
    metric_id: str
    schedule_id: str
    policy_id: str
    api_key_id: str
    alert_id: str

    @property
    def account_id(self) -> str:
        return self.merchant.account.account_id


def first_of_next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def finance_week(database: Database, http: TestClient, email: str | None = None) -> FinanceWeek:
    """The data set, in a new account whose user signs in with `email` (unique in the
    database: one is made up when not given)."""
    credentials = make_account(database, "Northwind Analytics Ltd")
    merchant = add_user(database, credentials, email)
    api = ApiClient(http, (credentials.api_key, credentials.api_secret))
    with database.session(write=False) as session:
        today = local_today(get_account(session, credentials.account_id).timezone)
        api_key_id = session.scalar(
            select(ApiKey.id).where(ApiKey.account_id == credentials.account_id)
        )
    assert api_key_id is not None

    acme = new_customer(api, "Acme Rockets Ltd")
    payer = {"name": "Hank Scorpio", "email": "ap@globex.example", "billingPreference": "PRIMARY"}
    globex = new_customer(api, "Globex Corporation", contacts=[payer])
    initech = new_customer(api, "Initech LLC")
    alias = api.post("/api/customer-aliases", json={"customerId": acme["id"], "value": "acme-prod"})
    assert alias.status_code == 201, alias.text

    product_id = str(created(api.post("/api/products", json=product_body(name="Platform")))["id"])
    price = {"productId": product_id, "currency": "GBP", "billingFrequency": "MONTHLY"}
    platform_price_id = str(
        created(
            api.post(
                "/api/prices",
                json={
                    **price,
                    "name": "Platform fee",
                    "billingType": "IN_ARREARS",
                    "structure": {"pricingType": "FIXED", "price": str(PLATFORM_FEE)},
                },
            )
        )["id"]
    )
    support_price_id = str(
        created(
            api.post(
                "/api/prices",
                json={
                    **price,
                    "name": "Premium support",
                    "billingType": "IN_ADVANCE",
                    "structure": {"pricingType": "FIXED", "price": str(SUPPORT_FEE)},
                },
            )
        )["id"]
    )
    tax_rate_id = str(created(api.post("/api/tax-rates", json=tax_rate_body()))["id"])
    metric = create_metric(
        api, name="API calls", eventType="api_call", aggregationType="COUNT", unit="calls"
    )
    start = today.replace(day=1)
    schedule = created(
        api.post(
            "/api/billing-schedules",
            json=schedule_body(
                str(acme["id"]),
                [platform_price_id],
                start=start.isoformat(),
                end=None,
                taxRates=[{"priceId": platform_price_id, "taxRateId": tax_rate_id}],
            ),
        )
    )
    grant(
        api,
        str(acme["id"]),
        name="Launch credits",
        amount=str(LAUNCH_CREDITS),
        effectiveDate=start.isoformat(),
    )
    now = datetime.now(UTC).replace(microsecond=0)
    send(api, event("acme-prod", (now - timedelta(minutes=5)).isoformat()))
    policy = created(
        api.post(
            "/api/notifications/policies",
            json={
                "name": "Finance alerts",
                "recipients": ["http://127.0.0.1:9/hook"],
                "channel": "WEBHOOK",
                "notificationTypes": ["INVOICE_REMINDER_SENT"],
            },
        )
    )

    alert = created(
        api.post(
            "/api/alerts",
            json={
                "name": "API calls cap",
                "type": "USAGE",
                "customerId": str(acme["id"]),
                "metricId": str(metric["id"]),
                "threshold": "10",
                "emailAddresses": ["ops@example.com"],
            },
        )
    )
    draft_id = insert_invoice(database, credentials.account_id, acme)
    overdue_gross = D("1200.00")
    overdue_number = "NW-0007"
    overdue_id = sent_invoice(
        database,
        credentials.account_id,
        globex,
        invoice_number=overdue_number,
        issue_date=today - timedelta(days=45),
        invoice_date=today - timedelta(days=45),
        due_date=today - timedelta(days=15),
        finalized_at=datetime.now(UTC) - timedelta(days=45),
        sent_at=datetime.now(UTC) - timedelta(days=45),
        net_total=D("1000.00"),
        total_tax=D("200.00"),
        gross_total=overdue_gross,
    )
    not_due_gross = D("270.00")  # insert_invoice's default totals
    not_due_id = sent_invoice(
        database,
        credentials.account_id,
        initech,
        invoice_number="NW-0008",
        issue_date=today,
        invoice_date=today,
        due_date=today + timedelta(days=30),
        finalized_at=datetime.now(UTC),
        sent_at=datetime.now(UTC),
        gross_total=not_due_gross,
    )
    return FinanceWeek(
        merchant=merchant,
        api=api,
        today=today,
        acme=acme,
        globex=globex,
        initech=initech,
        draft_id=draft_id,
        overdue_id=overdue_id,
        overdue_number=overdue_number,
        overdue_gross=overdue_gross,
        not_due_id=not_due_id,
        not_due_gross=not_due_gross,
        product_id=product_id,
        platform_price_id=platform_price_id,
        support_price_id=support_price_id,
        tax_rate_id=tax_rate_id,
        metric_id=str(metric["id"]),
        schedule_id=str(schedule["id"]),
        policy_id=str(policy["id"]),
        api_key_id=str(api_key_id),
        alert_id=str(alert["id"]),
    )


# Not pages: files, downloads and stylesheets the pages link to.
NOT_PAGES = {
    "/dashboard/customers/copy.js",
    "/dashboard/settings/branding/preview.css",
    "/dashboard/invoices/{invoice_id}/pdf",
    "/dashboard/invoices/{invoice_id}/e-invoice",
    "/dashboard/analytics/{name}.csv",  # downloads (tests/dashboard/test_analytics.py)
}


def dashboard_pages(app: FastAPI) -> list[str]:
    """Every GET route under /dashboard that is a page, as its path template."""
    return sorted(
        {
            context.path
            for context in iter_route_contexts(app.routes)
            if context.path
            and context.path.startswith("/dashboard")
            and "GET" in (context.methods or set())
            and context.path not in NOT_PAGES
        }
    )


def fill(template: str, week: FinanceWeek) -> list[str]:
    """The paths that show `template`: one per kind of thing it shows."""
    ids: dict[str, list[str]] = {
        "customer_id": [str(week.acme["id"])],
        "product_id": [week.product_id],
        "price_id": [week.platform_price_id],
        "tax_rate_id": [week.tax_rate_id],
        "schedule_id": [week.schedule_id],
        "policy_id": [week.policy_id],
        "api_key_id": [week.api_key_id],
        "alert_id": [week.alert_id],
    }
    if "/lines/" in template:  # only a draft's lines are edited
        ids["invoice_id"] = [week.draft_id]
        ids["line_id"] = [draft_line(week)]
    elif "{invoice_id}" in template:
        # An overdue sent one, a draft, and next month's (IN_PROGRESS, after a billing run).
        ids["invoice_id"] = [week.overdue_id, week.draft_id, upcoming_invoice(week)]
    paths = [template]
    for name, values in ids.items():
        if "{" + name + "}" in template:
            paths = [path.replace("{" + name + "}", value) for path in paths for value in values]
    assert "{" not in "".join(paths), f"no id in the data set for {template}"
    return paths


def draft_line(week: FinanceWeek) -> str:
    lines = week.api.get(f"/api/invoices/{week.draft_id}/line-items").json()["items"]
    assert lines, "the draft has lines"
    return str(lines[0]["id"])


def upcoming_invoice(week: FinanceWeek) -> str:
    found = week.api.get(
        "/api/invoices", params={"invoiceStatus": "IN_PROGRESS", "customerId": week.acme["id"]}
    ).json()["items"]
    assert len(found) == 1, found
    return str(found[0]["id"])


def page_name(template: str) -> str:
    """A page's name for its screenshot: /dashboard/customers/{customer_id}/edit is
    customers-customer-edit, /dashboard is home."""
    parts = template.removeprefix("/dashboard").strip("/").split("/")
    words = [
        part[1:-1].removesuffix("_id").replace("_", "-") if part.startswith("{") else part
        for part in parts
    ]
    return "-".join(word for word in words if word) or "home"
