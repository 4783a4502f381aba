"""A billed document's lines and groups: their amounts, and reading them for the API (in the
document's order, amounts in its currency)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from tally.api import references
from tally.api.pagination import PageParams, paginate_ordered
from tally.api.schemas import Page
from tally.billed.locks import Document
from tally.engine.money import round_money
from tally.exceptions import NotFound

Out = TypeVar("Out")


def line_totals(
    quantity: Decimal, rate: Decimal, tax_rate: Decimal, currency: str
) -> tuple[Decimal, Decimal, Decimal]:
    """A line's net, tax and gross: net = quantity x rate and tax = net x tax rate, each
    rounded half up to the currency's minor unit; gross = net + tax."""
    net = round_money(quantity * rate, currency)
    tax = round_money(net * tax_rate, currency)
    return net, tax, net + tax


def currency_of(session: Session, model: type[Document], account_id: str, document_id: str) -> str:
    """The document's currency (its amounts are shown in it); 404 if not in the account."""
    currency = session.scalar(
        select(model.currency).where(model.account_id == account_id, model.id == document_id)
    )
    if currency is None:
        raise NotFound.resource(references.kind_of(model), document_id)
    return currency


def page_of(
    session: Session,
    model: type[Document],
    parent: InstrumentedAttribute[str],
    account_id: str,
    document_id: str,
    paging: PageParams,
    build: Callable[[Any, str], Out],
) -> Page[Out]:
    """One page of the document's lines or groups, by `index` (`sortOrder=DESC` reverses it),
    each built with the document's currency. `parent` is the rows' key naming their document
    (`InvoiceLineItem.invoice_id`). 404 for a document not in the account."""
    currency = currency_of(session, model, account_id, document_id)
    rows: Any = parent.class_  # the lines' or groups' model
    query = select(rows).where(rows.account_id == account_id, parent == document_id)
    page = paginate_ordered(session, query, rows.index, rows.id, paging)
    return Page(items=[build(row, currency) for row in page.rows], pagination=page.pagination)
