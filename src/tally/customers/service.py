"""Customers: create, update, find, list and archive.

Contacts, aliases and the hierarchy have their own modules; this one composes them into the
customer-level operations of Sequence's API.
"""

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from tally.activity import service as activity
from tally.api import references
from tally.core.clock import utcnow
from tally.customers import aliases, contacts, hierarchy
from tally.customers.schemas import CustomerIn
from tally.exceptions import ArchivedReference, InvalidRequest, NotFound
from tally.models import (
    BillingSchedule,
    Contact,
    Customer,
    CustomerAlias,
    CustomerStatus,
    ScheduleStatus,
    TaxStatus,
)
from tally.notifications import events
from tally.notifications.events import NotificationType

# Columns a PUT leaves alone when the body omits them.
_OPTIONAL_COLUMNS = ("url", "label", "telephone", "payment_reference", "language")


def customer_query(account_id: str) -> Select[Customer]:
    """Customers of one account, with what their representation needs loaded in bulk."""
    return (
        select(Customer)
        .where(Customer.account_id == account_id)
        .options(
            selectinload(Customer.contacts),
            selectinload(Customer.aliases),
            selectinload(Customer.children),
        )
    )


def get_customer(session: Session, account_id: str, customer_id: str) -> Customer:
    customer = session.scalar(
        customer_query(account_id)
        .where(Customer.id == customer_id)
        .execution_options(populate_existing=True)
    )
    if customer is None:
        raise NotFound.resource("Customer", customer_id)
    return customer


def get_active_customer(session: Session, account_id: str, customer_id: str) -> Customer:
    """A customer that may still change: archived customers are read-only."""
    customer = get_customer(session, account_id, customer_id)
    if customer.archived_at is not None:
        raise ArchivedReference(f"Customer {customer_id!r} is archived")
    return customer


def named_active_customer(
    session: Session, account_id: str, field: str, customer_id: str
) -> Customer:
    """The customer a body names in `field` (404 naming it otherwise), that may change."""
    references.resolve_one(session, account_id, Customer, field, customer_id)
    return get_active_customer(session, account_id, customer_id)


def create_customer(session: Session, account_id: str, data: CustomerIn) -> Customer:
    requested_contacts = data.contacts_requested()
    if not requested_contacts:
        raise InvalidRequest.field(
            "contacts", "a customer needs a billing contact: give `contacts` or `email`"
        )
    if data.parent_id is not None:
        hierarchy.lock(session, account_id)
    customer = Customer(
        account_id=account_id,
        legal_name=data.legal_name,
        address=data.address.model_dump(mode="json", exclude_none=True),
        url=data.url,
        label=data.label,
        telephone=data.telephone,
        payment_reference=data.payment_reference,
        language=data.language,
        tax_status=data.tax_status or TaxStatus.TAXED,
        status=data.status or CustomerStatus.ACTIVE,
        integration_ids=[
            item.model_dump(mode="json", exclude_none=True) for item in data.integration_ids or []
        ],
        custom_properties=data.custom_properties or {},
        contacts=[],
        # Made now so that reading a customer (its `portalUrl`) seldom has to write.
        portal_secret=secrets.token_urlsafe(32),
    )
    session.add(customer)
    session.flush()
    contacts.replace_contacts(session, customer, requested_contacts)
    if data.parent_id is not None:
        hierarchy.assign_parent(session, account_id, [customer], data.parent_id)
    aliases.add_aliases(session, customer, data.customer_aliases or [])
    created = get_customer(session, account_id, customer.id)
    announce(session, NotificationType.CUSTOMER_CREATED, created)
    return created


