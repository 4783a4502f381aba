"""Real billing objects of one account, each made when a request first names it.

Fuzzing Sequence's schema names objects in paths and bodies; Sequence documents 404 on few
operations, so every id must be a live one. One account serves the whole run (an account with
every object takes seconds to make); an operation that removes or moves on an object forgets it
and what depends on it, and the next request that names one gets a fresh one.
"""

import itertools
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx

from tally.dashboard.users import create_user
from tally.db import Database
from tally.models import BillingRun, BillingRunStatus
from tests.attachments.helpers import upload
from tests.catalog.price_bodies import fixed, list_price_body, price_body
from tests.credit_notes.helpers import line_body, sent_invoice
from tests.factories import customer_body, product_body, tax_rate_body
from tests.schedules.helpers import phase, schedule_body, update_body
from tests.support.api_client import ApiClient

SEAT_TYPE = "fuzz_editor"
EVENT_TYPE = "fuzz_call"
# An email policy: a URL recipient cannot be a path segment as Sequence's path writes it.
RECIPIENT = "operations@example.com"
PASSWORD = "correct horse battery staple"
# Values kept when the object they name is made: the alias's value, the schedule and the
# invoice the payment settings were made for.
MADE_WITH = {
    "alias_value": "alias",
    "settled_schedule": "schedule_payment_settings",
    "settled_invoice": "invoice_payment_settings",
}


