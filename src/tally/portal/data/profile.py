"""The customer's profile: name, address and billing contact."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from tally.customers.queries import billing_email
from tally.models import Customer


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
    return Profile(
        id=customer.id,
        name=customer.legal_name,
        address=dict(customer.address or {}),
        email=billing_email(session, customer.account_id, customer.id),
        telephone=customer.telephone,
        url=customer.url,
    )