def update_customer(
    session: Session, account_id: str, customer_id: str, data: CustomerIn
) -> Customer:
    customer = get_active_customer(session, account_id, customer_id)
    before = _audited(customer)
    given = data.model_fields_set
    # Restating the current parent is no move (and stays allowed once that parent is archived).
    moves = "parent_id" in given and data.parent_id != customer.parent_id
    if moves:
        hierarchy.lock(session, account_id)
    customer.legal_name = data.legal_name
    customer.address = data.address.model_dump(mode="json", exclude_none=True)
    for column in _OPTIONAL_COLUMNS:
        if column in given:
            setattr(customer, column, getattr(data, column))
    if data.tax_status is not None:
        customer.tax_status = data.tax_status
    if data.status is not None:
        customer.status = data.status
    if data.integration_ids is not None:
        customer.integration_ids = [
            item.model_dump(mode="json", exclude_none=True) for item in data.integration_ids
        ]
    if data.custom_properties is not None:
        customer.custom_properties = data.custom_properties
    if data.contacts is not None:
        contacts.replace_contacts(session, customer, data.contacts)
    elif data.email is not None or data.contact_name is not None or data.billing_emails:
        contacts.apply_older_fields(
            session,
            customer,
            name=data.contact_name,
            email=data.email,
            billing_emails=data.billing_emails,
        )
    if moves:
        hierarchy.assign_parent(session, account_id, [customer], data.parent_id)
    # Restating aliases the customer already has (a read-modify-write round trip) is no conflict.
    have = {alias.value for alias in customer.aliases}
    new_aliases = [value for value in data.customer_aliases or [] if value not in have]
    aliases.add_aliases(session, customer, new_aliases)
    customer.updated_at = utcnow()  # contacts and aliases are part of the customer too
    session.flush()
    updated = get_customer(session, account_id, customer.id)
    if changes := activity.changed(before, _audited(updated)):
        activity.record(
            session,
            account_id,
            verb="UPDATED",
            object_type="CUSTOMER",
            object_id=customer.id,
            name="Customer updated",
            summary=f"{updated.legal_name}: " + ", ".join(c["field"] for c in changes),
            changes=changes,
        )
    announce(session, NotificationType.CUSTOMER_UPDATED, updated)
    return updated


def _audited(customer: Customer) -> dict[str, Any]:
    """What the activity log compares before and after an update."""
    return {
        "legalName": customer.legal_name,
        "address": customer.address,
        "url": customer.url,
        "label": customer.label,
        "telephone": customer.telephone,
        "paymentReference": customer.payment_reference,
        "language": customer.language,
        "taxStatus": customer.tax_status,
        "status": customer.status,
        "parentId": customer.parent_id,
        "customProperties": customer.custom_properties,
        "integrationIds": customer.integration_ids,
        "contacts": [
            f"{c.name} <{c.email}> {c.billing_preference.value}" for c in customer.active_contacts
        ],
        "customerAliases": [alias.value for alias in customer.aliases],
    }


def mark_archived(session: Session, account_id: str, customer_id: str) -> tuple[Customer, bool]:
    """The customer archived (hidden from default lists, read-only, its history kept) and
    logged; whether it was archived now. `workflows.customers.archive_customer` archives its
    schedules and voids its open invoices with it."""
    customer = get_customer(session, account_id, customer_id)
    if customer.archived_at is not None:
        return customer, False
    customer.archived_at = utcnow()
    activity.record(
        session,
        account_id,
        verb="ARCHIVED",
        object_type="CUSTOMER",
        object_id=customer.id,
        name="Customer archived",
        summary=f"{customer.legal_name} archived with its schedules and open invoices",
        changes=[
            {
                "field": "archivedAt",
                "before": None,
                "after": activity.plain(customer.archived_at),
            }
        ],
    )
    session.flush()
    return customer, True


def announce(session: Session, what: NotificationType, customer: Customer) -> None:
    """Webhooks and emails of the change, queued in its transaction (sent after commit)."""
    events.emit(session, customer.account_id, what, events.CUSTOMER, [customer.id])


@dataclass(frozen=True)
class CustomerFilters:
    legal_name: str | None = None
    email: str | None = None
    alias: str | None = None
    label: str | None = None
    include_archived: bool = False
    # ACTIVE: with a current (ACTIVE, not archived) billing schedule; INACTIVE: without one.
    billing_status: str | None = None


def _contains(column: InstrumentedAttribute[Any], text: str) -> ColumnElement[bool]:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped.lower()}%", escape="\\")


def filtered_customers(account_id: str, filters: CustomerFilters) -> Select[Customer]:
    query = customer_query(account_id)
    if not filters.include_archived:
        query = query.where(Customer.archived_at.is_(None))
    if filters.legal_name:
        query = query.where(_contains(Customer.legal_name, filters.legal_name))
    if filters.label:
        query = query.where(_contains(Customer.label, filters.label))
    if filters.email:
        query = query.where(
            exists().where(
                Contact.customer_id == Customer.id,
                Contact.archived_at.is_(None),
                func.lower(Contact.email) == filters.email.lower(),
            )
        )
    if filters.alias:
        query = query.where(
            or_(
                Customer.id == filters.alias,
                exists().where(
                    CustomerAlias.customer_id == Customer.id,
                    CustomerAlias.deleted_at.is_(None),
                    CustomerAlias.value == filters.alias,
                ),
            )
        )
    if filters.billing_status is not None:
        current = exists().where(
            BillingSchedule.account_id == account_id,
            BillingSchedule.customer_id == Customer.id,
            BillingSchedule.status == ScheduleStatus.ACTIVE,
            BillingSchedule.archived_at.is_(None),
        )
        query = query.where(current if filters.billing_status == "ACTIVE" else ~current)
    return query
