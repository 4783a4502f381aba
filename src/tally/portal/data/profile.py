"""The customer's profile: name, address and billing contact."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from tally.models import (
    BillingPreference,
    Contact,
    Customer,
)


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    address: dict[str, Any]
    email: str | None  # the primary billing contact's
    telephone: str | None
    url: str | None


def profile(session: Session, customer: Customer) -> Profile:
    """The customer as the portal shows it (one query: its billing contact)."""
    email = session.scalar(
        select(Contact.email)
        .where(
            Contact.account_id == customer.account_id,
            Contact.customer_id == customer.id,
            Contact.archived_at.is_(None),
        )
        .order_by(Contact.billing_preference != BillingPreference.PRIMARY, Contact.id)
        .limit(1)
    )
    return Profile(
        id=customer.id,
        name=customer.legal_name,
        address=dict(customer.address or {}),
        email=email,
        telephone=customer.telephone,
        url=customer.url,
    )
