"""/api/tax-registrations: the merchant's and its customers' tax identifiers."""

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, paginate
from tally.api.routing import api_router
from tally.api.schemas import Page, Pagination
from tally.models import TaxRegistration
from tally.tax import registrations as service
from tally.tax.queries import tax_registration_query
from tally.tax.registration_schemas import TaxRegistrationIn, TaxRegistrationOut

router = api_router(tags=["Tax registrations"])


@router.get("/tax-registrations", summary="List tax registrations")
def list_tax_registrations(
    account: CurrentAccount, session: ReplicaSession, paging: Paging
) -> Page[TaxRegistrationOut]:
    query = tax_registration_query(account.account_id)
    page = paginate(session, query, TaxRegistration.id, paging)
    items = [TaxRegistrationOut.build(row) for row in page.rows]
    return Page(items=items, pagination=page.pagination)


@router.post("/tax-registrations", status_code=201, summary="Create a tax registration")
def create_tax_registration(
    body: TaxRegistrationIn, account: CurrentAccount, session: DbSession
) -> TaxRegistrationOut:
    registration = service.create_registration(session, account.account_id, body)
    return TaxRegistrationOut.build(registration)


def _all(rows: list[TaxRegistration]) -> Page[TaxRegistrationOut]:
    """Every registration of one party: Sequence's shape is a page, but one holds them all."""
    items = [TaxRegistrationOut.build(row) for row in rows]
    return Page(items=items, pagination=Pagination(total_result_size=len(items)))


@router.get("/tax-registrations/for-customer/{id}", summary="List a customer's tax registrations")
def list_customer_tax_registrations(
    id: str, account: CurrentAccount, session: ReplicaSession
) -> Page[TaxRegistrationOut]:
    return _all(service.customer_registrations(session, account.account_id, id))


@router.get(
    "/tax-registrations/for-merchant/{id}",
    summary="List the merchant's tax registrations (the merchant id is the account id)",
)
def list_merchant_tax_registrations(
    id: str, account: CurrentAccount, session: ReplicaSession
) -> Page[TaxRegistrationOut]:
    return _all(service.merchant_registrations(session, account.account_id, id))


@router.get("/tax-registrations/{id}", summary="Get a tax registration")
def get_tax_registration(
    id: str, account: CurrentAccount, session: DbSession
) -> TaxRegistrationOut:
    return TaxRegistrationOut.build(service.get_registration(session, account.account_id, id))


@router.put("/tax-registrations/{id}", summary="Update a tax registration")
def update_tax_registration(
    id: str, body: TaxRegistrationIn, account: CurrentAccount, session: DbSession
) -> TaxRegistrationOut:
    registration = service.update_registration(session, account.account_id, id, body)
    return TaxRegistrationOut.build(registration)


@router.delete("/tax-registrations/{id}", summary="Delete a tax registration")
def delete_tax_registration(
    id: str, account: CurrentAccount, session: DbSession
) -> TaxRegistrationOut:
    registration = service.delete_registration(session, account.account_id, id)
    return TaxRegistrationOut.build(registration)
