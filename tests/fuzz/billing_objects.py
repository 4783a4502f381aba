"""One of every billing object, so fuzzed requests can name real ones.

Random ids only ever reach "404 Not Found"; with these, the fuzzer also drives the code
behind the lookup (updates, lifecycle transitions, deletes of live objects).
"""

import re
from typing import Any

import httpx

from tally.db import Database
from tests.catalog.price_bodies import fixed, list_price_body, price_body
from tests.credit_notes.helpers import line_body, sent_invoice
from tests.factories import customer_body, product_body, tax_rate_body
from tests.schedules.helpers import phase, schedule_body
from tests.support.api_client import ApiClient

# Names no schema example uses: the examples phase may create its own before these are made.
SEAT_TYPE = "fuzz_editor"
EVENT_TYPE = "fuzz_call"

DISCOUNT = {"type": "PERCENTAGE", "amount": 10, "message": "Launch", "separateLineItem": False}

# Path segment before a parameter -> the object that parameter names.
_BY_SEGMENT = {
    "customers": "customer",
    "contacts": "contact",
    "customer-aliases": "alias",
    "by-alias": "alias_value",
    "customer-organizations": "organization",
    "products": "product",
    "prices": "price",
    "list-prices": "list_price",
    "discounts": "discount",
    "tax-rates": "tax_rate",
    "versions": "tax_rate_version",
    "usage-metrics": "usage_metric",
    "seat-metrics": "seat_metric",
    "seat-events": "seat_event",
    "billing-schedules": "schedule",
    "invoices": "invoice",
    "credit-notes": "credit_note",
    "policies": "policy",
    "recipients": "recipient",
    "sequence-accounts": "account",
    "portal": "customer",
}