def _made(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


class SequenceObjects:
    def __init__(self, api: ApiClient, database: Database) -> None:
        self.api = api
        self.database = database
        self._ids: dict[str, str] = {}
        self._serial = itertools.count(1)
        # kind -> (the kinds it is made from, how to make it)
        self._makers: dict[str, tuple[tuple[str, ...], Callable[[], str]]] = {
            "account": ((), self._account),
            "customer": ((), lambda: self._post("/api/customers", customer_body())),
            "other_customer": (
                (),
                lambda: self._post("/api/customers", customer_body(legalName="Child Ltd")),
            ),
            "contact": (("customer",), self._contact),
            "alias": (("customer",), self._alias),
            "organization": ((), self._organization),
            "product": ((), lambda: self._post("/api/products", product_body())),
            "price": (("product",), self._price),
            "list_price": (("product",), self._list_price),
            "tax_rate": ((), lambda: self._post("/api/tax-rates", tax_rate_body())),
            "usage_metric": ((), self._usage_metric),
            "metric_parameter": ((), self._metric_parameter),
            "seat_metric": ((), self._seat_metric),
            "seat_event": (("customer", "seat_metric"), self._seat_event),
            "schedule": (("customer", "price"), self._schedule),
            "discount": (("schedule",), self._discount),
            "invoice": (("customer",), self._invoice),
            # A second draft of the same customer and currency, to merge with `invoice`.
            "merge_draft": (("customer",), self._invoice),
            "render_settings": ((), self._render_settings),
            "invoice_group": (("invoice",), self._invoice_group),
            "invoice_line": (("invoice",), self._invoice_line),
            "sent_invoice": (("account", "customer"), self._sent_invoice),
            # Each credit note credits an invoice of its own: credits add up to its total.
            "credited_invoice": (("account", "customer"), self._sent_invoice),
            "credited_group": (("credited_invoice",), lambda: self._credited("line-item-groups")),
            "credited_line": (("credited_invoice",), lambda: self._credited("line-items")),
            "credit_note": (("credited_invoice",), self._credit_note),
            "credit_note_group": (("credit_note",), self._credit_note_group),
            "credit_note_line": (("credit_note",), self._credit_note_line),
            "grant": (("customer",), self._grant),
            "policy": ((), self._policy),
            "tax_registration": (("customer",), self._tax_registration),
            # A user to read and deactivate; `colleague` stays, so it is never the last one.
            "colleague": ((), self._user),
            "user": (("colleague",), self._user),
            "activity_log": (("customer",), self._activity_log),
            "attachment": ((), lambda: str(upload(self.api)["id"])),
            "tax_category": ((), self._tax_category),
            "billing_run": (("account", "schedule"), self._billing_run),
            "payment_settings": ((), lambda: self._get_id("/api/payments/settings")),
            "stripe_settings": ((), lambda: self._get_id("/api/stripe/collections/settings")),
            # Objects of their own, each to be given payment settings once.
            "payment_customer": ((), lambda: self._post("/api/customers", customer_body())),
            "payment_schedule": (("customer", "price"), self._new_schedule),
            "payment_invoice": (("customer",), self._invoice),
            "customer_payment_settings": ((), self._customer_payment_settings),
            "schedule_payment_settings": (("customer", "price"), self._schedule_payment_settings),
            "invoice_payment_settings": (("customer",), self._invoice_payment_settings),
        }

    def __getitem__(self, kind: str) -> str:
        if kind not in self._ids:
            requires, make = self._makers[kind]
            for required in requires:
                self[required]
            self._ids[kind] = make()
        return self._ids[kind]

    def forget(self, kind: str) -> None:
        """`kind` changed: it and every object made from it are made afresh when next named."""
        self._ids.pop(kind, None)
        if kind == "credit_note":  # what it credited stays credited
            self.forget("credited_invoice")
        for other, (requires, _) in self._makers.items():
            if kind in requires and other in self._ids:
                self.forget(other)

    # Values that name an object without being its id.
    def value(self, name: str) -> str:
        if name == "seat_type":
            self["seat_metric"]
            return self._ids["seat_type"]
        if name == "event_type":
            return EVENT_TYPE
        if name in MADE_WITH:
            self[MADE_WITH[name]]
            return self._ids[name]
        if name == "recipient":
            self["policy"]
            return RECIPIENT
        if name == "tax_rate_version":
            return "1"
        return self[name]

    def _post(self, url: str, body: dict[str, Any]) -> str:
        return str(_made(self.api.post(url, json=body))["id"])

    def _get_id(self, url: str) -> str:
        return str(_made(self.api.get(url))["id"])

    def _new_schedule(self) -> str:
        price = self["price"]
        body = schedule_body(self["customer"], [price], isDraft=True, phases=[phase([price])])
        return self._post("/api/billing-schedules", body)

    def _customer_payment_settings(self) -> str:
        customer = self._post("/api/customers", customer_body())
        body = {"customerId": customer, "paymentProvider": "STRIPE"}
        return self._post("/api/payments/settings/customers", body)

    def _schedule_payment_settings(self) -> str:
        schedule = self._new_schedule()
        self._ids["settled_schedule"] = schedule
        body = {"billingScheduleId": schedule, "paymentProvider": "STRIPE", "autoCharge": True}
        return self._post("/api/payments/settings/billing-schedules", body)

    def _invoice_payment_settings(self) -> str:
        invoice = self._invoice()
        self._ids["settled_invoice"] = invoice
        body = {"invoiceId": invoice, "paymentProvider": "STRIPE"}
        return self._post("/api/payments/settings/invoices", body)

    def _account(self) -> str:
        return str(self.api.get("/api/sequence-accounts").json()["items"][0]["id"])

    def _contact(self) -> str:
        body = {"name": "Ann", "email": "ann@example.com", "billingPreference": "STANDARD"}
        return self._post(f"/api/customers/{self['customer']}/contacts", body)

    def _alias(self) -> str:
        value = f"fuzz-alias-{next(self._serial)}"
        self._ids["alias_value"] = value
        return self._post("/api/customer-aliases", {"customerId": self["customer"], "value": value})

    def _organization(self) -> str:
        # Customers of its own: an owner owns one organization.
        owner = self._post("/api/customers", customer_body(legalName="Owner Ltd"))
        member = self._post("/api/customers", customer_body(legalName="Member Ltd"))
        return self._post("/api/customer-organizations", {"ownerId": owner, "memberIds": [member]})

    def _price(self) -> str:
        return self._post("/api/prices", price_body(self["product"], fixed()))

    def _list_price(self) -> str:
        return self._post("/api/list-prices", list_price_body(self["product"], fixed()))

    def _usage_metric(self) -> str:
        body = {
            "name": "Calls",
            "metricType": "SIMPLE",
            "eventType": EVENT_TYPE,
            "aggregationType": "SUM",
            "aggregationProperty": "count",
        }
        return self._post("/api/usage-metrics", body)

    def _metric_parameter(self) -> str:
        body = {
            "name": "Storage over the allowance",
            "metricType": "SIMPLE",
            "eventType": f"fuzz_storage_{next(self._serial)}",
            "aggregationType": "CUSTOM",
            "expression": "GREATEST(SUM(event.gb) - included, 0)",
            "parameters": [{"name": "included", "type": "POSITIVE_NUMBER", "defaultValue": "10"}],
        }
        metric = _made(self.api.post("/api/usage-metrics", json=body))
        return str(metric["parameters"][0]["id"])

    def _seat_metric(self) -> str:
        seat_type = f"{SEAT_TYPE}_{next(self._serial)}"
        self._ids["seat_type"] = seat_type
        return self._post("/api/seat-metrics", {"seatType": seat_type, "label": "Editor"})

    def _seat_event(self) -> str:
        body = {
            "customerAlias": self["customer"],
            "seatType": self.value("seat_type"),
            "eventTimestamp": "2024-05-02T19:00:00Z",
            "total": 3,
        }
        return self._post("/api/seat-events", body)

    def _schedule(self) -> str:
        price = self["price"]
        body = schedule_body(self["customer"], [price], isDraft=True, phases=[phase([price])])
        return self._post("/api/billing-schedules", body)

    def _discount(self) -> str:
        """A discount added to the schedule's phase (PUT /discounts names the schedule)."""
        url = f"/api/billing-schedules/{self['schedule']}"
        body = update_body(_made(self.api.get(url)))
        discount = {"type": "PERCENTAGE", "amount": 10, "message": "Launch discount"}
        body["phases"][0]["discounts"].append({**discount, "separateLineItem": False})
        changed = _made(self.api.put(url, json=body))
        return str(changed["phases"][0]["discounts"][-1]["id"])

    def _invoice(self) -> str:
        return self._post("/api/invoices", {"currency": "GBP", "customerId": self["customer"]})

    def _invoice_group(self) -> str:
        return self._post(f"/api/invoices/{self['invoice']}/line-item-groups", {"title": "Fees"})

    def _invoice_line(self) -> str:
        body = {"title": "Setup", "quantity": "1", "rate": "50.00", "taxRate": "0.2"}
        return self._post(f"/api/invoices/{self['invoice']}/line-items", body)

    def _tax_category(self) -> str:
        """A category with a published rate for the customers' country, so groups take it."""
        category = self._post("/api/tax-categories", {"name": "SaaS"})
        self._post("/api/tax-rates", tax_rate_body(taxCategoryId=category))
        return category

    def _billing_run(self) -> str:
        """A run of the schedule (billing makes them; the draft schedule has none yet)."""
        run = BillingRun(
            account_id=self["account"],
            billing_schedule_id=self["schedule"],
            invoice_date=date(2024, 2, 1),
            billing_period_start=date(2024, 1, 1),
            billing_period_end=date(2024, 1, 31),
            status=BillingRunStatus.COMPLETED,
        )
        with self.database.transaction() as session:
            session.add(run)
        return run.id

    def _render_settings(self) -> str:
        return str(_made(self.api.get("/api/invoices/render-settings"))["id"])

    def _sent_invoice(self) -> str:
        customer = _made(self.api.get(f"/api/customers/{self['customer']}"))
        number = f"INV-F{next(self._serial)}"
        return sent_invoice(self.database, self["account"], customer, invoice_number=number)

    def _credited(self, collection: str) -> str:
        url = f"/api/invoices/{self['credited_invoice']}/{collection}"
        return str(_made(self.api.get(url))["items"][0]["id"])

    def _credit_note(self) -> str:
        invoice = self["credited_invoice"]
        body = {"invoiceId": invoice, "customerId": self["customer"], "currency": "GBP"}
        note = self._post("/api/credit-notes", body)
        # It credits something, so finalizing it is allowed.
        self._post(f"/api/credit-notes/{note}/line-items", line_body(title="Goodwill"))
        return note

    def _credit_note_group(self) -> str:
        note = self["credit_note"]
        return self._post(f"/api/credit-notes/{note}/line-item-groups", {"title": "Platform"})

    def _credit_note_line(self) -> str:
        return self._post(f"/api/credit-notes/{self['credit_note']}/line-items", line_body())

    def _grant(self) -> str:
        body = {
            "customerId": self["customer"],
            "name": "Prepaid credits",
            "creditUnitType": "CURRENCY",
            "currency": "GBP",
            "amount": 100,
        }
        return self._post("/api/credits", body)

    def _policy(self) -> str:
        body = {"name": "Billing team", "recipients": [RECIPIENT], "channel": "EMAIL"}
        return self._post("/api/notifications/policies", body)

    def _tax_registration(self) -> str:
        body = {"taxIdentifier": "GB123456789", "customerId": self["customer"], "country": "GB"}
        return self._post("/api/tax-registrations", body)

    def _user(self) -> str:
        account = self["account"]
        # Emails are unique across accounts, and the run's database is shared.
        email = f"fuzz-{next(self._serial)}-{account}@example.com"
        with self.database.transaction() as session:
            return str(create_user(session, account, email, PASSWORD).id)

    def _activity_log(self) -> str:
        return str(self.api.get("/api/activity-logs").json()["items"][0]["id"])
