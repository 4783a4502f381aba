"""Every destructive or financial action through the API leaves exactly one activity log entry
(verb, object, target, the API key that acted), and a refused request (or one that changes
nothing) leaves none. The table lists every writing operation: logged ones with what their
entry says, the others with why they are not logged, so a new route fails here until someone
decides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.core.clock import utcnow
from tally.credits.expiry import expire_due
from tally.dashboard.users import create_user
from tally.db import Database, new_id
from tally.models import ApiKey, CollectionStatus, Invoice, InvoiceCollection, InvoiceStatus
from tests.catalog.price_bodies import fixed, list_price_body
from tests.credit_notes.helpers import add_line, line_body, new_note, sent_invoice
from tests.factories import customer_body, product_body, tax_rate_body
from tests.invoices.helpers import counting_statements, insert_invoice
from tests.schedules.helpers import Setup, phase, update_body
from tests.support.api_client import ApiClient
from tests.test_contract import api_operations


@dataclass
class World:
    """The test's account, and what operations are set up with."""

    api: ApiClient
    database: Database
    account_id: str

    def customer(self, **fields: Any) -> dict[str, Any]:
        return self.created(self.api.post("/api/customers", json=customer_body(**fields)))

    def created(self, response: Any) -> dict[str, Any]:
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    def invoice(self, customer: dict[str, Any] | None = None, **columns: Any) -> str:
        """A DRAFT invoice with two groups and three lines (tests/invoices/helpers.py)."""
        return insert_invoice(
            self.database, self.account_id, customer or self.customer(), **columns
        )

    def final_invoice(self) -> str:
        invoice_id = self.invoice()
        self.created(self.api.post(f"/api/invoices/{invoice_id}/finalize"))
        return invoice_id

    def sent(self, customer: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        customer = customer or self.customer()
        return sent_invoice(self.database, self.account_id, customer), customer

    def detail(self, invoice_id: str) -> dict[str, Any]:
        return self.created(self.api.get(f"/api/invoices/{invoice_id}"))

    def note(self, *, lines: int = 1) -> dict[str, Any]:
        invoice_id, customer = self.sent()
        note = new_note(self.api, invoice_id, customer["id"])
        for _ in range(lines):
            add_line(self.api, note["id"])
        return note

    def issued_note(self, how: str = "finalize") -> dict[str, Any]:
        note = self.note()
        self.created(self.api.post(f"/api/credit-notes/{note['id']}/{how}"))
        return note

    def grant(self, customer_id: str) -> dict[str, Any]:
        body = {
            "customerId": customer_id,
            "name": "Onboarding credits",
            "creditUnitType": "CURRENCY",
            "currency": "GBP",
            "amount": 100,
            "effectiveDate": "2024-01-01",
        }
        return self.created(self.api.post("/api/credits", json=body))

    def policy(self) -> dict[str, Any]:
        body = {
            "name": "Finance",
            "channel": "EMAIL",
            "recipients": ["a@example.com", "b@example.com"],
            "notificationTypes": ["INVOICE_CREATED", "INVOICE_UPDATED"],
        }
        return self.created(self.api.post("/api/notifications/policies", json=body))

    def metric(self) -> dict[str, Any]:
        body = {"name": "Calls", "eventType": "call", "aggregationType": "COUNT"}
        return self.created(self.api.post("/api/usage-metrics", json=body))


@dataclass(frozen=True)
class Call:
    """One request, the entry it must leave, and a request that must leave none."""

    method: str
    url: str
    body: Any = None
    object_id: str | None = None  # None: the id of the created object in the answer
    target_id: str | None = None
    refused: tuple[str, str, Any] | None = None  # None: the same request again
    refused_status: int | tuple[int, ...] = (400, 404, 409)


@dataclass(frozen=True)
class Logged:
    operation: tuple[str, str]  # (method, path template), as the OpenAPI document lists it
    verb: str
    object_type: str
    target_type: str | None
    call: Callable[[World], Call] = field(repr=False)
    # Entries about other objects the operation leaves too, as (verb, object type): a refund
    # also issues the credit note that documents it.
    also: tuple[tuple[str, str], ...] = ()


def _invoice_lines(world: World) -> tuple[str, str, str]:
    invoice_id = world.invoice()
    detail = world.detail(invoice_id)
    return invoice_id, detail["lineItems"][0]["id"], detail["lineItemGroups"][0]["id"]


def _customer_of(world: World, invoice_id: str) -> str:
    return str(world.detail(invoice_id)["customerId"])


# --- the operations that are logged ------------------------------------------------------------


def invoice_create(w: World) -> Call:
    customer = w.customer()
    body = {"customerId": customer["id"], "currency": "GBP"}
    return Call(
        "POST", "/api/invoices", body, target_id=customer["id"],
        refused=("POST", "/api/invoices", {"customerId": "nobody", "currency": "GBP"}),
    )  # fmt: skip


def invoice_transition(action: str, setup: str = "draft") -> Callable[[World], Call]:
    def call(w: World) -> Call:
        invoice_id = {
            "draft": w.invoice,
            "final": w.final_invoice,
            "upcoming": lambda: w.invoice(status=InvoiceStatus.IN_PROGRESS),
        }[setup]()
        url = f"/api/invoices/{invoice_id}" + (f"/{action}" if action else "")
        method = "DELETE" if not action else "POST"
        return Call(method, url, object_id=invoice_id, target_id=_customer_of(w, invoice_id))

    return call


def invoice_payment_status(w: World) -> Call:
    invoice_id, customer = w.sent()
    url = f"/api/invoices/{invoice_id}/payment-status"
    return Call(
        "PUT", url, {"paymentStatus": "PAID"}, invoice_id, customer["id"],
        refused=("PUT", url, {"paymentStatus": "SOMEWHAT"}),
    )  # fmt: skip


def invoice_patch_sent(w: World) -> Call:
    invoice_id, customer = w.sent()
    url = f"/api/invoices/{invoice_id}/sent"
    return Call(
        "PATCH", url, {"memo": "Thanks"}, invoice_id, customer["id"],
        refused=("PATCH", url, {"dueDate": "2000-01-01"}),
    )  # fmt: skip


def invoice_update(method: str) -> Callable[[World], Call]:
    def call(w: World) -> Call:
        invoice_id = w.invoice()
        url = f"/api/invoices/{invoice_id}"
        return Call(
            method, url, {"memo": "Thanks"}, invoice_id, _customer_of(w, invoice_id),
            refused=(method, url, {"customerLegalCompanyName": None}),
        )  # fmt: skip

    return call


def invoice_merge(w: World) -> Call:
    customer = w.customer()
    ids = [w.invoice(customer), w.invoice(customer)]
    return Call("POST", "/api/invoices/merge", {"invoiceIds": ids}, target_id=customer["id"])


def invoice_reminder(w: World) -> Call:
    invoice_id, customer = w.sent()
    url = f"/api/invoices/{invoice_id}/send-payment-reminder"
    # Again the same day: retry-safe, nothing more sent or logged.
    return Call("POST", url, None, invoice_id, customer["id"], refused_status=200)


def invoice_billing_run_fix(w: World) -> Call:
    schedule = Setup(w.api).create()
    invoice_id = w.invoice(billing_schedule_id=schedule["id"], billing_run=True)
    with w.database.transaction() as session:
        invoice = session.get_one(Invoice, invoice_id)
        invoice.billing_run_id = None  # lost its link: the run still names it
    return Call(
        "POST", "/api/invoices/fix-billing-runs", None, invoice_id, _customer_of(w, invoice_id),
        refused_status=202,  # nothing left to fix
    )  # fmt: skip


def render_settings_update(w: World) -> Call:
    settings = w.created(w.api.get("/api/invoices/render-settings"))
    url = f"/api/invoices/render-settings/{settings['id']}"
    return Call(
        "PUT", url, {"paymentLinkDisplay": "HIDE_PAYMENT_LINK"}, settings["id"],
        refused=("PUT", url, {"paymentLinkDisplay": "BLINK"}),
    )  # fmt: skip


LINE = {"title": "Consulting", "quantity": "2", "rate": "50", "taxRate": "0.2"}


def invoice_line(method: str) -> Callable[[World], Call]:
    def call(w: World) -> Call:
        invoice_id, line_id, _ = _invoice_lines(w)
        customer_id = _customer_of(w, invoice_id)
        lines = f"/api/invoices/{invoice_id}/line-items"
        url = lines if method == "POST" else f"{lines}/{line_id}"
        body = None if method == "DELETE" else LINE
        refused = None if method == "DELETE" else (method, url, {**LINE, "quantity": "many"})
        return Call(method, url, body, invoice_id, customer_id, refused=refused)

    return call


def invoice_group(method: str) -> Callable[[World], Call]:
    def call(w: World) -> Call:
        invoice_id, _, group_id = _invoice_lines(w)
        customer_id = _customer_of(w, invoice_id)
        groups = f"/api/invoices/{invoice_id}/line-item-groups"
        url = groups if method == "POST" else f"{groups}/{group_id}"
        body = None if method == "DELETE" else {"title": "Services"}
        refused = None if method == "DELETE" else (method, url, {"title": ""})
        return Call(method, url, body, invoice_id, customer_id, refused=refused)

    return call


def note_create(w: World) -> Call:
    invoice_id, customer = w.sent()
    body = {"invoiceId": invoice_id, "customerId": customer["id"], "currency": "GBP"}
    draft = w.invoice(customer)
    return Call(
        "POST", "/api/credit-notes", body, target_id=customer["id"],
        refused=("POST", "/api/credit-notes", {**body, "invoiceId": draft}),
    )  # fmt: skip


def note_action(action: str, setup: str = "draft") -> Callable[[World], Call]:
    def call(w: World) -> Call:
        note = w.note() if setup == "draft" else w.issued_note()
        url = f"/api/credit-notes/{note['id']}" + (f"/{action}" if action else "")
        method = "DELETE" if not action else "POST"
        return Call(method, url, object_id=note["id"], target_id=note["customerId"])

    return call


def note_update(w: World) -> Call:
    note = w.note()
    url = f"/api/credit-notes/{note['id']}"
    return Call(
        "PUT", url, {"memo": "Goodwill"}, note["id"], note["customerId"],
        refused=("PUT", url, {"customerEmails": None}),
    )  # fmt: skip


def note_line(method: str) -> Callable[[World], Call]:
    def call(w: World) -> Call:
        note = w.note()
        lines = f"/api/credit-notes/{note['id']}/line-items"
        line_id = w.created(w.api.get(lines))["items"][0]["id"]
        url = lines if method == "POST" else f"{lines}/{line_id}"
        body = None if method == "DELETE" else line_body(title="Refund", rate="5.00")
        # More than the invoice's 270.00: the caps refuse it.
        refused = None if method == "DELETE" else (method, url, line_body(rate="10000"))
        return Call(method, url, body, note["id"], note["customerId"], refused=refused)

    return call


def note_group(method: str) -> Callable[[World], Call]:
    def call(w: World) -> Call:
        note = w.note()
        groups = f"/api/credit-notes/{note['id']}/line-item-groups"
        group_id = w.created(w.api.post(groups, json={"title": "Refunds"}))["id"]
        url = groups if method == "POST" else f"{groups}/{group_id}"
        body = None if method == "DELETE" else {"title": "Goodwill"}
        refused = None if method == "DELETE" else (method, url, {"title": ""})
        return Call(method, url, body, note["id"], note["customerId"], refused=refused)

    return call


def note_application(w: World) -> Call:
    note = w.issued_note()
    invoice_id = note["invoiceId"]
    body = {
        "creditNoteId": note["id"],
        "invoiceId": invoice_id,
        "amount": "12.00",
        "currency": "GBP",
        "creditNoteBalanceVersion": 1,
        "invoiceBalanceVersion": 1,
    }
    # The same request again carries versions that are stale by then: 409, as Sequence says.
    return Call("POST", "/api/credit-note-applications", body, invoice_id, note["customerId"])


def grant_create(w: World) -> Call:
    customer = w.customer()
    body = {
        "customerId": customer["id"],
        "name": "Onboarding credits",
        "creditUnitType": "CURRENCY",
        "currency": "GBP",
        "amount": 100,
    }
    return Call(
        "POST", "/api/credits", body, target_id=customer["id"],
        refused=("POST", "/api/credits", {**body, "amount": "1.001"}),
    )  # fmt: skip


def grant_delete(w: World) -> Call:
    customer = w.customer()
    grant = w.grant(customer["id"])
    return Call("DELETE", f"/api/credits/{grant['id']}", None, grant["id"], customer["id"])


def top_up_create(w: World) -> Call:
    customer = w.customer()
    body = {"customerId": customer["id"], "currency": "GBP", "amount": 50, "cost": 40}
    return Call(
        "POST", "/api/credit-top-ups", body, target_id=customer["id"],
        refused=("POST", "/api/credit-top-ups", {**body, "cost": "1.001"}),
    )  # fmt: skip


RECHARGE = {"belowBalance": 10, "rechargeAmount": 50}


def auto_recharge_set(w: World) -> Call:
    customer = w.customer()
    url = f"/api/customers/{customer['id']}/auto-recharges/GBP"
    return Call(
        "PUT", url, RECHARGE, target_id=customer["id"],
        refused=("PUT", url, {**RECHARGE, "rechargeAmount": "1.001"}),
    )  # fmt: skip


def auto_recharge_delete(w: World) -> Call:
    customer = w.customer()
    url = f"/api/customers/{customer['id']}/auto-recharges/GBP"
    row = w.api.put(url, json=RECHARGE).json()
    return Call("DELETE", url, None, row["id"], customer["id"])


def schedule_create(w: World) -> Call:
    setup = Setup(w.api)
    body = setup.body()
    bad = {**body, "endDate": "2023-01-01"}
    return Call(
        "POST", "/api/billing-schedules", body, target_id=setup.customer_id,
        refused=("POST", "/api/billing-schedules", bad),
    )  # fmt: skip


def schedule_update(w: World) -> Call:
    setup = Setup(w.api)
    schedule = setup.create()
    url = f"/api/billing-schedules/{schedule['id']}"
    other = setup.price(name="Support")
    body = update_body(schedule)
    body["phases"][0]["priceIds"] = [schedule["phases"][0]["priceIds"][0], other]
    return Call(
        "PUT", url, body, schedule["id"], setup.customer_id,
        refused=("PUT", url, {**body, "endDate": "2023-01-01"}),
    )  # fmt: skip


def schedule_activate(w: World) -> Call:
    setup = Setup(w.api)
    schedule = setup.create(isDraft=True)
    url = f"/api/billing-schedules/{schedule['id']}/activate"
    # Activating it again changes nothing: 200, and nothing logged.
    return Call("PUT", url, None, schedule["id"], setup.customer_id, refused_status=200)


def schedule_archive(w: World) -> Call:
    setup = Setup(w.api)
    schedule = setup.create()
    url = f"/api/billing-schedules/{schedule['id']}/archive"
    return Call("POST", url, None, schedule["id"], setup.customer_id, refused_status=200)


def price_update(w: World) -> Call:
    setup = Setup(w.api)
    url = f"/api/prices/{setup.price_id}"
    return Call(
        "PUT", url, {"name": "Platform fee", "status": "DRAFT"}, setup.price_id,
        setup.product_id, refused=("PUT", url, {"name": ""}),
    )  # fmt: skip


def price_delete(w: World) -> Call:
    setup = Setup(w.api)
    url = f"/api/prices/{setup.price_id}"
    return Call("DELETE", url, None, setup.price_id, setup.product_id)


def list_price(action: str) -> Callable[[World], Call]:
    def call(w: World) -> Call:
        product_id = w.created(w.api.post("/api/products", json=product_body()))["id"]
        body = list_price_body(product_id, fixed())
        if action == "create":
            refused = ("POST", "/api/list-prices", {**body, "status": "ACTIVE"})
            return Call("POST", "/api/list-prices", body, None, product_id, refused=refused)
        made = w.created(w.api.post("/api/list-prices", json=body))
        url = f"/api/list-prices/{made['id']}"
        if action == "update":  # the same again changes nothing: no entry
            changed = {**body, "name": "Platform"}
            return Call("PUT", url, changed, made["id"], product_id, refused_status=200)
        return Call("POST", f"{url}/archive", None, made["id"], product_id, refused_status=200)

    return call


def discount(action: str) -> Callable[[World], Call]:
    def call(w: World) -> Call:
        setup = Setup(w.api)
        given = {"type": "PERCENTAGE", "amount": 10, "message": "Off", "separateLineItem": False}
        schedule = setup.create(phases=[phase([setup.price_id], discounts=[given])])
        discount_id = schedule["phases"][0]["discounts"][0]["id"]
        url = f"/api/discounts/{discount_id}"
        if action == "delete":
            return Call("DELETE", url, None, discount_id, setup.customer_id)
        body = {
            "billingScheduleId": schedule["id"],
            "priceIds": [],
            "separateLineItem": True,
            "amount": 20,
            "discountCalculationType": "PERCENTAGE",
            "message": "Loyalty",
        }
        refused = ("PUT", url, {**body, "amount": 0})
        return Call("PUT", url, body, discount_id, setup.customer_id, refused=refused)

    return call


def product_archive(w: World) -> Call:
    product = w.created(w.api.post("/api/products", json=product_body()))
    url = f"/api/products/{product['id']}/archive"
    return Call("POST", url, None, product["id"], refused_status=200)


def tax_rate(action: str) -> Callable[[World], Call]:
    def call(w: World) -> Call:
        rate = w.created(w.api.post("/api/tax-rates", json=tax_rate_body()))
        url = f"/api/tax-rates/{rate['id']}"
        if action == "update":
            body = tax_rate_body(id=rate["id"], amount="0.21")
            return Call("PUT", url, body, rate["id"], refused=("PUT", url, {**body, "id": "x"}))
        if action == "archive":
            return Call("POST", f"{url}/archive", None, rate["id"], refused_status=200)
        return Call("DELETE", url, None, rate["id"])

    return call


def usage_metric_update(w: World) -> Call:
    metric = w.metric()
    url = f"/api/usage-metrics/{metric['id']}"
    body = {"name": "API calls", "eventType": "call", "aggregationType": "COUNT"}
    return Call("PUT", url, body, metric["id"], refused=("PUT", url, {**body, "name": ""}))


def usage_metric_delete(w: World) -> Call:
    metric = w.metric()
    return Call("DELETE", f"/api/usage-metrics/{metric['id']}", None, metric["id"])


def seat_metric_delete(w: World) -> Call:
    metric = w.created(w.api.post("/api/seat-metrics", json={"seatType": "editor", "label": "E"}))
    return Call("DELETE", f"/api/seat-metrics/{metric['id']}", None, metric["id"])


def customer_update(w: World) -> Call:
    customer = w.customer()
    url = f"/api/customers/{customer['id']}"
    body = customer_body(legalName="Renamed Ltd")
    return Call("PUT", url, body, customer["id"], refused=("PUT", url, {**body, "legalName": ""}))


def customer_archive(w: World) -> Call:
    customer = w.customer()
    url = f"/api/customers/{customer['id']}/archive"
    return Call("POST", url, None, customer["id"], refused_status=200)


def contact_archive(w: World) -> Call:
    contacts = [
        {"name": "Jane Payer", "email": "jane@example.com", "billingPreference": "PRIMARY"},
        {"name": "Ann Copy", "email": "ann@example.com", "billingPreference": "STANDARD"},
    ]
    customer = w.customer(contacts=contacts)
    contact_id = customer["contacts"][0]["id"]
    url = f"/api/customers/{customer['id']}/contacts/{contact_id}/archive"
    return Call("POST", url, None, contact_id, customer["id"], refused_status=200)


def alias_delete(w: World) -> Call:
    customer = w.customer(customerAliases=["acme-7"])
    alias_id = w.created(w.api.get(f"/api/customers/{customer['id']}/aliases"))["items"][0]["id"]
    return Call("DELETE", f"/api/customer-aliases/{alias_id}", None, alias_id, customer["id"])


def organization(action: str) -> Callable[[World], Call]:
    def call(w: World) -> Call:
        owner, member = w.customer(legalName="Holding"), w.customer(legalName="Subsidiary")
        if action == "create":
            body = {"ownerId": owner["id"], "memberIds": [member["id"]]}
            refused = ("POST", "/api/customer-organizations", {**body, "ownerId": "nobody"})
            return Call(
                "POST", "/api/customer-organizations", body, target_id=owner["id"],
                refused=refused,
            )  # fmt: skip
        body = {"ownerId": owner["id"], "memberIds": []}
        org = w.created(w.api.post("/api/customer-organizations", json=body))
        url = f"/api/customer-organizations/{org['id']}/members"
        members = {"customerIds": [member["id"]]}
        method = "POST" if action == "add" else "PUT"
        refused = (method, url, {"customerIds": ["nobody"]})
        return Call(method, url, members, org["id"], owner["id"], refused=refused)

    return call


def policy_change(action: str) -> Callable[[World], Call]:
    def call(w: World) -> Call:
        policy = w.policy()
        url = f"/api/notifications/policies/{policy['id']}"
        if action == "delete":
            return Call("DELETE", url, None, policy["id"])
        if action == "remove type":
            return Call("DELETE", f"{url}/notification-types/INVOICE_CREATED", None, policy["id"])
        if action == "remove recipient":
            return Call("DELETE", f"{url}/recipients/a@example.com", None, policy["id"])
        if action == "add types":
            body = {"notificationTypes": ["CUSTOMER_CREATED"]}
            bad = {"notificationTypes": ["NO_SUCH_TYPE"]}
            return Call(
                "POST", f"{url}/notification-types", body, policy["id"],
                refused=("POST", f"{url}/notification-types", bad),
            )  # fmt: skip
        body = {"recipients": ["c@example.com"]}
        bad = {"recipients": ["not an email"]}
        return Call(
            "POST", f"{url}/recipients", body, policy["id"],
            refused=("POST", f"{url}/recipients", bad),
        )  # fmt: skip

    return call


def portal_settings(w: World) -> Call:
    body = {"brandColor": "#112233", "tabs": ["INVOICES", "USAGE"]}
    return Call(
        "PUT", "/api/portal-settings", body, w.account_id,
        refused=("PUT", "/api/portal-settings", {"brandColor": "red; x"}),
    )  # fmt: skip


def portal_rotate(w: World) -> Call:
    customer = w.customer()
    url = f"/api/customers/{customer['id']}/portal-link/rotate"
    return Call(
        "POST", url, None, customer["id"],
        refused=("POST", "/api/customers/nobody/portal-link/rotate", None),
    )  # fmt: skip


def account_update(w: World) -> Call:
    url = f"/api/sequence-accounts/{w.account_id}"
    return Call(
        "PUT", url, {"companyName": "Renamed merchant", "paymentTermsDays": 14}, w.account_id,
        refused=("PUT", url, {"paymentTermsDays": 1000}),
    )  # fmt: skip


def alert(action: str) -> Callable[[World], Call]:
    def call(w: World) -> Call:
        customer = w.customer()
        body = {"name": "Cap", "type": "USAGE", "customerId": customer["id"],
                "metricId": w.metric()["id"], "threshold": "10"}  # fmt: skip
        if action == "create":
            refused = ("POST", "/api/alerts", {**body, "threshold": "-1"})
            return Call("POST", "/api/alerts", body, target_id=customer["id"], refused=refused)
        made = w.created(w.api.post("/api/alerts", json=body))
        url = f"/api/alerts/{made['id']}"
        if action == "update":
            refused = ("PUT", url, {**body, "type": "SPEND", "metricId": None})
            return Call("PUT", url, {**body, "threshold": "20"}, made["id"], customer["id"],
                        refused=refused)  # fmt: skip
        return Call("DELETE", url, None, made["id"], customer["id"])

    return call


def tax_registration(action: str) -> Callable[[World], Call]:
    def call(w: World) -> Call:
        customer = w.customer()
        body = {"customerId": customer["id"], "taxIdentifier": "DE123456789", "country": "DE"}
        if action == "create":
            refused = ("POST", "/api/tax-registrations", {**body, "country": "XX"})
            return Call("POST", "/api/tax-registrations", body, target_id=customer["id"],
                        refused=refused)  # fmt: skip
        made = w.created(w.api.post("/api/tax-registrations", json=body))
        url = f"/api/tax-registrations/{made['id']}"
        if action == "update":
            changed = {**body, "taxIdentifier": "DE999999999"}
            refused = ("PUT", url, {**body, "state": "CA"})
            return Call("PUT", url, changed, made["id"], customer["id"], refused=refused)
        return Call("DELETE", url, None, made["id"], customer["id"])

    return call


def user_delete(w: World) -> Call:
    with w.database.transaction() as session:
        users = [
            create_user(session, w.account_id, f"{new_id()}@example.com", "x" * 12)
            for _ in range(2)
        ]
        user_id = users[0].id
    # Deleting a deactivated user again changes nothing: 200, and nothing logged.
    return Call("DELETE", f"/api/users/{user_id}", None, user_id, refused_status=200)


def schedule_duplicate(w: World) -> Call:
    setup = Setup(w.api)
    schedule = setup.create()
    url = f"/api/billing-schedules/{schedule['id']}/duplicate"
    return Call(
        "POST", url, {"customerId": setup.customer_id}, target_id=setup.customer_id,
        refused=("POST", url, {"customerId": "nobody"}),
    )  # fmt: skip


def attachment_upload(w: World) -> Call:
    # Any bytes are a file: the JSON text the driver sends is a valid .txt one.
    return Call(
        "POST", "/api/attachments?fileName=notes.txt", "Delivery notes", None,
        refused=("POST", "/api/attachments?fileName=notes.exe", "Delivery notes"),
    )  # fmt: skip


STRIPE_KEYS = {"secretKey": "sk_test_coverage_1234", "webhookSecret": "whsec_coverage"}


def stripe_connect(w: World) -> Call:
    url = "/api/payment-providers/stripe"
    return Call("PUT", url, STRIPE_KEYS, refused=("PUT", url, {"secretKey": "nope"}))


def payment_record(w: World) -> Call:
    invoice_id, customer = w.sent()
    url = f"/api/invoices/{invoice_id}/payments"
    return Call(
        "POST", url, {"amount": "100.00", "reference": "BACS 1"}, invoice_id, customer["id"],
        refused=("POST", url, {"amount": "170.01"}),
    )  # fmt: skip


def payment_refund(w: World) -> Call:
    invoice_id, customer = w.sent()
    payment = w.created(
        w.api.post(f"/api/invoices/{invoice_id}/payments", json={"amount": "50.00"})
    )
    url = f"/api/payments/{payment['id']}/refund"
    return Call(
        "POST", url, {"amount": "20.00", "reason": "Goodwill"}, invoice_id, customer["id"],
        refused=("POST", url, {"amount": "30.01"}),
    )  # fmt: skip


def stripe_disconnect(w: World) -> Call:
    url = "/api/payment-providers/stripe"
    connection = w.created(w.api.put(url, json=STRIPE_KEYS))
    return Call("DELETE", url, None, connection["id"])


PAYMENT_SETTINGS = "/api/payments/settings"
BSPS = "BILLING_SCHEDULE_PAYMENT_SETTINGS"


def payment_settings_update(w: World) -> Call:
    settings = w.created(w.api.get(PAYMENT_SETTINGS))
    url = f"{PAYMENT_SETTINGS}/{settings['id']}"
    body = {
        "failureNotifications": {
            "merchantNotifications": "DO_NOT_SEND_NOTIFICATIONS",
            "customerNotifications": "SEND_NOTIFICATIONS",
        }
    }
    return Call(
        "PUT", url, body, settings["id"], refused=("PUT", url, {"failureNotifications": {}})
    )


def stripe_settings_update(w: World) -> Call:
    settings = w.created(w.api.get("/api/stripe/collections/settings"))
    url = f"/api/stripe/collections/settings/{settings['id']}"
    return Call(
        "PUT", url, {"enableAutomaticPayments": True, "retryOffsetDays": [1, 5]}, settings["id"],
        refused=("PUT", url, {"retryOffsetDays": [5, 1]}),
    )  # fmt: skip


def _settings_of(w: World, what: str) -> tuple[str, dict[str, Any], str]:
    """A fresh object of `what` (customers, billing-schedules, invoices), the body that gives
    it payment settings, and its customer."""
    if what == "customers":
        customer = w.customer()["id"]
        return customer, {"customerId": customer}, customer
    if what == "billing-schedules":
        setup = Setup(w.api)
        schedule = setup.create()["id"]
        return schedule, {"billingScheduleId": schedule, "autoCharge": True}, setup.customer_id
    invoice = w.invoice()
    return invoice, {"invoiceId": invoice}, _customer_of(w, invoice)


def object_payment_settings(what: str, action: str) -> Callable[[World], Call]:
    def call(w: World) -> Call:
        url = f"{PAYMENT_SETTINGS}/{what}"
        _, body, customer = _settings_of(w, what)
        if action == "POST":
            return Call("POST", url, {**body, "paymentProvider": "STRIPE"}, target_id=customer)
        made = w.created(w.api.post(url, json={**body, "paymentProvider": "STRIPE"}))
        one = f"{url}/{made['id']}"
        if action == "PUT":
            return Call(
                "PUT", one, {"paymentProvider": "NONE"}, made["id"], customer,
                refused=("PUT", one, {"paymentProvider": "PAYPAL"}),
            )  # fmt: skip
        return Call("DELETE", one, None, made["id"], customer)

    return call


def invoice_collection(action: str) -> Callable[[World], Call]:
    """Pausing or resuming an invoice's automatic collection (a SCHEDULED one, written as the
    collection job writes it); the same request again changes nothing and logs nothing."""

    def call(w: World) -> Call:
        invoice_id = w.final_invoice()
        with w.database.transaction() as session:
            session.add(
                InvoiceCollection(
                    account_id=w.account_id,
                    invoice_id=invoice_id,
                    status=CollectionStatus.SCHEDULED,
                    next_attempt_on=date(2024, 6, 1),
                    paused_at=utcnow() if action == "resume" else None,
                )
            )
        url = f"/api/invoices/{invoice_id}/collection/{action}"
        return Call("POST", url, None, invoice_id, _customer_of(w, invoice_id), refused_status=200)

    return call


def customer_collection(action: str) -> Callable[[World], Call]:
    def call(w: World) -> Call:
        customer = w.customer()
        if action == "resume":
            w.created(w.api.post(f"/api/customers/{customer['id']}/collection/pause"))
        url = f"/api/customers/{customer['id']}/collection/{action}"
        return Call("POST", url, None, customer["id"], refused_status=200)

    return call


C, IV, N = "CUSTOMER", "INVOICE", "CREDIT_NOTE"
INV, NOTE = "/api/invoices/{id}", "/api/credit-notes/{id}"
LINES, GROUPS = "/api/invoices/{invoice}/line-items", "/api/invoices/{invoice}/line-item-groups"
NLINES = "/api/credit-notes/{creditnote}/line-items"
NGROUPS = "/api/credit-notes/{creditnote}/line-item-groups"
POLICY = "/api/notifications/policies/{id}"
ORG = "/api/customer-organizations"

LOGGED = [
    Logged(("post", "/api/invoices"), "CREATED", IV, C, invoice_create),
    Logged(("post", f"{INV}/finalize"), "FINALIZED", IV, C, invoice_transition("finalize")),
    Logged(("post", f"{INV}/send"), "SENT", IV, C, invoice_transition("send", "final")),
    Logged(("post", f"{INV}/finalize-and-send"), "SENT", IV, C,
           invoice_transition("finalize-and-send")),
    Logged(("post", f"{INV}/mark-as-sent"), "MARKED_AS_SENT", IV, C,
           invoice_transition("mark-as-sent")),
    Logged(("post", f"{INV}/void"), "VOIDED", IV, C, invoice_transition("void", "final")),
    Logged(("post", f"{INV}/draft"), "DRAFTED", IV, C, invoice_transition("draft", "upcoming")),
    Logged(("delete", INV), "DELETED", IV, C, invoice_transition("")),
    Logged(("put", f"{INV}/payment-status"), "UPDATED", IV, C, invoice_payment_status),
    Logged(("patch", f"{INV}/sent"), "UPDATED", IV, C, invoice_patch_sent),
    Logged(("put", INV), "UPDATED", IV, C, invoice_update("PUT")),
    Logged(("patch", INV), "UPDATED", IV, C, invoice_update("PATCH")),
    Logged(("post", "/api/invoices/merge"), "MERGED", IV, C, invoice_merge),
    Logged(("post", f"{INV}/send-payment-reminder"), "REMINDER_SENT", IV, C, invoice_reminder),
    Logged(("post", "/api/invoices/fix-billing-runs"), "UPDATED", IV, C,
           invoice_billing_run_fix),
    Logged(("put", "/api/invoices/render-settings/{id}"), "UPDATED", "INVOICE_RENDER_SETTINGS",
           None, render_settings_update),
    Logged(("post", LINES), "LINE_ITEM_CREATED", IV, C, invoice_line("POST")),
    Logged(("put", f"{LINES}/{{id}}"), "LINE_ITEM_UPDATED", IV, C, invoice_line("PUT")),
    Logged(("delete", f"{LINES}/{{id}}"), "LINE_ITEM_DELETED", IV, C, invoice_line("DELETE")),
    Logged(("post", GROUPS), "LINE_ITEM_GROUP_CREATED", IV, C, invoice_group("POST")),
    Logged(("put", f"{GROUPS}/{{id}}"), "LINE_ITEM_GROUP_UPDATED", IV, C, invoice_group("PUT")),
    Logged(("delete", f"{GROUPS}/{{id}}"), "LINE_ITEM_GROUP_DELETED", IV, C,
           invoice_group("DELETE")),
    Logged(("post", "/api/credit-notes"), "CREATED", N, C, note_create),
    Logged(("put", NOTE), "UPDATED", N, C, note_update),
    Logged(("delete", NOTE), "DELETED", N, C, note_action("")),
    Logged(("post", f"{NOTE}/finalize"), "FINALIZED", N, C, note_action("finalize")),
    Logged(("post", f"{NOTE}/send"), "SENT", N, C, note_action("send", "final")),
    Logged(("post", f"{NOTE}/finalize-and-send"), "SENT", N, C,
           note_action("finalize-and-send")),
    Logged(("post", f"{NOTE}/mark-as-sent"), "MARKED_AS_SENT", N, C,
           note_action("mark-as-sent")),
    Logged(("post", f"{NOTE}/void"), "VOIDED", N, C, note_action("void", "final")),
    Logged(("post", NLINES), "LINE_ITEM_CREATED", N, C, note_line("POST")),
    Logged(("put", f"{NLINES}/{{id}}"), "LINE_ITEM_UPDATED", N, C, note_line("PUT")),
    Logged(("delete", f"{NLINES}/{{id}}"), "LINE_ITEM_DELETED", N, C, note_line("DELETE")),
    Logged(("post", NGROUPS), "LINE_ITEM_GROUP_CREATED", N, C, note_group("POST")),
    Logged(("put", f"{NGROUPS}/{{id}}"), "LINE_ITEM_GROUP_UPDATED", N, C, note_group("PUT")),
    Logged(("delete", f"{NGROUPS}/{{id}}"), "LINE_ITEM_GROUP_DELETED", N, C,
           note_group("DELETE")),
    Logged(("post", "/api/credit-note-applications"), "CREDIT_APPLIED", IV, C, note_application),
    Logged(("post", "/api/credits"), "CREATED", "CREDIT_GRANT", C, grant_create),
    Logged(("delete", "/api/credits/{id}"), "DELETED", "CREDIT_GRANT", C, grant_delete),
    Logged(("post", "/api/credit-top-ups"), "CREATED", "CREDIT_TOP_UP", C, top_up_create,
           also=(("CREATED", IV), ("LINE_ITEM_CREATED", IV), ("SENT", IV))),
    Logged(("put", "/api/customers/{id}/auto-recharges/{currency}"), "CREATED",
           "CREDIT_AUTO_RECHARGE", C, auto_recharge_set),
    Logged(("delete", "/api/customers/{id}/auto-recharges/{currency}"), "DELETED",
           "CREDIT_AUTO_RECHARGE", C, auto_recharge_delete),
    Logged(("post", "/api/billing-schedules"), "CREATED", "BILLING_SCHEDULE", C,
           schedule_create),
    Logged(("put", "/api/billing-schedules/{id}"), "UPDATED", "BILLING_SCHEDULE", C,
           schedule_update),
    Logged(("put", "/api/billing-schedules/{id}/activate"), "ACTIVATED", "BILLING_SCHEDULE", C,
           schedule_activate),
    Logged(("post", "/api/billing-schedules/{id}/archive"), "ARCHIVED", "BILLING_SCHEDULE", C,
           schedule_archive),
    Logged(("post", "/api/list-prices"), "CREATED", "LIST_PRICE", "PRODUCT",
           list_price("create")),
    Logged(("put", "/api/list-prices/{id}"), "UPDATED", "LIST_PRICE", "PRODUCT",
           list_price("update")),
    Logged(("post", "/api/list-prices/{id}/archive"), "ARCHIVED", "LIST_PRICE", "PRODUCT",
           list_price("archive")),
    Logged(("put", "/api/discounts/{id}"), "UPDATED", "DISCOUNT", C, discount("update")),
    Logged(("delete", "/api/discounts/{id}"), "DELETED", "DISCOUNT", C, discount("delete")),
    Logged(("put", "/api/prices/{id}"), "UPDATED", "PRICE", "PRODUCT", price_update),
    Logged(("delete", "/api/prices/{id}"), "DELETED", "PRICE", "PRODUCT", price_delete),
    Logged(("post", "/api/products/{id}/archive"), "ARCHIVED", "PRODUCT", None, product_archive),
    Logged(("put", "/api/tax-rates/{id}"), "UPDATED", "TAX_RATE", None, tax_rate("update")),
    Logged(("delete", "/api/tax-rates/{id}"), "DELETED", "TAX_RATE", None, tax_rate("delete")),
    Logged(("post", "/api/tax-rates/{id}/archive"), "ARCHIVED", "TAX_RATE", None,
           tax_rate("archive")),
    Logged(("put", "/api/usage-metrics/{id}"), "UPDATED", "USAGE_METRIC", None,
           usage_metric_update),
    Logged(("delete", "/api/usage-metrics/{id}"), "DELETED", "USAGE_METRIC", None,
           usage_metric_delete),
    Logged(("delete", "/api/seat-metrics/{id}"), "DELETED", "SEAT_METRIC", None,
           seat_metric_delete),
    Logged(("put", "/api/customers/{id}"), "UPDATED", C, None, customer_update),
    Logged(("post", "/api/customers/{id}/archive"), "ARCHIVED", C, None, customer_archive),
    Logged(("post", "/api/customers/{customer}/contacts/{id}/archive"), "ARCHIVED", "CONTACT",
           C, contact_archive),
    Logged(("delete", "/api/customer-aliases/{id}"), "DELETED", "CUSTOMER_ALIAS", C,
           alias_delete),
    Logged(("post", ORG), "CREATED", "CUSTOMER_ORGANIZATION", C, organization("create")),
    Logged(("post", f"{ORG}/{{id}}/members"), "UPDATED", "CUSTOMER_ORGANIZATION", C,
           organization("add")),
    Logged(("put", f"{ORG}/{{id}}/members"), "UPDATED", "CUSTOMER_ORGANIZATION", C,
           organization("replace")),
    Logged(("delete", POLICY), "DELETED", "NOTIFICATION_POLICY", None, policy_change("delete")),
    Logged(("delete", f"{POLICY}/notification-types/{{type}}"), "UPDATED",
           "NOTIFICATION_POLICY", None, policy_change("remove type")),
    Logged(("delete", f"{POLICY}/recipients/{{recipient}}"), "UPDATED", "NOTIFICATION_POLICY",
           None, policy_change("remove recipient")),
    Logged(("post", f"{POLICY}/notification-types"), "UPDATED", "NOTIFICATION_POLICY", None,
           policy_change("add types")),
    Logged(("post", f"{POLICY}/recipients"), "UPDATED", "NOTIFICATION_POLICY", None,
           policy_change("add recipients")),
    Logged(("put", "/api/portal-settings"), "UPDATED", "PORTAL_SETTINGS", None, portal_settings),
    Logged(("post", "/api/customers/{id}/portal-link/rotate"), "ROTATED", C, None,
           portal_rotate),
    Logged(("put", "/api/sequence-accounts/{id}"), "UPDATED", "SEQUENCE_ACCOUNT", None,
           account_update),
    Logged(("post", "/api/alerts"), "CREATED", "ALERT", C, alert("create")),
    Logged(("put", "/api/alerts/{id}"), "UPDATED", "ALERT", C, alert("update")),
    Logged(("delete", "/api/alerts/{id}"), "ARCHIVED", "ALERT", C, alert("archive")),
    Logged(("post", "/api/tax-registrations"), "CREATED", "TAX_REGISTRATION", C,
           tax_registration("create")),
    Logged(("put", "/api/tax-registrations/{id}"), "UPDATED", "TAX_REGISTRATION", C,
           tax_registration("update")),
    Logged(("delete", "/api/tax-registrations/{id}"), "DELETED", "TAX_REGISTRATION", C,
           tax_registration("delete")),
    Logged(("delete", "/api/users/{id}"), "DEACTIVATED", "USER", None, user_delete),
    Logged(("post", "/api/billing-schedules/{id}/duplicate"), "CREATED", "BILLING_SCHEDULE", C,
           schedule_duplicate),
    Logged(("post", "/api/attachments"), "CREATED", "ATTACHMENT", None, attachment_upload),
    Logged(("put", "/api/payment-providers/stripe"), "CONNECTED", "PAYMENT_PROVIDER_CONNECTION",
           None, stripe_connect),
    Logged(("post", "/api/invoices/{id}/payments"), "PAYMENT_RECEIVED", IV, C, payment_record),
    Logged(("post", "/api/payments/{id}/refund"), "PAYMENT_REFUNDED", IV, C, payment_refund,
           also=(("ISSUED", N),)),
    Logged(("post", f"{INV}/collection/pause"), "COLLECTION_PAUSED", IV, C,
           invoice_collection("pause")),
    Logged(("post", f"{INV}/collection/resume"), "COLLECTION_RESUMED", IV, C,
           invoice_collection("resume")),
    Logged(("post", "/api/customers/{id}/collection/pause"), "COLLECTION_PAUSED", C, None,
           customer_collection("pause")),
    Logged(("post", "/api/customers/{id}/collection/resume"), "COLLECTION_RESUMED", C, None,
           customer_collection("resume")),
    Logged(("delete", "/api/payment-providers/stripe"), "DISCONNECTED",
           "PAYMENT_PROVIDER_CONNECTION", None, stripe_disconnect),
    Logged(("put", "/api/payments/settings/{id}"), "UPDATED", "PAYMENT_SETTINGS", None,
           payment_settings_update),
    Logged(("put", "/api/stripe/collections/settings/{id}"), "UPDATED",
           "STRIPE_COLLECTION_SETTINGS", None, stripe_settings_update),
    Logged(("post", "/api/payments/settings/customers"), "CREATED",
           "CUSTOMER_PAYMENT_SETTINGS", C, object_payment_settings("customers", "POST")),
    Logged(("put", "/api/payments/settings/customers/{id}"), "UPDATED",
           "CUSTOMER_PAYMENT_SETTINGS", C, object_payment_settings("customers", "PUT")),
    Logged(("delete", "/api/payments/settings/customers/{id}"), "DELETED",
           "CUSTOMER_PAYMENT_SETTINGS", C, object_payment_settings("customers", "DELETE")),
    Logged(("post", "/api/payments/settings/billing-schedules"), "CREATED",
           BSPS, C, object_payment_settings("billing-schedules", "POST")),
    Logged(("put", "/api/payments/settings/billing-schedules/{id}"), "UPDATED",
           BSPS, C, object_payment_settings("billing-schedules", "PUT")),
    Logged(("delete", "/api/payments/settings/billing-schedules/{id}"), "DELETED",
           BSPS, C, object_payment_settings("billing-schedules", "DELETE")),
    Logged(("post", "/api/payments/settings/invoices"), "CREATED",
           "INVOICE_PAYMENT_SETTINGS", C, object_payment_settings("invoices", "POST")),
    Logged(("put", "/api/payments/settings/invoices/{id}"), "UPDATED",
           "INVOICE_PAYMENT_SETTINGS", C, object_payment_settings("invoices", "PUT")),
    Logged(("delete", "/api/payments/settings/invoices/{id}"), "DELETED",
           "INVOICE_PAYMENT_SETTINGS", C, object_payment_settings("invoices", "DELETE")),
]  # fmt: skip

# Writing operations that log nothing, and why.
NOT_LOGGED = {
    ("post", "/api/customers"): "a new customer: nothing is lost or owed yet",
    ("post", "/api/customers/{customer}/contacts"): "adds a contact",
    ("put", "/api/customers/{customer}/contacts/{id}"): "a contact's details",
    ("post", "/api/customer-aliases"): "adds an alias",
    ("put", "/api/customer-aliases/{id}"): "an alias's label",
    ("post", "/api/customers/{id}/portal-sessions"): "read-only access, for an hour",
    ("post", "/api/products"): "catalog entry",
    ("put", "/api/products/{id}"): "a product's description; its prices are logged",
    ("post", "/api/prices"): "catalog entry",
    ("post", "/api/tax-rates"): "catalog entry",
    ("post", "/api/tax-categories"): "catalog entry",
    ("post", "/api/usage-metrics"): "catalog entry",
    ("post", "/api/seat-metrics"): "catalog entry",
    ("put", "/api/seat-metrics/{id}"): "a seat metric's label",
    ("post", "/api/notifications/policies"): "a new policy sends what happens from now on",
    ("post", "/api/usage-events"): "usage data: the invoices it bills are logged",
    ("post", "/api/usage-events/batch"): "usage data: the invoices it bills are logged",
    ("post", "/api/seat-events"): "usage data: the invoices it bills are logged",
    ("post", "/api/billing-schedules/validate-taxes"): "a check: writes nothing",
    ("post", "/api/invoices/reconcile-with-integration"): "no accounting integration is "
    "connected: nothing to reconcile, nothing changes",
    ("post", "/api/billing/execution/accounts/self"): "billing runs log as the system "
    "(src/tally/billing/)",
    ("post", "/api/billing/execution/accounts/self/for-date/{day}"): "billing runs log as the "
    "system (src/tally/billing/)",
}


def test_every_writing_operation_is_logged_or_says_why_not(app: FastAPI) -> None:
    writing = {op for op in api_operations(app) if op[0] != "get"}
    logged = {case.operation for case in LOGGED}
    assert not logged & set(NOT_LOGGED)
    assert logged | set(NOT_LOGGED) == writing, "a new writing operation needs a line here"


def _logs(api: ApiClient) -> dict[str, dict[str, Any]]:
    """Every entry of the account, by id (through the API: Sequence's shape is checked)."""
    found: dict[str, dict[str, Any]] = {}
    params: dict[str, str] = {"limit": "100"}
    while True:
        page = api.get("/api/activity-logs", params=params)
        assert page.status_code == 200, page.text
        found.update((item["id"], item) for item in page.json()["items"])
        after = page.json()["pagination"].get("after")
        if not after:
            return found
        params = {"limit": "100", "after": after}


def _key_id(database: Database, account: Credentials) -> str:
    with database.session(write=False) as session:
        key_id = session.scalar(select(ApiKey.id).where(ApiKey.key == account.api_key))
    assert key_id is not None
    return key_id


@pytest.mark.parametrize(
    "case", LOGGED, ids=lambda case: f"{case.operation[0]} {case.operation[1]}"
)
def test_the_operation_leaves_one_entry_and_a_refusal_none(
    case: Logged, api: ApiClient, database: Database, account: Credentials
) -> None:
    world = World(api, database, account.account_id)
    call = case.call(world)
    before = _logs(api)

    response = api.request(call.method, call.url, json=call.body)
    assert response.status_code in (200, 201, 202), response.text
    new = [log for log_id, log in _logs(api).items() if log_id not in before]
    assert len(new) == 1 + len(case.also), [log["activityLogItems"][0]["name"] for log in new]
    kinds = [
        (log["activityLogItems"][0]["verb"], log["activityLogItems"][0]["activityLogObject"][
            "entityType"])
        for log in new
    ]  # fmt: skip
    [log] = [log for log, kind in zip(new, kinds, strict=True) if kind not in case.also]
    assert sorted(kind for kind in kinds if kind in case.also) == sorted(case.also)
    [item] = log["activityLogItems"]
    object_id = call.object_id or response.json()["id"]  # 202s have no body: give object_id
    assert (item["verb"], item["activityLogObject"]["entityType"]) == (
        case.verb,
        case.object_type,
    )
    assert item["activityLogObject"]["id"] == object_id
    target = item.get("activityLogTarget")
    if case.target_type is None:
        assert target is None
    else:
        assert target is not None
        assert (target["entityType"], target["id"]) == (case.target_type, call.target_id)
    assert log["origin"] == "API"
    assert item["activityLogActor"]["entityType"] == "API_KEY"
    assert item["activityLogActor"]["entityId"] == _key_id(database, account)
    assert item["name"] and item["summary"]
    assert log["traceId"]

    method, url, body = call.refused or (call.method, call.url, call.body)
    seen = _logs(api)
    again = api.request(method, url, json=body)
    expected = call.refused_status
    assert again.status_code in (expected if isinstance(expected, tuple) else (expected,)), (
        again.text
    )
    assert _logs(api).keys() == seen.keys(), "a refused or idle request logged something"


def _api_log(api: ApiClient, object_id: str) -> list[dict[str, Any]]:
    page = api.get("/api/activity-logs", params={"activityLogObjectId": object_id})
    assert page.status_code == 200
    return [log["activityLogItems"][0] for log in page.json()["items"]]


def test_changes_say_what_was_before_and_after(api: ApiClient, database: Database) -> None:
    world = World(api, database, api.get("/api/sequence-accounts").json()["items"][0]["id"])
    invoice_id = world.final_invoice()
    assert api.post(f"/api/invoices/{invoice_id}/void").status_code == 200
    voided, finalized = _api_log(api, invoice_id)
    assert {"field": "status", "before": "DRAFT", "after": "FINAL"} in finalized["metadata"]
    assert {"field": "balance", "before": "0.00", "after": "270.00"} in finalized["metadata"]
    assert {"field": "status", "before": "FINAL", "after": "VOIDED"} in voided["metadata"]
    assert {"field": "balance", "before": "270.00", "after": "0.00"} in voided["metadata"]

    setup = Setup(api)
    schedule = setup.create()
    support = setup.price(name="Support")
    body = update_body(schedule)
    body["phases"][0]["priceIds"] = [support]
    assert api.put(f"/api/billing-schedules/{schedule['id']}", json=body).status_code == 200
    updated, _created = _api_log(api, schedule["id"])
    [phases] = [change for change in updated["metadata"] if change["field"] == "phases"]
    assert phases["before"][0]["prices"] == [f"Platform fee ({setup.price_id})"]
    assert phases["after"][0]["prices"] == [f"Support ({support})"]


def test_archiving_a_customer_logs_its_voided_invoices_in_one_insert(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    world = World(api, database, account.account_id)
    customer = world.customer()
    drafts = sorted(world.invoice(customer) for _ in range(4))
    setup = Setup(api)
    schedules = sorted(setup.create(customerId=customer["id"])["id"] for _ in range(2))
    before = _logs(api)
    with counting_statements(database) as statements:
        assert api.post(f"/api/customers/{customer['id']}/archive").status_code == 200
    new = [log["activityLogItems"][0] for key, log in _logs(api).items() if key not in before]
    kinds = sorted((item["verb"], item["activityLogObject"]["entityType"]) for item in new)
    assert kinds == [
        *[("ARCHIVED", "BILLING_SCHEDULE")] * 2,
        ("ARCHIVED", "CUSTOMER"),
        *[("VOIDED", "INVOICE")] * 4,
    ]
    voided = sorted(item["activityLogObject"]["id"] for item in new if item["verb"] == "VOIDED")
    assert voided == drafts
    archived = [item for item in new if item["activityLogObject"]["entityType"] != "INVOICE"]
    assert set(schedules) <= {item["activityLogObject"]["id"] for item in archived}
    assert all(
        item["activityLogObject"]["id"] == customer["id"]
        or item["activityLogTarget"]["id"] == customer["id"]
        for item in new
    )
    # One INSERT for the customer's entry, one for all its schedules', one for all its
    # invoices': never one per row.
    inserts = [sql for sql in statements if "INSERT INTO activity_logs" in sql]
    assert len(inserts) == 3, inserts


def test_expiring_credits_is_logged_as_the_system(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    world = World(api, database, account.account_id)
    customer = world.customer()
    body = {
        "customerId": customer["id"],
        "name": "Trial credits",
        "creditUnitType": "CURRENCY",
        "currency": "GBP",
        "amount": 40,
        "effectiveDate": "2024-01-01",
        "expiryDate": "2024-01-31",
    }
    grant = world.created(api.post("/api/credits", json=body))
    expire_due(database, today=date(2024, 2, 1))
    expired, _created = _api_log(api, grant["id"])
    assert expired["verb"] == "EXPIRED"
    assert expired["activityLogActor"]["entityType"] == "SYSTEM"
    assert expired["activityLogTarget"]["id"] == customer["id"]
    assert {"field": "balance", "before": "40", "after": "0"} in expired["metadata"]
    [log] = [log for log in _logs(api).values() if log["activityLogItems"][0]["verb"] == "EXPIRED"]
    assert log["origin"] == "SYSTEM"
