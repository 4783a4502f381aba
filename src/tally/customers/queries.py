"""Reads of customers the dashboard's and the portal's pages ask for, one function per
question, each one query on the tenant-scoped base (`models/scoped.py`)."""

from collections.abc import Collection
from typing import NamedTuple

from sqlalchemy import true
from sqlalchemy.orm import Session

from tally.core.sql import json_object_keys
from tally.models import BillingPreference, Contact, Customer
from tally.models.scoped import scoped


class CustomerChoice(NamedTuple):
    """A customer as a form's choice or a list's link: no contacts or aliases loaded."""

    id: str
    legal_name: str
    archived: bool


def customer_choices(
    session: Session, account_id: str, *, archived: bool = False, limit: int | None = None
) -> list[CustomerChoice]:
    """The account's customers by name (live ones only unless `archived`)."""
    query = scoped(Customer, account_id).with_only_columns(
        Customer.id, Customer.legal_name, Customer.archived_at.is_not(None)
    )
    if not archived:
        query = query.where(Customer.archived_at.is_(None))
    query = query.order_by(Customer.legal_name, Customer.id).limit(limit)
    return [CustomerChoice(*row) for row in session.execute(query)]


def customer_names(session: Session, account_id: str, ids: Collection[str]) -> dict[str, str]:
    """id -> legal name of those of `ids` that are the account's customers (archived too)."""
    if not ids:
        return {}
    query = (
        scoped(Customer, account_id)
        .with_only_columns(Customer.id, Customer.legal_name)
        .where(Customer.id.in_(list(ids)))
    )
    return dict(session.execute(query).all())


def is_customer(session: Session, account_id: str, customer_id: str) -> bool:
    """Whether `customer_id` is one of the account's customers (archived too)."""
    query = scoped(Customer, account_id).with_only_columns(Customer.id)
    return session.scalar(query.where(Customer.id == customer_id)) is not None


def billing_email(session: Session, account_id: str, customer_id: str) -> str | None:
    """The email of the customer's primary billing contact, else of its first live contact."""
    query = (
        scoped(Contact, account_id)
        .with_only_columns(Contact.email)
        .where(Contact.customer_id == customer_id, Contact.archived_at.is_(None))
        .order_by(Contact.billing_preference != BillingPreference.PRIMARY, Contact.id)
    )
    return session.scalar(query.limit(1))


def custom_property_keys(session: Session, account_id: str) -> list[str]:
    """Every key of the account's customers' `customProperties` (archived customers' too),
    once each, sorted."""
    keys = json_object_keys(session, Customer.custom_properties)
    query = (
        scoped(Customer, account_id)
        .with_only_columns(keys.c.key)
        .distinct()
        .select_from(Customer)
        .join(keys, true())
        .order_by(keys.c.key)
    )
    return list(session.scalars(query))


def billing_recipients(
    session: Session, account_id: str, customer_ids: Collection[str]
) -> dict[str, tuple[list[str], list[str]]]:
    """customer -> (to, cc) as its invoices are addressed: the PRIMARY contact, STANDARD ones
    in copy; live contacts only. One query."""
    if not customer_ids:
        return {}
    rows = session.execute(
        scoped(Contact, account_id)
        .with_only_columns(Contact.customer_id, Contact.email, Contact.billing_preference)
        .where(
            Contact.customer_id.in_(list(customer_ids)),
            Contact.archived_at.is_(None),
            Contact.billing_preference != BillingPreference.NONE,
        )
        .order_by(Contact.id)
    ).all()
    found: dict[str, tuple[list[str], list[str]]] = {}
    for customer_id, email, preference in rows:
        to, cc = found.setdefault(customer_id, ([], []))
        (to if preference is BillingPreference.PRIMARY else cc).append(email)
    return found
