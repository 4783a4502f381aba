"""Customers as the API shows them (`CustomerOut`), for responses and notification events."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from tally.customers import hierarchy, service
from tally.customers.schemas import CustomerOut
from tally.documents.links import portal_links
from tally.models import Customer
from tally.notifications.events import CUSTOMER, presents
from tally.settings import get_settings


def customer_views(
    session: Session, account_id: str, customers: list[Customer], base_url: str | None = None
) -> list[CustomerOut]:
    """Each customer's answer; its organizations and portal links (`base_url`: defaults to
    `Settings.public_url`) loaded for all of them at once. An archived customer keeps its
    link: its portal still shows its invoices, read-only."""
    organizations = hierarchy.organizations_of(session, account_id, customers)
    ids = [c.id for c in customers]
    links = portal_links(session, ids, base_url or get_settings().public_url) if ids else {}
    return [CustomerOut.build(c, organizations[c.id], links.get(c.id)) for c in customers]


@presents(CUSTOMER)
def customers_by_id(
    session: Session, account_id: str, customer_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """GET /api/customers/{id}'s answer for each id, in a fixed number of queries."""
    customers = list(
        session.scalars(
            service.customer_query(account_id)
            .where(Customer.id.in_(customer_ids))
            .execution_options(populate_existing=True)
        )
    )
    return {
        view.id: view.model_dump(mode="json", by_alias=True)
        for view in customer_views(session, account_id, customers)
    }
