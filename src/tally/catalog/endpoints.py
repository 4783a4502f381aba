"""/api/products."""

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, paginate
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.catalog import service
from tally.catalog.queries import product_query
from tally.catalog.schemas import ProductIn, ProductOut
from tally.models import Product

router = api_router(tags=["Products"])


@router.get("/products", summary="List products")
def list_products(
    account: CurrentAccount, session: ReplicaSession, paging: Paging, name: str | None = None
) -> Page[ProductOut]:
    page = paginate(session, product_query(account.account_id, name), Product.id, paging)
    return Page(items=[ProductOut.model_validate(p) for p in page.rows], pagination=page.pagination)


@router.post("/products", status_code=201, summary="Create a product")
def create_product(body: ProductIn, account: CurrentAccount, session: DbSession) -> ProductOut:
    return ProductOut.model_validate(service.create_product(session, account.account_id, body))


@router.get("/products/{id}", summary="Get a product")
def get_product(id: str, account: CurrentAccount, session: DbSession) -> ProductOut:
    return ProductOut.model_validate(service.get_product(session, account.account_id, id))


@router.put("/products/{id}", summary="Update a product")
def update_product(
    id: str, body: ProductIn, account: CurrentAccount, session: DbSession
) -> ProductOut:
    return ProductOut.model_validate(service.update_product(session, account.account_id, id, body))


@router.post("/products/{id}/archive", summary="Archive a product")
def archive_product(id: str, account: CurrentAccount, session: DbSession) -> ProductOut:
    return ProductOut.model_validate(service.archive_product(session, account.account_id, id))
