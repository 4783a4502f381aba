"""/api/tax-categories (Tally; Sequence's older API has them): what tax rates, products and
invoice line groups name as `taxCategoryId`."""

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, paginate
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.models import TaxCategory
from tally.tax import categories
from tally.tax.schemas import TaxCategoryIn, TaxCategoryOut

router = api_router(tags=["Tax categories"])


@router.get("/tax-categories", summary="List tax categories (Tally)")
def list_tax_categories(
    account: CurrentAccount, session: ReplicaSession, paging: Paging
) -> Page[TaxCategoryOut]:
    query = categories.categories_query(account.account_id)
    page = paginate(session, query, TaxCategory.id, paging)
    return Page(items=[TaxCategoryOut.build(c) for c in page.rows], pagination=page.pagination)


@router.post("/tax-categories", status_code=201, summary="Create a tax category (Tally)")
def create_tax_category(
    body: TaxCategoryIn, account: CurrentAccount, session: DbSession
) -> TaxCategoryOut:
    return TaxCategoryOut.build(categories.create_category(session, account.account_id, body))


@router.get("/tax-categories/{id}", summary="Get a tax category (Tally)")
def get_tax_category(id: str, account: CurrentAccount, session: DbSession) -> TaxCategoryOut:
    return TaxCategoryOut.build(categories.get_category(session, account.account_id, id))
