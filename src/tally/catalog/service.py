"""Products: the things a merchant sells. Prices attach to them (billing engine)."""

from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.catalog.queries import product_query
from tally.catalog.schemas import ProductIn
from tally.core.clock import utcnow
from tally.exceptions import NotFound
from tally.models import Product


def get_product(session: Session, account_id: str, product_id: str) -> Product:
    product = session.scalar(product_query(account_id).where(Product.id == product_id))
    if product is None:
        raise NotFound.resource("Product", product_id)
    return product


def create_product(session: Session, account_id: str, data: ProductIn) -> Product:
    product = Product(account_id=account_id, **data.model_dump())
    session.add(product)
    session.flush()
    return product


def update_product(session: Session, account_id: str, product_id: str, data: ProductIn) -> Product:
    product = get_product(session, account_id, product_id)
    # Every field, nulls included: PUT replaces the product, so an omitted label is cleared.
    for field in ProductIn.model_fields:
        setattr(product, field, getattr(data, field))
    session.flush()
    return product


def archive_product(session: Session, account_id: str, product_id: str) -> Product:
    """Archived products keep their prices and invoices but take no new prices."""
    product = get_product(session, account_id, product_id)
    if product.archived_at is None:
        product.archived_at = utcnow()
        session.flush()
        activity.record(
            session,
            account_id,
            verb="ARCHIVED",
            object_type="PRODUCT",
            object_id=product.id,
            name="Product archived",
            summary=f"Product {product.name!r} archived: it takes no new prices",
            changes=activity.changed({"archivedAt": None}, {"archivedAt": product.archived_at}),
        )
    return product
