"""Portal session tokens (seed 004): short-lived credentials a merchant hands to a customer.

A token is 256 random bits (`secrets.token_urlsafe(32)`); only its SHA-256 is stored, so the
table leaks nothing usable. A token is bound to one account and one customer and dies when
- it expires (`Settings.portal_session_ttl_seconds`, one hour by default),
- it is revoked (`revoked_at`),
- the customer's portal link is rotated: the session remembers the SHA-256 of the portal
  secret it was issued under, and a rotated secret no longer matches,
- the account turns its portal off.

An archived customer gets no new session (400), but one issued before keeps working until it
ends, showing what the permanent link shows an archived customer: its sent invoices, read
only (`access.Viewer.closed`). A session's page must never say "this link has expired, ask
for a new one" when no new one can be issued, and a customer paying an invoice in the
merchant's embedded portal is not cut off mid-way; the exposure is no more than the permanent
link's, and lasts at most the session's lifetime (rotating the link ends it at once).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.core.clock import utcnow
from tally.core.hashing import hash_token
from tally.customers.aliases import customer_id_for_alias
from tally.documents.links import portal_secret
from tally.exceptions import BadRequest, Conflict, NotFound
from tally.models import Customer, CustomerAlias, PortalSession

SESSION_PATH = "/portal/session"


@dataclass(frozen=True)
class IssuedSession:
    token: str
    url: str
    expires_at: datetime


def session_url(base_url: str, token: str) -> str:
    """Where the customer exchanges the token for a cookie."""
    return f"{base_url.rstrip('/')}{SESSION_PATH}?token={token}"


class CustomerArchived(BadRequest):
    error_type = "CustomerArchived"


def _customer(session: Session, account_id: str, customer_id: str) -> Customer:
    """The customer, archived or not: an archived one keeps a read-only portal."""
    customer = session.scalar(
        select(Customer).where(Customer.account_id == account_id, Customer.id == customer_id)
    )
    if customer is None:
        raise NotFound.resource("Customer", customer_id)
    return customer


def issue_session(
    session: Session, account_id: str, customer_id: str, *, base_url: str, ttl_seconds: int
) -> IssuedSession:
    """A new token for one customer of the account, valid for `ttl_seconds`. Refused (400)
    for an archived customer: its account is closed."""
    customer = _customer(session, account_id, customer_id)
    if customer.archived_at is not None:
        raise CustomerArchived(
            f"Customer {customer.id!r} is archived: no new portal sessions are issued for it. "
            "Its permanent portal link (portalUrl) still shows its invoices, read-only."
        )
    secret = portal_secret(session, customer.id)
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(seconds=ttl_seconds)
    session.add(
        PortalSession(
            account_id=account_id,
            customer_id=customer.id,
            token_hash=hash_token(token),
            portal_secret_digest=hash_token(secret),
            expires_at=expires_at,
        )
    )
    session.flush()
    return IssuedSession(token=token, url=session_url(base_url, token), expires_at=expires_at)


def issue_session_by_alias(
    session: Session, account_id: str, external_id: str, *, base_url: str, ttl_seconds: int
) -> IssuedSession:
    """Flexprice's `external_id` is one of the customer's aliases (or its id)."""
    customer_id = customer_id_for_alias(session, account_id, external_id)
    return issue_session(
        session, account_id, customer_id, base_url=base_url, ttl_seconds=ttl_seconds
    )


def rotate_secret(session: Session, account_id: str, customer_id: str) -> Customer:
    """A new portal secret: the old link and every session issued under it stop working.
    Archived customers too: their link still opens their invoices."""
    customer = _customer(session, account_id, customer_id)
    customer.portal_secret = secrets.token_urlsafe(32)
    session.flush()
    activity.record(
        session,
        account_id,
        verb="ROTATED",
        object_type="CUSTOMER",
        object_id=customer.id,
        name="Portal link rotated",
        summary=f"{customer.legal_name}: a new portal link; the old one and its sessions stop "
        "working",
    )
    return customer


def revoke_sessions(session: Session, account_id: str, customer_id: str) -> int:
    """Revoke every live session of a customer; returns how many."""
    now = utcnow()
    result = session.execute(
        update(PortalSession)
        .where(
            PortalSession.account_id == account_id,
            PortalSession.customer_id == customer_id,
            PortalSession.revoked_at.is_(None),
            PortalSession.expires_at > now,
        )
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def is_live(record: PortalSession, customer: Customer, now: datetime) -> bool:
    """Whether a session found by its token hash still opens the portal."""
    return (
        record.revoked_at is None
        and record.expires_at > now
        and customer.portal_secret is not None
        and secrets.compare_digest(record.portal_secret_digest, hash_token(customer.portal_secret))
    )


def customer_by_reference(session: Session, reference: str, account_id: str | None) -> Customer:
    """A customer named by its id or one of its aliases, for operators (`tally portal link`;
    an archived customer's link opens its invoices). Without an account, an alias must name
    one customer across all accounts."""
    if account_id is not None:
        return _customer(session, account_id, customer_id_for_alias(session, account_id, reference))
    by_id = session.scalar(select(Customer).where(Customer.id == reference))
    if by_id is not None:
        return by_id
    owners = session.execute(
        select(CustomerAlias.account_id, CustomerAlias.customer_id).where(
            CustomerAlias.value == reference, CustomerAlias.deleted_at.is_(None)
        )
    ).all()
    if not owners:
        raise NotFound(f"No customer has the id or alias {reference!r}")
    if len(owners) > 1:
        raise Conflict(f"The alias {reference!r} is used in {len(owners)} accounts: give --account")
    return _customer(session, owners[0].account_id, owners[0].customer_id)
