"""Parent-child customer hierarchies (seed 003), exposed as Sequence's organizations.

`Customer.parent_id` is the one source of truth. An organization row only gives a parent's
group the stable id Sequence's API speaks of; its members are the parent's children.
"""

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from tally.activity import service as activity
from tally.api import references
from tally.customers.schemas import CustomerIdWithName, OrganizationOut
from tally.db import advisory_lock
from tally.exceptions import (
    ArchivedReference,
    DuplicateValue,
    HierarchyCycle,
    NotFound,
    ReferenceInUse,
)
from tally.models import Customer, CustomerOrganization


def lineage(session: Session, account_id: str, customer_id: str) -> set[str]:
    """The customer and every customer above it, in one recursive query."""
    chain = (
        select(Customer.id, Customer.parent_id)
        .where(Customer.account_id == account_id, Customer.id == customer_id)
        .cte("chain", recursive=True)
    )
    above = aliased(Customer)
    chain = chain.union(
        select(above.id, above.parent_id).join(chain, above.id == chain.c.parent_id)
    )
    return set(session.scalars(select(chain.c.id)))


def load_customers(
    session: Session, account_id: str, field: str, customer_ids: Iterable[str]
) -> list[Customer]:
    """The customers a body names in `field` (a list: `memberIds.0`, ...), in its order."""
    named = references.fields(field, customer_ids)
    found = references.resolve(session, account_id, Customer, named)
    return [found[customer_id] for customer_id in dict.fromkeys(i for _, i in named)]


def lock(session: Session, account_id: str) -> None:
    """Serialize an account's hierarchy changes: two concurrent moves (A under B, B under A)
    would each pass the cycle check alone. Call before writing anything."""
    advisory_lock(session, "customer-hierarchy", account_id)


def ensure_organization(session: Session, owner: Customer) -> CustomerOrganization:
    organization = session.scalar(
        select(CustomerOrganization).where(CustomerOrganization.owner_id == owner.id)
    )
    if organization is None:
        organization = CustomerOrganization(account_id=owner.account_id, owner_id=owner.id)
        session.add(organization)
        session.flush()
    return organization


def assign_parent(
    session: Session, account_id: str, children: list[Customer], parent_id: str | None
) -> None:
    """Make `parent_id` the parent of `children` (None detaches them). Refuses cycles."""
    if parent_id is None:
        for child in children:
            child.parent_id = None
        return
    parent = references.resolve_one(
        session, account_id, Customer, "parentId", parent_id, kind="Parent customer"
    )
    if parent.archived_at is not None:
        raise ArchivedReference(f"Parent customer {parent_id!r} is archived")
    above_parent = lineage(session, account_id, parent.id)
    for child in children:
        if child.id in above_parent:
            raise HierarchyCycle(
                f"Customer {child.id!r} cannot be a child of {parent.id!r}: "
                "it is that customer or one of its parents, which would make a cycle"
            )
    ensure_organization(session, parent)
    for child in children:
        child.parent_id = parent.id


def _organization(session: Session, account_id: str, organization_id: str) -> CustomerOrganization:
    organization = session.scalar(
        select(CustomerOrganization).where(
            CustomerOrganization.account_id == account_id,
            CustomerOrganization.id == organization_id,
        )
    )
    if organization is None:
        raise NotFound.resource("Customer organization", organization_id)
    return organization


def _check_free(members: list[Customer], owner_id: str) -> None:
    taken = [member.id for member in members if member.parent_id not in (None, owner_id)]
    if taken:
        raise ReferenceInUse(
            f"Customer(s) already belong to another organization: {', '.join(taken)}; "
            "remove them from it first"
        )


def create_organization(
    session: Session, account_id: str, owner_id: str, member_ids: list[str]
) -> CustomerOrganization:
    lock(session, account_id)
    owner = references.resolve_one(session, account_id, Customer, "ownerId", owner_id)
    members = load_customers(session, account_id, "memberIds", member_ids)
    existing = session.scalar(
        select(CustomerOrganization).where(CustomerOrganization.owner_id == owner.id)
    )
    if existing is not None:
        raise DuplicateValue(
            f"Customer {owner_id!r} already owns organization {existing.id!r}; "
            "add members to it instead"
        )
    _check_free(members, owner.id)
    organization = ensure_organization(session, owner)
    assign_parent(session, account_id, members, owner.id)
    _log_members(session, organization, "CREATED", [], sorted(m.id for m in members))
    return organization


