"""Links into the customer portal, as documents and emails print them.

A link carries the customer's portal secret (`Customer.portal_secret`), never its id; the
secret is made the first time a link is needed. Two writers making a secret at once keep
one: the UPDATE only fills a missing secret (on PostgreSQL the second waits for the first's
row lock, then finds it set), and secrets are read back afterwards.

Customer ids given here must come from rows already read within the caller's account (an
invoice's customer): ids are unique across accounts, so these need no account filter.
"""

import secrets
from collections.abc import Iterable

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from tally.db import table_of
from tally.exceptions import NotFound
from tally.models import (
    Customer,
    Invoice,
    InvoiceRenderSettings,
    InvoiceStatus,
    PaymentLinkDisplay,
    PaymentProviderConnection,
    PaymentProviderName,
    PaymentStatus,
)


def _read_secrets(session: Session, customer_ids: Iterable[str]) -> dict[str, str | None]:
    customers = table_of(Customer)
    query = select(customers.c.id, customers.c.portal_secret).where(
        customers.c.id.in_(list(customer_ids))
    )
    return {row.id: row.portal_secret for row in session.execute(query)}


def portal_secrets(session: Session, customer_ids: Iterable[str]) -> dict[str, str]:
    """Each customer's portal secret, made now where missing: a fixed number of statements
    however many customers."""
    found = _read_secrets(session, customer_ids)
    missing = [customer_id for customer_id, secret in found.items() if secret is None]
    if missing:
        customers = table_of(Customer)
        session.execute(
            update(customers)
            .where(customers.c.id == bindparam("b_id"), customers.c.portal_secret.is_(None))
            .values(portal_secret=bindparam("b_secret")),
            [
                {"b_id": customer_id, "b_secret": secrets.token_urlsafe(32)}
                for customer_id in missing
            ],
        )
        found.update(_read_secrets(session, missing))
    return {customer_id: secret for customer_id, secret in found.items() if secret is not None}


def portal_root(base_url: str, secret: str) -> str:
    """`{base_url}/portal/c/{secret}`: the customer's permanent portal link."""
    return f"{base_url.rstrip('/')}/portal/c/{secret}"


def portal_links(session: Session, customer_ids: Iterable[str], base_url: str) -> dict[str, str]:
    """Each customer's portal link (`base_url` is `Settings.public_url`)."""
    found = portal_secrets(session, customer_ids)
    return {customer_id: portal_root(base_url, secret) for customer_id, secret in found.items()}


def portal_secret(session: Session, customer_id: str) -> str:
    """The customer's portal secret, made now if it has none."""
    found = portal_secrets(session, [customer_id])
    if customer_id not in found:
        raise NotFound.resource("Customer", customer_id)
    return found[customer_id]


def portal_url(session: Session, customer_id: str, base_url: str, path: str = "") -> str:
    """The customer's portal, or a page of it (`invoice_path`)."""
    return portal_root(base_url, portal_secret(session, customer_id)) + path


def invoice_path(invoice_id: str) -> str:
    """The portal page of one invoice."""
    return f"/invoices/{invoice_id}"


# The id of the Pay form on an invoice's portal page.
PAY_FRAGMENT = "#pay"


def pay_path(invoice_id: str) -> str:
    """The portal page of one invoice, at its Pay form: the payment link documents and emails
    carry."""
    return invoice_path(invoice_id) + PAY_FRAGMENT


def owes(invoice: Invoice) -> bool:
    """Whether the customer can pay the invoice now: issued (FINAL or SENT), something left
    to pay, not PAID. The rule `payments.attempts.claim` enforces when a payment starts."""
    return (
        invoice.status in (InvoiceStatus.FINAL, InvoiceStatus.SENT)
        and invoice.payment_status is not PaymentStatus.PAID
        and invoice.balance > 0
    )


def paying_accounts(session: Session, account_ids: Iterable[str]) -> set[str]:
    """Those of the accounts whose invoices carry a payment link: Stripe connected with the
    publishable key its script needs in the customer's browser, and the invoice render
    settings not HIDE_PAYMENT_LINK (no settings: shown). One query for a batch of accounts."""
    wanted = list(account_ids)
    if not wanted:
        return set()
    connection = PaymentProviderConnection
    hidden = (
        select(InvoiceRenderSettings.id)
        .where(
            InvoiceRenderSettings.account_id == connection.account_id,
            InvoiceRenderSettings.payment_link_display == PaymentLinkDisplay.HIDE_PAYMENT_LINK,
        )
        .exists()
    )
    found = session.scalars(
        select(connection.account_id).where(
            connection.account_id.in_(wanted),
            connection.provider == PaymentProviderName.STRIPE,
            connection.disconnected_at.is_(None),
            connection.publishable_key.is_not(None),
            ~hidden,
        )
    )
    return set(found)
