"""A billed document's lines and groups: their amounts, and reading them for the API (in the
document's order, amounts in its currency)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from tally.api import references
from tally.api.pagination import PageParams, paginate_ordered
from tally.api.schemas import Page
from tally.billed.locks import Document
from tally.engine.money import ZERO, round_money
from tally.engine.tax import shared_taxes
from tally.exceptions import NotFound

Out = TypeVar("Out")
# Net, tax and gross.
Totals = tuple[Decimal, Decimal, Decimal]
NO_TOTALS: Totals = (ZERO, ZERO, ZERO)


def line_totals(quantity: Decimal, rate: Decimal, tax_rate: Decimal, currency: str) -> Totals:
    """A line's net, tax and gross on its own: net = quantity x rate and tax = net x tax
    rate, each rounded half up to the currency's minor unit; gross = net + tax. On a document
    its tax is then shared with the other lines of its rate (`retax`)."""
    net = round_money(quantity * rate, currency)
    tax = round_money(net * tax_rate, currency)
    return net, tax, net + tax


class TaxedLine(Protocol):
    """A document's line row (invoice or credit note line item)."""

    net_total: Decimal
    tax_rate: Decimal
    total_tax: Decimal
    gross_total: Decimal


def _fixed(line: TaxedLine) -> bool:
    return getattr(line, "kind", None) == "THRESHOLD"  # invoice lines; credit notes have none


def retax(lines: Sequence[TaxedLine], currency: str) -> None:
    """Every line of one document taxed once per rate, the rate's tax shared among its lines
    (`engine/tax.py`); gross = net + tax again. Call it after any change to the document's
    lines, before `sums_by_group`. Only lines whose tax moves are touched."""
    # A threshold deduction keeps its tax: what its invoice charged (engine/thresholds.py).
    taxes = shared_taxes(
        [(line.net_total, line.tax_rate) for line in lines],
        currency,
        fixed=[line.total_tax if _fixed(line) else None for line in lines],
    )
    for line, tax in zip(lines, taxes, strict=True):
        if line.total_tax != tax or line.gross_total != line.net_total + tax:
            line.total_tax, line.gross_total = tax, line.net_total + tax


def _plus(a: Totals, b: Totals) -> Totals:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def sums_by_group(
    lines: Iterable[tuple[str | None, Decimal, Decimal, Decimal]],
) -> tuple[dict[str | None, Totals], Totals]:
    """Each group's totals and the document's, from its lines' `(group_id, net, tax, gross)`:
    sums of amounts already rounded, so net + tax = gross holds for every group and the whole.
    A group without lines is not in the dict (its totals are `NO_TOTALS`)."""
    by_group: dict[str | None, Totals] = {}
    overall = NO_TOTALS
    for group_id, net, tax, gross in lines:
        by_group[group_id] = _plus(by_group.get(group_id, NO_TOTALS), (net, tax, gross))
        overall = _plus(overall, (net, tax, gross))
    return by_group, overall


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
