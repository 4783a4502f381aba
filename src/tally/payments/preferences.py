"""Which provider collects an invoice, and whether automatically: the one rule automatic
collection, the portal's Pay button and the invoice email ask.

The provider: the invoice's payment settings, else its billing schedule's, else its
customer's (Sequence: invoice > billing schedule > customer), else the account's default:
Stripe when it is connected and `autoEnableStripePayments` is on, NONE otherwise. Charging
automatically: the schedule's `autoCharge` when the schedule has settings, else the account's
`enableAutomaticPayments`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tally.models import Invoice, PaymentProviderName
from tally.payments import queries

INVOICE = "INVOICE"
BILLING_SCHEDULE = "BILLING_SCHEDULE"
CUSTOMER = "CUSTOMER"
ACCOUNT = "ACCOUNT"


@dataclass(frozen=True)
class Preference:
    provider: PaymentProviderName
    auto_charge: bool
    source: str  # the level the provider came from: INVOICE, BILLING_SCHEDULE, CUSTOMER, ACCOUNT


def collection_preference(session: Session, account_id: str, invoice: Invoice) -> Preference:
    """How `invoice` is collected (one query)."""
    return preference_of(queries.collection_facts(session, account_id, invoice))


def preference_of(facts: queries.CollectionFacts) -> Preference:
    """The rule itself, on facts read one invoice at a time or a batch at once."""
    auto_charge = (
        facts.schedule_auto_charge
        if facts.schedule_auto_charge is not None
        else bool(facts.enable_automatic_payments)
    )
    for provider, source in (
        (facts.invoice_provider, INVOICE),
        (facts.schedule_provider, BILLING_SCHEDULE),
        (facts.customer_provider, CUSTOMER),
    ):
        if provider is not None:
            return Preference(provider, auto_charge, source)
    stripe = facts.stripe_connected and bool(facts.auto_enable_stripe_payments)
    default = PaymentProviderName.STRIPE if stripe else PaymentProviderName.NONE
    return Preference(default, auto_charge, ACCOUNT)
