"""Reading dashboard pages as people see them: their visible text and their links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser

from fastapi.testclient import TestClient

from tally.db import Database
from tally.models import InvoiceStatus, PaymentStatus
from tests.factories import new_customer, product_body
from tests.invoices.helpers import insert_invoice
from tests.schedules.helpers import created, new_price, schedule_body
from tests.support.api_client import ApiClient


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[tuple[str, str]] = []
        self._skip = 0
        self._href: str | None = None
        self._anchor: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "title"):
            self._skip += 1
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._anchor = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title"):
            self._skip -= 1
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._anchor).split())))
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._href is not None:
            self._anchor.append(data)


def read(html: str) -> tuple[str, list[tuple[str, str]]]:
    """The page's visible text (tags, attributes, scripts left out) and its links (href, text)."""
    page = _Page()
    page.feed(html)
    return " ".join(" ".join(page.text).split()), page.links


def get(dashboard: TestClient, path: str) -> tuple[str, list[tuple[str, str]]]:
    answer = dashboard.get(path)
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
    return read(answer.text)


def links_to(links: list[tuple[str, str]], href: str) -> list[str]:
    """The texts of the links to `href` (its fragment ignored unless given)."""
    return [text for target, text in links if target == href or target.split("#")[0] == href]


@dataclass(frozen=True)
class World:
    """An account with something on every main page: a customer billed by a schedule without
    a label (one price of one product), an in-progress invoice of that schedule, a sent one
    partly paid, and a credit grant."""

    customer_id: str
    product_id: str
    price_id: str
    schedule_id: str
    in_progress_id: str
    partly_paid_id: str
    grant_id: str


CUSTOMER = "Acme Rockets Ltd"
PRODUCT = "Launch platform"
SCHEDULE = f"{CUSTOMER} \u2014 {PRODUCT}"  # a schedule without a label: customer — product


def world(database: Database, api: ApiClient, account_id: str) -> World:
    customer = new_customer(api, CUSTOMER)
    product = created(api.post("/api/products", json=product_body(name=PRODUCT)))
    price_id = new_price(api, product["id"], name="Monthly seat")
    schedule = created(
        api.post("/api/billing-schedules", json=schedule_body(customer["id"], [price_id]))
    )
    in_progress = insert_invoice(
        database,
        account_id,
        customer,
        status=InvoiceStatus.IN_PROGRESS,
        billing_schedule_id=schedule["id"],
    )
    partly_paid = insert_invoice(
        database,
        account_id,
        customer,
        status=InvoiceStatus.SENT,
        invoice_number="INV-WORDS-1",
        payment_status=PaymentStatus.PARTIALLY_PAID,
        due_date=date(2099, 1, 1),  # not overdue: its badge says how much is paid
    )
    granted = api.post(
        "/api/credits",
        json={
            "customerId": customer["id"],
            "name": "Onboarding credits",
            "creditUnitType": "CURRENCY",
            "currency": "GBP",
            "amount": 100,
            "costOfCredit": 80,
            "effectiveDate": "2024-01-01",
        },
    )
    assert granted.status_code == 201, granted.text
    return World(
        customer_id=customer["id"],
        product_id=product["id"],
        price_id=price_id,
        schedule_id=schedule["id"],
        in_progress_id=in_progress,
        partly_paid_id=partly_paid,
        grant_id=granted.json()["id"],
    )
