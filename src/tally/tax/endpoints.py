"""/api/tax-rates, including the versions every update creates."""

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, paginate
from tally.api.routing import api_router
from tally.api.schemas import ItemList, Page
from tally.models import TaxRate
from tally.tax import service
from tally.tax.queries import tax_rate_query
from tally.tax.schemas import ArchivedTaxRateOut, TaxRateIn, TaxRateOut, TaxRateUpdate

router = api_router(tags=["Tax rates"])


@router.get("/tax-rates", summary="List tax rates")
def list_tax_rates(
    account: CurrentAccount, session: ReplicaSession, paging: Paging
) -> Page[TaxRateOut]:
    page = paginate(session, tax_rate_query(account.account_id), TaxRate.id, paging)
    return Page(items=[TaxRateOut.build(t) for t in page.rows], pagination=page.pagination)


@router.post("/tax-rates", status_code=201, summary="Create a tax rate")
def create_tax_rate(body: TaxRateIn, account: CurrentAccount, session: DbSession) -> TaxRateOut:
    return TaxRateOut.build(service.create_tax_rate(session, account.account_id, body))


@router.get("/tax-rates/{id}", summary="Get a tax rate (its newest version)")
def get_tax_rate(id: str, account: CurrentAccount, session: DbSession) -> TaxRateOut:
    return TaxRateOut.build(service.get_tax_rate(session, account.account_id, id))


@router.put("/tax-rates/{id}", summary="Update a tax rate (adds a version)")
def update_tax_rate(
    id: str, body: TaxRateUpdate, account: CurrentAccount, session: DbSession
) -> TaxRateOut:
    return TaxRateOut.build(service.update_tax_rate(session, account.account_id, id, body))


@router.delete("/tax-rates/{id}", summary="Delete a tax rate")
def delete_tax_rate(id: str, account: CurrentAccount, session: DbSession) -> TaxRateOut:
    return TaxRateOut.build(service.delete_tax_rate(session, account.account_id, id))


@router.post("/tax-rates/{id}/archive", summary="Archive a tax rate")
def archive_tax_rate(id: str, account: CurrentAccount, session: DbSession) -> ArchivedTaxRateOut:
    tax_rate = service.archive_tax_rate(session, account.account_id, id)
    return ArchivedTaxRateOut.model_validate(TaxRateOut.build(tax_rate).model_dump())


@router.get("/tax-rates/{id}/versions", summary="List every version of a tax rate")
def list_tax_rate_versions(
    id: str, account: CurrentAccount, session: ReplicaSession
) -> ItemList[TaxRateOut]:
    tax_rate = service.get_tax_rate(session, account.account_id, id)
    versions = service.list_versions(session, tax_rate)
    return ItemList(items=[TaxRateOut.build(tax_rate, version) for version in versions])


@router.get("/tax-rates/{id}/versions/{version}", summary="Get one version of a tax rate")
def get_tax_rate_version(
    id: str, version: int, account: CurrentAccount, session: DbSession
) -> TaxRateOut:
    tax_rate, found = service.get_version(session, account.account_id, id, version)
    return TaxRateOut.build(tax_rate, found)