def add_members(
    session: Session, account_id: str, organization_id: str, customer_ids: list[str]
) -> CustomerOrganization:
    lock(session, account_id)
    organization = _organization(session, account_id, organization_id)
    members = load_customers(session, account_id, "customerIds", customer_ids)
    _check_free(members, organization.owner_id)
    before = _member_ids(session, organization)
    assign_parent(session, account_id, members, organization.owner_id)
    after = sorted({*before, *(member.id for member in members)})
    _log_members(session, organization, "UPDATED", before, after)
    return organization


def replace_members(
    session: Session, account_id: str, organization_id: str, customer_ids: list[str]
) -> CustomerOrganization:
    lock(session, account_id)
    organization = _organization(session, account_id, organization_id)
    members = load_customers(session, account_id, "customerIds", customer_ids)
    _check_free(members, organization.owner_id)
    keep = {member.id for member in members}
    current = list(
        session.scalars(
            select(Customer).where(
                Customer.account_id == account_id, Customer.parent_id == organization.owner_id
            )
        )
    )
    assign_parent(session, account_id, [c for c in current if c.id not in keep], None)
    assign_parent(session, account_id, members, organization.owner_id)
    before = sorted(customer.id for customer in current)
    _log_members(session, organization, "UPDATED", before, sorted(keep))
    return organization


def _member_ids(session: Session, organization: CustomerOrganization) -> list[str]:
    return sorted(
        session.scalars(
            select(Customer.id).where(
                Customer.account_id == organization.account_id,
                Customer.parent_id == organization.owner_id,
            )
        )
    )


def _log_members(
    session: Session,
    organization: CustomerOrganization,
    verb: str,
    before: list[str],
    after: list[str],
) -> None:
    """An activity log entry when the members changed (or the organization is new), aimed
    at its owner."""
    if before == after and verb != "CREATED":
        return
    added, removed = len(set(after) - set(before)), len(set(before) - set(after))
    activity.record(
        session,
        organization.account_id,
        verb=verb,
        object_type="CUSTOMER_ORGANIZATION",
        object_id=organization.id,
        name="Organization created" if verb == "CREATED" else "Organization members changed",
        summary=f"{added} member(s) added, {removed} removed; {len(after)} in all",
        changes=activity.changed({"memberIds": before}, {"memberIds": after}),
        target_type="CUSTOMER",
        target_id=organization.owner_id,
    )


def organization_views(
    session: Session, account_id: str, organizations: Iterable[CustomerOrganization]
) -> dict[str, OrganizationOut]:
    """Each organization with its owner and members, keyed by owner id (two queries in all)."""
    by_owner = {organization.owner_id: organization for organization in organizations}
    if not by_owner:
        return {}
    session.flush()
    rows = session.execute(
        select(Customer.id, Customer.legal_name, Customer.parent_id)
        .where(
            Customer.account_id == account_id,
            or_(Customer.id.in_(by_owner), Customer.parent_id.in_(by_owner)),
        )
        .order_by(Customer.id)
    ).all()
    names = {row.id: row.legal_name for row in rows}
    views = {
        owner_id: OrganizationOut(
            id=organization.id,
            owner=CustomerIdWithName(id=owner_id, name=names.get(owner_id, "")),
            members=[],
        )
        for owner_id, organization in by_owner.items()
    }
    for row in rows:
        if row.parent_id in views:
            views[row.parent_id].members.append(CustomerIdWithName(id=row.id, name=row.legal_name))
    return views


def organizations_of(
    session: Session, account_id: str, customers: list[Customer]
) -> dict[str, list[OrganizationOut]]:
    """For each customer, the organization it owns and the one it belongs to."""
    owner_ids = {c.id for c in customers} | {c.parent_id for c in customers if c.parent_id}
    organizations = session.scalars(
        select(CustomerOrganization).where(
            CustomerOrganization.account_id == account_id,
            CustomerOrganization.owner_id.in_(owner_ids),
        )
    )
    views = organization_views(session, account_id, organizations)
    return {
        customer.id: [views[owner] for owner in (customer.id, customer.parent_id) if owner in views]
        for customer in customers
    }
