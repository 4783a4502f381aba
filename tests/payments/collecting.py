"""Automatic collection for tests: an account connected to the test's localstripe with
automatic payments on, a customer with a card saved at localstripe (StripeProvider has no
call for saving one: the browser does that through Stripe.js, so the test uses the `stripe`
package directly, as Stripe.js would), finalized invoices, and what localstripe holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import stripe
from sqlalchemy import select

from tally.db import Database
from tally.models import (
    EmailMessage,
    Invoice,
    InvoiceCollection,
    NotificationEvent,
    PaymentProviderName,
    ProviderCustomer,
    RetryAnchor,
    StripeCollectionSettings,
)
from tally.payments import connections
from tally.settings import Settings
from tests.factories import customer_body
from tests.invoices.helpers import insert_invoice
from tests.support.api_client import ApiClient
from tests.support.localstripe import LocalStripe

SECRET_KEY = "sk_test_dunning_0123456789"
GOOD_CARD = "4242424242424242"
# Saves fine, declined when charged (localstripe refuses 4000000000000002 already when it is
# attached, so it cannot stand for a saved card that later fails).
DECLINING_CARD = "4000000000000341"
PAYMENT_EVENTS = ["PAYMENT_SUCCEEDED", "PAYMENT_FAILED", "INVOICE_UNCOLLECTIBLE"]


@dataclass
class Merchant:
    api: ApiClient
    database: Database
    settings: Settings
    localstripe: LocalStripe
    account_id: str

    @property
    def stripe(self) -> stripe.StripeClient:
        return stripe.StripeClient(SECRET_KEY, base_addresses={"api": self.localstripe.url})

    def connect(
        self,
        *,
        offsets: Sequence[int] = (3, 7, 14),
        anchor: RetryAnchor = RetryAnchor.SENT_DATE,
        enabled: bool = True,
    ) -> None:
        answer = self.api.put("/api/payment-providers/stripe", json={"secretKey": SECRET_KEY})
        assert answer.status_code == 200, answer.text
        with self.database.transaction() as session:
            session.add(
                StripeCollectionSettings(
                    account_id=self.account_id,
                    enable_automatic_payments=enabled,
                    # Stripe collects whatever names no provider (the account's default).
                    auto_enable_stripe_payments=True,
                    retry_anchor=anchor,
                    retry_offset_days=list(offsets),
                )
            )

    def listen(self) -> None:
        listen(self.api)

    def customer(self, email: str = "jane@example.com") -> dict[str, Any]:
        contacts = [{"name": "Jane Payer", "email": email, "billingPreference": "PRIMARY"}]
        answer = self.api.post("/api/customers", json=customer_body(contacts=contacts))
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def save_card(self, customer: dict[str, Any], number: str) -> str:
        """The card saved at localstripe as the customer's default method; its id."""
        with self.database.transaction() as session:
            provider = connections.provider_for(session, self.settings, self.account_id)
        stripe_customer = provider.ensure_customer(
            None, customer_id=customer["id"], name=customer["legalName"], email=None
        )
        card = {"number": number, "exp_month": 12, "exp_year": 2040, "cvc": "123"}
        method = self.stripe.v1.payment_methods.create(params={"type": "card", "card": card})
        self.stripe.v1.payment_methods.attach(method.id, params={"customer": stripe_customer})
        with self.database.transaction() as session:
            session.add(
                ProviderCustomer(
                    account_id=self.account_id,
                    provider=PaymentProviderName.STRIPE,
                    customer_id=customer["id"],
                    provider_customer_id=stripe_customer,
                    default_payment_method_id=method.id,
                )
            )
        return str(method.id)

    def draft(self, customer: dict[str, Any]) -> str:
        return insert_invoice(self.database, self.account_id, customer)

    def finalized(self, customer: dict[str, Any]) -> str:
        invoice_id = self.draft(customer)
        answer = self.api.post(f"/api/invoices/{invoice_id}/finalize")
        assert answer.status_code == 200, answer.text
        return invoice_id

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        answer = self.api.get(f"/api/invoices/{invoice_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def issue_date(self, invoice_id: str) -> date:
        return date.fromisoformat(self.invoice(invoice_id)["issueDate"])

    def collection(self, invoice_id: str) -> dict[str, Any]:
        answer = self.api.get(f"/api/invoices/{invoice_id}/collection")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def intents(self, invoice_id: str) -> list[dict[str, Any]]:
        """localstripe's PaymentIntents for the invoice (it lists no PaymentIntents by
        customer: all are read and told apart by the metadata Tally gives them)."""
        found = self.stripe.v1.payment_intents.list(params={"limit": 100})
        intents = [intent.to_dict() for intent in found.auto_paging_iter()]
        return [
            i for i in intents if (i.get("metadata") or {}).get("tally_invoice_id") == invoice_id
        ]

    def emails(self, invoice_id: str) -> list[EmailMessage]:
        with self.database.transaction() as session:
            rows = session.scalars(
                select(EmailMessage)
                .where(
                    EmailMessage.account_id == self.account_id,
                    EmailMessage.kind == "DUNNING",
                    EmailMessage.dedupe_key.like(f"invoice:{invoice_id}:%"),
                )
                .order_by(EmailMessage.created_at, EmailMessage.id)
            ).all()
            session.expunge_all()
        return list(rows)

    def events(self, invoice_id: str) -> list[str]:
        return payment_events(self.database, self.account_id, invoice_id)

    def stored_collection(self, invoice_id: str) -> InvoiceCollection | None:
        with self.database.transaction() as session:
            row = session.scalars(
                select(InvoiceCollection).where(
                    InvoiceCollection.account_id == self.account_id,
                    InvoiceCollection.invoice_id == invoice_id,
                )
            ).one_or_none()
            session.expunge_all()
        return row

    def payment_status(self, invoice_id: str) -> str:
        with self.database.transaction() as session:
            invoice = session.scalars(
                select(Invoice).where(
                    Invoice.account_id == self.account_id, Invoice.id == invoice_id
                )
            ).one()
            return invoice.payment_status.value


def listen(api: ApiClient) -> None:
    """A webhook policy for the payment events, so they are recorded (and delivered)."""
    body = {
        "name": "Payments",
        "channel": "WEBHOOK",
        "recipients": ["http://127.0.0.1:9/hooks"],
        "notificationTypes": PAYMENT_EVENTS,
    }
    answer = api.post("/api/notifications/policies", json=body)
    assert answer.status_code in (200, 201), answer.text


def payment_events(database: Database, account_id: str, invoice_id: str) -> list[str]:
    """The payment events recorded about the invoice, oldest first."""
    with database.transaction() as session:
        return list(
            session.scalars(
                select(NotificationEvent.notification_type)
                .where(
                    NotificationEvent.account_id == account_id,
                    NotificationEvent.resource_id == invoice_id,
                    NotificationEvent.notification_type.in_(PAYMENT_EVENTS),
                )
                .order_by(NotificationEvent.created_at, NotificationEvent.id)
            )
        )
