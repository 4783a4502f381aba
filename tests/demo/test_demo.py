"""The demo `make run` loads tells its story: a year of invoices in every state, paid and
overdue ones, a credit note, payments, a parent with two children; and every dashboard and
portal page it links to renders for it. The demo is loaded once for the module, into the test
run's database, with its own data directory."""

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.db import Database
from tally.demo import DemoUser, load_demo, load_demo_user
from tally.demo.banner import demo_banner
from tests.dashboard.helpers import browser, sign_in
from tests.support.api_client import ApiClient


@dataclass(frozen=True)
class Demo:
    credentials: Credentials
    user: DemoUser
    portal_link: str
    data_dir: Path


@pytest.fixture(scope="module")
def demo(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    data_dir = tmp_path_factory.mktemp("demo")
    credentials, created = load_demo(database, data_dir)
    assert created
    user = load_demo_user(database, data_dir, credentials.account_id)
    banner = demo_banner(database, credentials, user, "http://t", "http://t")
    return Demo(credentials, user, banner.portal_link.removeprefix("http://t"), data_dir)


@pytest.fixture(scope="module")
def demo_api(http: TestClient, demo: Demo) -> ApiClient:
    return ApiClient(http, (demo.credentials.api_key, demo.credentials.api_secret))


def every(api: ApiClient, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = None
    while True:
        query = {"limit": 100, **params, **({"after": after} if after else {})}
        answer = api.get(path, params=query)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        items += page["items"]
        after = page["pagination"].get("after")
        if not after:
            return items


@pytest.fixture(scope="module")
def invoices(demo_api: ApiClient) -> list[dict[str, Any]]:
    return every(demo_api, "/api/invoices")


def test_the_demo_loads_once(database: Database, demo: Demo) -> None:
    again, created = load_demo(database, demo.data_dir)
    assert not created
    assert again == demo.credentials


def test_the_customers_are_a_parent_with_two_children_and_one_more(
    demo_api: ApiClient,
) -> None:
    customers = {c["legalName"]: c for c in every(demo_api, "/api/customers")}
    assert set(customers) == {
        "Globex Corporation",
        "Globex Research Ltd",
        "Globex Labs Ltd",
        "Initech Inc",
    }
    parent = customers["Globex Corporation"]["id"]
    children = {name for name, c in customers.items() if c.get("parentId") == parent}
    assert children == {"Globex Research Ltd", "Globex Labs Ltd"}
    assert customers["Initech Inc"].get("parentId") is None


def test_invoices_are_in_every_state(invoices: list[dict[str, Any]]) -> None:
    statuses = Counter(invoice["status"] for invoice in invoices)
    assert set(statuses) == {"IN_PROGRESS", "DRAFT", "FINAL", "SENT", "VOIDED"}, statuses
    assert statuses["IN_PROGRESS"] == 4  # each schedule's current period
    assert statuses["VOIDED"] == 1 and statuses["FINAL"] == 1
    assert statuses["SENT"] >= 30
    payment = Counter(i["paymentStatus"] for i in invoices if i["status"] == "SENT")
    assert payment["PAID"] >= 25
    assert payment["PARTIALLY_PAID"] == 1
    assert payment["UNPAID"] >= 1


def test_one_customer_is_overdue(invoices: list[dict[str, Any]]) -> None:
    today = datetime.now(ZoneInfo("Europe/London")).date()  # the demo account's today
    overdue = [
        i
        for i in invoices
        if i["status"] == "SENT"
        and i["paymentStatus"] != "PAID"
        and date.fromisoformat(i["dueDate"]) < today
        and Decimal(i["grossTotal"]) > 0
    ]
    assert overdue, "no invoice is overdue"
    assert {i["customerLegalCompanyName"] for i in overdue} >= {"Globex Research Ltd"}


def test_payments_settle_what_they_paid(
    demo_api: ApiClient, invoices: list[dict[str, Any]]
) -> None:
    payments = every(demo_api, "/api/payments")
    assert len(payments) >= 25
    paid_by_invoice: dict[str, Decimal] = {}
    for payment in payments:
        paid_by_invoice[payment["invoiceId"]] = paid_by_invoice.get(
            payment["invoiceId"], Decimal(0)
        ) + Decimal(payment["amount"])
    by_id = {i["id"]: i for i in invoices}
    [partly] = [i for i in invoices if i["paymentStatus"] == "PARTIALLY_PAID"]
    gross = Decimal(partly["grossTotal"])
    assert paid_by_invoice[partly["id"]] == (gross / 2).quantize(Decimal("0.01"))
    for invoice_id, paid in paid_by_invoice.items():
        assert by_id[invoice_id]["status"] == "SENT"
        assert paid <= Decimal(by_id[invoice_id]["grossTotal"])


def test_a_credit_note_corrects_a_paid_invoice(
    demo_api: ApiClient, invoices: list[dict[str, Any]]
) -> None:
    [note] = every(demo_api, "/api/credit-notes")
    assert note["status"] == "SENT"
    # One line: a 150.00 service credit, taxed at the UK's 20 %.
    assert Decimal(note["grossTotal"]) == Decimal("150.00") * Decimal("1.2")
    [credited] = [i for i in invoices if i["id"] == note["invoiceId"]]
    assert credited["customerLegalCompanyName"] == "Globex Corporation"
    assert credited["paymentStatus"] == "PAID"
    [payment] = every(demo_api, f"/api/invoices/{credited['id']}/payments")
    assert Decimal(payment["amount"]) == Decimal(credited["grossTotal"]) - Decimal(
        note["grossTotal"]
    )


def test_seats_are_billed_per_editor(invoices: list[dict[str, Any]]) -> None:
    """Globex Labs: 3 editors at 25.00 for the first months (5 from the fifth on), plus VAT."""
    labs = sorted(
        (i for i in invoices if i["customerLegalCompanyName"] == "Globex Labs Ltd"),
        key=lambda i: i["invoiceDate"],
    )
    assert Decimal(labs[0]["grossTotal"]) == 3 * Decimal("25.00") * Decimal("1.2")
    assert Decimal(labs[-1]["grossTotal"]) == 5 * Decimal("25.00") * Decimal("1.2")


# --- pages ------------------------------------------------------------------------------------

SKIPPED = re.compile(r"/(pdf|e-invoice|sign-out|export)\b|\.(css|js|png|svg|ico)$")
ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def crawl(client: TestClient, start: str, within: str, limit: int = 120) -> dict[str, int]:
    """Every page reachable from `start` by links under `within` (a page per route, at most
    two of each): path -> status."""
    seen: dict[str, int] = {}
    per_route: Counter[str] = Counter()
    queue = [start]
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen:
            continue
        route = ID.sub("/{id}", urlsplit(path).path)
        if per_route[route] >= 2:
            continue
        per_route[route] += 1
        page = client.get(path)
        seen[path] = page.status_code
        if page.status_code != 200 or "text/html" not in page.headers.get("content-type", ""):
            continue
        for href in re.findall(r'href="([^"]+)"', page.text):
            link = urldefrag(href.replace("&amp;", "&"))[0]
            if link.startswith(within) and not SKIPPED.search(link) and link not in seen:
                queue.append(link)
    return seen


@pytest.fixture(scope="module")
def merchant_browser(app: FastAPI, demo: Demo) -> Iterator[TestClient]:
    with browser(app) as client:
        answer = sign_in(client, demo.user.email, demo.user.password)
        assert getattr(answer, "status_code", None) == 303
        yield client


def test_every_dashboard_page_renders_for_the_demo(merchant_browser: TestClient) -> None:
    pages = crawl(merchant_browser, "/dashboard", "/dashboard")
    broken = {path: status for path, status in pages.items() if status != 200}
    assert not broken
    assert len(pages) >= 20, sorted(pages)
    customers = merchant_browser.get("/dashboard/customers").text
    assert "Globex Research Ltd" in customers and "Initech Inc" in customers


def test_the_dashboard_lists_the_demos_invoices(
    merchant_browser: TestClient, invoices: list[dict[str, Any]]
) -> None:
    page = merchant_browser.get("/dashboard/invoices")
    assert page.status_code == 200
    numbered = [i["invoiceNumber"] for i in invoices if i.get("invoiceNumber")]
    assert any(number in page.text for number in numbered)


def test_every_portal_page_renders_for_globex(app: FastAPI, demo: Demo) -> None:
    with browser(app) as client:
        entry = client.get(demo.portal_link)
        assert entry.status_code in (200, 303), entry.text
        start = entry.headers.get("location", demo.portal_link)
        pages = crawl(client, start, "/portal", limit=60)
    broken = {path: status for path, status in pages.items() if status != 200}
    assert not broken
    assert len(pages) >= 3, sorted(pages)