# Top-level body fields that name an object -> that object.
BODY_REFERENCES = {
    "customerId": "customer",
    "ownerId": "customer",
    "customerAlias": "customer",
    "productId": "product",
    "invoiceId": "sent_invoice",
    "creditNoteId": "credit_note",
    "usageMetricId": "usage_metric",
    "seatType": "seat_type",
    "eventType": "event_type",
}


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def make_billing_objects(api: ApiClient, database: Database) -> dict[str, str]:
    """Create one live object of every kind in the API's account; names -> ids."""
    customer = _created(api.post("/api/customers", json=customer_body()))
    other = _created(api.post("/api/customers", json=customer_body(legalName="Child Ltd")))
    contact = _created(
        api.post(
            f"/api/customers/{customer['id']}/contacts",
            json={"name": "Ann", "email": "ann@example.com", "billingPreference": "STANDARD"},
        )
    )
    alias = _created(
        api.post(
            "/api/customer-aliases", json={"customerId": customer["id"], "value": "fuzz-alias-1"}
        )
    )
    organization = _created(
        api.post(
            "/api/customer-organizations",
            json={"ownerId": customer["id"], "memberIds": [other["id"]]},
        )
    )
    product = _created(api.post("/api/products", json=product_body()))
    price = _created(api.post("/api/prices", json=price_body(product["id"], fixed())))
    tax_rate = _created(api.post("/api/tax-rates", json=tax_rate_body()))
    usage_metric = _created(
        api.post(
            "/api/usage-metrics",
            json={
                "name": "Calls",
                "metricType": "SIMPLE",
                "eventType": EVENT_TYPE,
                "aggregationType": "SUM",
                "aggregationProperty": "count",
            },
        )
    )
    seat_metric = _created(
        api.post("/api/seat-metrics", json={"seatType": SEAT_TYPE, "label": "Editor"})
    )
    seat_event = _created(
        api.post(
            "/api/seat-events",
            json={
                "customerAlias": customer["id"],
                "seatType": SEAT_TYPE,
                "eventTimestamp": "2024-05-02T19:00:00Z",
                "total": 3,
            },
        )
    )
    schedule = _created(
        api.post(
            "/api/billing-schedules",
            json=schedule_body(
                customer["id"],
                [price["id"]],
                isDraft=True,
                phases=[phase([price["id"]], discounts=[DISCOUNT])],
            ),
        )
    )
    list_price = _created(
        api.post("/api/list-prices", json=list_price_body(product["id"], fixed()))
    )
    account_id = api.get("/api/sequence-accounts").json()["items"][0]["id"]

    invoice = _created(
        api.post("/api/invoices", json={"currency": "GBP", "customerId": customer["id"]})
    )
    invoice_group = _created(
        api.post(f"/api/invoices/{invoice['id']}/line-item-groups", json={"title": "Services"})
    )
    invoice_line = _created(
        api.post(
            f"/api/invoices/{invoice['id']}/line-items",
            json={"title": "Setup", "quantity": "1", "rate": "50.00", "taxRate": "0.2"},
        )
    )
    sent_id = sent_invoice(database, account_id, customer)
    note = _created(
        api.post(
            "/api/credit-notes",
            json={"invoiceId": sent_id, "customerId": customer["id"], "currency": "GBP"},
        )
    )
    note_group = _created(
        api.post(f"/api/credit-notes/{note['id']}/line-item-groups", json={"title": "Platform"})
    )
    note_line = _created(api.post(f"/api/credit-notes/{note['id']}/line-items", json=line_body()))
    grant = _created(
        api.post(
            "/api/credits",
            json={
                "customerId": customer["id"],
                "name": "Prepaid credits",
                "creditUnitType": "CURRENCY",
                "currency": "GBP",
                "amount": 100,
            },
        )
    )
    recipient = "https://hooks.example.com/tally"
    policy = _created(
        api.post(
            "/api/notifications/policies",
            json={"name": "Hooks", "recipients": [recipient], "channel": "WEBHOOK"},
        )
    )
    return {
        "customer": customer["id"],
        "contact": contact["id"],
        "alias": alias["id"],
        "alias_value": alias["value"],
        "organization": organization["id"],
        "product": product["id"],
        "price": price["id"],
        "tax_rate": tax_rate["id"],
        "tax_rate_version": "1",
        "usage_metric": usage_metric["id"],
        "seat_metric": seat_metric["id"],
        "seat_event": seat_event["id"],
        "schedule": schedule["id"],
        "discount": schedule["phases"][0]["discounts"][0]["id"],
        "list_price": list_price["id"],
        "account": account_id,
        "invoice": invoice["id"],
        "invoice_group": invoice_group["id"],
        "invoice_line": invoice_line["id"],
        "sent_invoice": sent_id,
        "credit_note": note["id"],
        "credit_note_group": note_group["id"],
        "credit_note_line": note_line["id"],
        "grant": grant["id"],
        "policy": policy["id"],
        "recipient": recipient,
        "seat_type": SEAT_TYPE,
        "event_type": EVENT_TYPE,
    }


class BillingObjects:
    """The objects of one account, made on first use: operations that never name one (most
    lists) do not pay for them."""

    def __init__(self, api: ApiClient, database: Database) -> None:
        self._api = api
        self._database = database
        self._ids: dict[str, str] | None = None
        self._failure: Exception | None = None

    @property
    def ids(self) -> dict[str, str]:
        # A second attempt would only fail on what the first one left behind (duplicates): keep
        # reporting the first failure instead.
        if self._failure is not None:
            raise self._failure
        if self._ids is None:
            try:
                self._ids = make_billing_objects(self._api, self._database)
            except Exception as failure:
                self._failure = failure
                raise
        return self._ids


def known_path_value(path: str, parameter: str, objects: BillingObjects) -> str | None:
    """The real object a path parameter of `path` names, if there is one."""
    match = re.search(r"([^/{}]+)/\{" + re.escape(parameter) + r"\}", path)
    if match is None:
        return None
    segment = match.group(1)
    owner = "credit_note" if path.startswith("/api/credit-notes") else "invoice"
    if segment == "line-items":
        return objects.ids[f"{owner}_line"]
    if segment == "line-item-groups":
        return objects.ids[f"{owner}_group"]
    if segment == "credits":
        # /api/credits/{id} is a grant; /api/credits/{customer}/... a customer.
        return objects.ids["grant" if parameter == "id" else "customer"]
    name = _BY_SEGMENT.get(segment)
    return objects.ids[name] if name else None
