"""Contacts and the billing-contact rules of seed 001.

Invariant on a customer's live contacts: at most one PRIMARY, and exactly one as soon as any
contact receives billing emails. The first contact to receive them becomes PRIMARY; marking
another PRIMARY demotes the old one to STANDARD; archiving the PRIMARY promotes the oldest
STANDARD contact.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.core.clock import utcnow
from tally.customers.schemas import ContactIn
from tally.exceptions import (
    ArchivedReference,
    DuplicateValue,
    InvalidRequest,
    NotFound,
    PrimaryContactRequired,
)
from tally.models import BillingPreference, Contact, Customer

PRIMARY = BillingPreference.PRIMARY
STANDARD = BillingPreference.STANDARD
RECEIVES_INVOICES = (PRIMARY, STANDARD)


def _primary(contacts: list[Contact], *, besides: Contact | None = None) -> Contact | None:
    return next((c for c in contacts if c.billing_preference is PRIMARY and c is not besides), None)


def _check_unique_email(
    contacts: list[Contact], email: str, *, besides: Contact | None = None
) -> None:
    if any(c.email.lower() == email.lower() and c is not besides for c in contacts):
        raise DuplicateValue(f"The customer already has a contact with email {email!r}")


def replace_contacts(session: Session, customer: Customer, requested: list[ContactIn]) -> None:
    """Make `requested` the customer's live contacts, keeping the ids of matching emails."""
    if sum(c.billing_preference is PRIMARY for c in requested) > 1:
        raise InvalidRequest.field("contacts", "only one contact can be PRIMARY")
    emails = [c.email.lower() for c in requested]
    if len(set(emails)) != len(emails):
        raise InvalidRequest.field("contacts", "each contact needs its own email address")
    preferences = [c.billing_preference for c in requested]
    if PRIMARY not in preferences and STANDARD in preferences:
        preferences[preferences.index(STANDARD)] = PRIMARY
    live = {c.email.lower(): c for c in customer.active_contacts}
    now = utcnow()
    for wanted, preference in zip(requested, preferences, strict=True):
        contact = live.pop(wanted.email.lower(), None)
        if contact is None:
            customer.contacts.append(
                Contact(
                    account_id=customer.account_id,
                    name=wanted.name,
                    email=wanted.email,
                    billing_preference=preference,
                )
            )
        else:
            contact.name, contact.email, contact.billing_preference = (
                wanted.name,
                wanted.email,
                preference,
            )
    for dropped in live.values():
        dropped.archived_at = now
    session.flush()


def list_contacts(customer: Customer, *, include_archived: bool) -> list[Contact]:
    return list(customer.contacts if include_archived else customer.active_contacts)


def add_contact(session: Session, customer: Customer, data: ContactIn) -> Contact:
    live = customer.active_contacts
    _check_unique_email(live, data.email)
    preference = data.billing_preference
    current = _primary(live)
    if preference is PRIMARY and current is not None:
        current.billing_preference = STANDARD
    elif preference is STANDARD and current is None:
        preference = PRIMARY  # the first contact receiving invoices is the primary one
    contact = Contact(
        account_id=customer.account_id,
        name=data.name,
        email=data.email,
        billing_preference=preference,
    )
    customer.contacts.append(contact)
    session.flush()
    return contact


def _find(session: Session, customer: Customer, contact_id: str) -> Contact:
    contact = session.scalar(
        select(Contact).where(
            Contact.account_id == customer.account_id,
            Contact.customer_id == customer.id,
            Contact.id == contact_id,
        )
    )
    if contact is None:
        raise NotFound.resource("Contact", contact_id)
    return contact


def update_contact(
    session: Session, customer: Customer, contact_id: str, data: ContactIn
) -> Contact:
    contact = _find(session, customer, contact_id)
    if contact.archived_at is not None:
        raise ArchivedReference(f"Contact {contact_id!r} is archived")
    live = customer.active_contacts
    _check_unique_email(live, data.email, besides=contact)
    preference = data.billing_preference
    if preference is PRIMARY:
        other = _primary(live, besides=contact)
        if other is not None:
            other.billing_preference = STANDARD
    elif preference is STANDARD and _primary(live) is None:
        preference = PRIMARY  # the first contact receiving invoices is the primary one
    elif contact.billing_preference is PRIMARY:
        others = [c for c in live if c is not contact and c.billing_preference in RECEIVES_INVOICES]
        if others:
            raise PrimaryContactRequired(
                "This is the primary billing contact; mark another contact PRIMARY first"
            )
        if preference is STANDARD:
            raise PrimaryContactRequired(
                "The only contact receiving invoices must be PRIMARY; "
                "use NONE to stop sending it invoices"
            )
    contact.name, contact.email, contact.billing_preference = data.name, data.email, preference
    session.flush()
    return contact


def archive_contact(session: Session, customer: Customer, contact_id: str) -> Contact:
    contact = _find(session, customer, contact_id)
    if contact.archived_at is not None:
        return contact
    contact.archived_at = utcnow()
    changes = activity.changed({"archivedAt": None}, {"archivedAt": contact.archived_at})
    if contact.billing_preference is PRIMARY:
        successor = next(
            (
                c
                for c in customer.active_contacts
                if c is not contact and c.billing_preference is STANDARD
            ),
            None,
        )
        if successor is not None:
            successor.billing_preference = PRIMARY
        after = successor.email if successor is not None else None
        changes += activity.changed({"primaryContact": contact.email}, {"primaryContact": after})
    session.flush()
    activity.record(
        session,
        customer.account_id,
        verb="ARCHIVED",
        object_type="CONTACT",
        object_id=contact.id,
        name="Contact archived",
        summary=f"{contact.name} <{contact.email}> of {customer.legal_name} archived",
        changes=changes,
        target_type="CUSTOMER",
        target_id=customer.id,
    )
    return contact


def apply_older_fields(
    session: Session,
    customer: Customer,
    *,
    name: str | None,
    email: str | None,
    billing_emails: list[str] | None,
) -> None:
    """The older fields (`contactName`, `email`, `billingEmails`) on an update: they describe
    the primary billing contact and who else receives invoices, never the whole list, so every
    other contact stays as it is. Only an explicit `contacts` array replaces contacts."""
    live = customer.active_contacts
    primary = _primary(live)
    if email is not None:
        same = next((c for c in live if c.email.lower() == email.lower()), None)
        if same is not None and same is not primary:
            # Another contact has that address already: it becomes the primary one.
            if primary is not None:
                primary.billing_preference = STANDARD
            same.billing_preference = PRIMARY
            primary = same
        elif primary is not None:
            primary.email = email
        else:
            primary = Contact(
                account_id=customer.account_id,
                name=name or customer.legal_name,
                email=email,
                billing_preference=PRIMARY,
            )
            customer.contacts.append(primary)
    if name is not None and primary is not None:
        primary.name = name
    for address in billing_emails or []:
        known = next(
            (c for c in customer.active_contacts if c.email.lower() == address.lower()), None
        )
        if known is None:
            receives = _primary(customer.active_contacts) is not None
            customer.contacts.append(
                Contact(
                    account_id=customer.account_id,
                    name=address,
                    email=address,
                    billing_preference=STANDARD if receives else PRIMARY,
                )
            )
        elif known.billing_preference is BillingPreference.NONE:
            known.billing_preference = STANDARD if _primary(customer.active_contacts) else PRIMARY
    session.flush()
