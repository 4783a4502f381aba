"""/api/customers, contacts, /api/customer-aliases and /api/customer-organizations."""

from typing import Annotated, Literal

from fastapi import Query
from sqlalchemy.orm import Session

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import (
    Paging,
    custom_key_sort,
    paginate,
    paginate_sorted,
    sort_column,
)
from tally.api.routing import api_router
from tally.api.schemas import ItemList, Page
from tally.customers import aliases, contacts, hierarchy, presenters, service
from tally.customers import queries as customer_queries
from tally.customers.schemas import (
    AliasIn,
    AliasOut,
    AliasUpdate,
    ContactIn,
    ContactOut,
    CustomerIn,
    CustomerOut,
    OrganizationIn,
    OrganizationMembers,
    OrganizationOut,
)
from tally.models import Customer, CustomerAlias, CustomerOrganization
from tally.workflows import customers as customer_workflows

router = api_router(tags=["Customers"])


def _present(session: Session, account_id: str, customers: list[Customer]) -> list[CustomerOut]:
    return presenters.customer_views(session, account_id, customers)


def _present_one(session: Session, account_id: str, customer: Customer) -> CustomerOut:
    return _present(session, account_id, [customer])[0]


def _organization_out(
    session: Session, account_id: str, organization: CustomerOrganization
) -> OrganizationOut:
    return hierarchy.organization_views(session, account_id, [organization])[organization.owner_id]


@router.get("/customers", summary="List customers")
def list_customers(
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    legal_name: Annotated[str | None, Query(alias="legalName")] = None,
    email: str | None = None,
    alias: str | None = None,
    label: str | None = None,
    include_archived: Annotated[bool, Query(alias="includeArchived")] = False,
    billing_status: Annotated[
        Literal["ACTIVE", "INACTIVE"] | None,
        Query(
            alias="billingStatus",
            description="ACTIVE: customers with a current (active) billing schedule; "
            "INACTIVE: customers without one.",
        ),
    ] = None,
    sort_by: Annotated[
        str | None,
        Query(
            alias="sortBy",
            description="createdAt (default), updatedAt, legalName or "
            "`customProperties.<key>` (by that property's value; customers without it first "
            "in ascending order); `sortOrder` gives the direction.",
        ),
    ] = None,
) -> Page[CustomerOut]:
    sort = sort_column(
        sort_by,
        {"updatedAt": Customer.updated_at, "legalName": Customer.legal_name},
        custom_prefix="customProperties",
        custom=lambda key: custom_key_sort(Customer.custom_properties, "custom_properties", key),
    )
    filters = service.CustomerFilters(
        legal_name, email, alias, label, include_archived, billing_status
    )
    query = service.filtered_customers(account.account_id, filters)
    page = paginate_sorted(session, query, sort, Customer.id, paging)
    return Page(items=_present(session, account.account_id, page.rows), pagination=page.pagination)


@router.get(
    "/customer-custom-property-keys",
    summary="List the keys the account's customers' custom properties use",
)
def list_customer_custom_property_keys(
    account: CurrentAccount, session: ReplicaSession
) -> ItemList[str]:
    return ItemList(items=customer_queries.custom_property_keys(session, account.account_id))


@router.post("/customers", status_code=201, summary="Create customer")
def create_customer(body: CustomerIn, account: CurrentAccount, session: DbSession) -> CustomerOut:
    customer = service.create_customer(session, account.account_id, body)
    return _present_one(session, account.account_id, customer)


# `:path` so that aliases containing a slash (sent as %2F) can be looked up too.
@router.get("/customers/by-alias/{alias:path}", summary="Get customer by alias")
def get_customer_by_alias(alias: str, account: CurrentAccount, session: DbSession) -> CustomerOut:
    customer_id = aliases.customer_id_for_alias(session, account.account_id, alias)
    customer = service.get_customer(session, account.account_id, customer_id)
    return _present_one(session, account.account_id, customer)


@router.get("/customers/{id}", summary="Get customer")
def get_customer(id: str, account: CurrentAccount, session: DbSession) -> CustomerOut:
    customer = service.get_customer(session, account.account_id, id)
    return _present_one(session, account.account_id, customer)


@router.put("/customers/{id}", summary="Update customer")
def update_customer(
    id: str, body: CustomerIn, account: CurrentAccount, session: DbSession
) -> CustomerOut:
    customer = service.update_customer(session, account.account_id, id, body)
    return _present_one(session, account.account_id, customer)


@router.post("/customers/{id}/archive", summary="Archive customer")
def archive_customer(id: str, account: CurrentAccount, session: DbSession) -> CustomerOut:
    customer = customer_workflows.archive_customer(session, account.account_id, id)
    return _present_one(session, account.account_id, customer)


@router.get("/customers/{id}/aliases", summary="Get a customer's aliases")
def list_customer_aliases(
    id: str, account: CurrentAccount, session: ReplicaSession
) -> ItemList[AliasOut]:
    customer = service.get_customer(session, account.account_id, id)
    return ItemList(items=[AliasOut.model_validate(a) for a in customer.aliases])


@router.get("/customers/{customer}/contacts", summary="List a customer's contacts")
def list_contacts(
    customer: str,
    account: CurrentAccount,
    session: ReplicaSession,
    include_archived: Annotated[bool, Query(alias="includeArchived")] = False,
) -> ItemList[ContactOut]:
    owner = service.get_customer(session, account.account_id, customer)
    found = contacts.list_contacts(owner, include_archived=include_archived)
    return ItemList(items=[ContactOut.model_validate(c) for c in found])


@router.post("/customers/{customer}/contacts", status_code=201, summary="Create a contact")
def create_contact(
    customer: str, body: ContactIn, account: CurrentAccount, session: DbSession
) -> ContactOut:
    owner = service.get_active_customer(session, account.account_id, customer)
    return ContactOut.model_validate(contacts.add_contact(session, owner, body))


@router.put("/customers/{customer}/contacts/{id}", summary="Update a contact")
def update_contact(
    customer: str, id: str, body: ContactIn, account: CurrentAccount, session: DbSession
) -> ContactOut:
    owner = service.get_active_customer(session, account.account_id, customer)
    return ContactOut.model_validate(contacts.update_contact(session, owner, id, body))


@router.post("/customers/{customer}/contacts/{id}/archive", summary="Archive a contact")
def archive_contact(
    customer: str, id: str, account: CurrentAccount, session: DbSession
) -> ContactOut:
    owner = service.get_active_customer(session, account.account_id, customer)
    return ContactOut.model_validate(contacts.archive_contact(session, owner, id))


@router.get("/customer-aliases", summary="List customer aliases")
def list_aliases(
    account: CurrentAccount, session: ReplicaSession, paging: Paging, value: str | None = None
) -> Page[AliasOut]:
    query = aliases.alias_query(account.account_id, value)
    page = paginate(session, query, CustomerAlias.id, paging)
    return Page(items=[AliasOut.model_validate(a) for a in page.rows], pagination=page.pagination)


@router.post(
    "/customer-aliases",
    status_code=201,
    summary="Create a customer alias",
    description="Retries with the same `Idempotency-Key` header return the first response.",
)
def create_alias(body: AliasIn, account: CurrentAccount, session: DbSession) -> AliasOut:
    customer = service.named_active_customer(
        session, account.account_id, "customerId", body.customer_id
    )
    alias = aliases.add_aliases(session, customer, [body.value], label=body.label)[0]
    return AliasOut.model_validate(alias)


@router.put("/customer-aliases/{id}", summary="Update a customer alias")
def update_alias(
    id: str, body: AliasUpdate, account: CurrentAccount, session: DbSession
) -> AliasOut:
    return AliasOut.model_validate(
        aliases.update_alias(session, account.account_id, id, body.label)
    )


@router.delete("/customer-aliases/{id}", summary="Delete a customer alias")
def delete_alias(id: str, account: CurrentAccount, session: DbSession) -> AliasOut:
    return AliasOut.model_validate(aliases.delete_alias(session, account.account_id, id))


@router.post("/customer-organizations", status_code=201, summary="Create a customer organization")
def create_organization(
    body: OrganizationIn, account: CurrentAccount, session: DbSession
) -> OrganizationOut:
    organization = hierarchy.create_organization(
        session, account.account_id, body.owner_id, body.member_ids
    )
    return _organization_out(session, account.account_id, organization)


@router.post("/customer-organizations/{id}/members", summary="Add customers to an organization")
def add_organization_members(
    id: str, body: OrganizationMembers, account: CurrentAccount, session: DbSession
) -> OrganizationOut:
    organization = hierarchy.add_members(session, account.account_id, id, body.customer_ids)
    return _organization_out(session, account.account_id, organization)


@router.put(
    "/customer-organizations/{id}/members", summary="Replace the members of an organization"
)
def replace_organization_members(
    id: str, body: OrganizationMembers, account: CurrentAccount, session: DbSession
) -> OrganizationOut:
    organization = hierarchy.replace_members(session, account.account_id, id, body.customer_ids)
    return _organization_out(session, account.account_id, organization)
