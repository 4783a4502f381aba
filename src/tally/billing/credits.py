"""Credits billing projects onto the invoices it writes: the DRAFT and IN_PROGRESS invoices
of billing schedules carry CREDIT lines naming their grant, the credits they are expected to
take when finalized (pending debits: seed 000's "6 credits pending in August").

A customer's open invoices are served in invoice-date order from what its grants hold less
what its other open invoices (not recalculated by this run) already project, so projections
never add up to more than a balance. Finalizing debits them (`credits/spending.py`).

Which grants an invoice may use is `credits/usable.py`'s rule, judged by the invoice's
billing period as finalize judges it; projections spend balances as of today.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.credits.spending import taken
from tally.credits.usable import UsableGrant, usable_grants
from tally.db import id_table
from tally.engine.credits import Grant, Metered, apply_credits
from tally.engine.invoice import InvoiceDraft
from tally.engine.money import ZERO
from tally.models import (
    EDITABLE_STATUSES,
    CreditGrant,
    CreditUnitType,
    Invoice,
    InvoiceLineItem,
    LineKind,
)


@dataclass(frozen=True)
class OpenInvoice:
    """An invoice billing is writing, before credits."""

    customer_id: str
    invoice_id: str | None  # the invoice it recalculates, if any
    invoice_date: date
    period_end: date
    currency: str
    draft: InvoiceDraft
    metered: Mapping[int, Metered]  # usage lines by position in the draft


def _engine_grant(grant: UsableGrant, balance: Decimal) -> Grant:
    return Grant(
        grant_id=grant.grant_id,
        name=grant.name,
        balance=balance,
        currency=grant.currency,
        metric_id=grant.metric_id if grant.credit_unit_type is CreditUnitType.METRIC else None,
        expiry_date=grant.expiry_date,
        price_ids=frozenset(grant.restrict_to_prices),
    )


def _projected_elsewhere(
    session: Session, account_id: str, customer_ids: Sequence[str], excluded: Sequence[str]
) -> dict[str | None, Decimal]:
    """Credits projected, per grant, by the customers' open invoices other than `excluded`
    (one query)."""
    customers = id_table(session, list(customer_ids))
    query = (
        select(
            InvoiceLineItem.credit_grant_id,
            CreditGrant.credit_unit_type,
            InvoiceLineItem.quantity,
            InvoiceLineItem.net_total,
        )
        .join(Invoice, Invoice.id == InvoiceLineItem.invoice_id)
        .join(customers, customers.c.id == Invoice.customer_id)
        .join(CreditGrant, CreditGrant.id == InvoiceLineItem.credit_grant_id)
        .where(
            Invoice.account_id == account_id,
            Invoice.status.in_(EDITABLE_STATUSES),
            InvoiceLineItem.kind == LineKind.CREDIT,
        )
    )
    if excluded:
        query = query.where(Invoice.id.not_in(select(id_table(session, list(excluded)).c.id)))
    held: dict[str | None, Decimal] = defaultdict(lambda: ZERO)
    for grant_id, grant_type, quantity, net in session.execute(query):
        held[grant_id] += taken(grant_type, quantity, net)
    return held


def project(
    session: Session, account_id: str, invoices: Sequence[OpenInvoice], today: date
) -> list[InvoiceDraft]:
    """Each invoice's draft with the credits it is expected to take (CREDIT lines); the
    grants of all the invoices' customers read in one query."""
    customer_ids = sorted({invoice.customer_id for invoice in invoices})
    periods = [invoice.period_end for invoice in invoices]
    usable = usable_grants(session, account_id, customer_ids, today, periods)
    result = [invoice.draft for invoice in invoices]
    if not usable:
        return result
    by_customer: dict[str, list[UsableGrant]] = defaultdict(list)
    for grant in usable:
        by_customer[grant.customer_id].append(grant)
    excluded = [invoice.invoice_id for invoice in invoices if invoice.invoice_id]
    held = _projected_elsewhere(session, account_id, list(by_customer), excluded)
    left = {grant.grant_id: grant.balance - held.get(grant.grant_id, ZERO) for grant in usable}
    order = sorted(range(len(invoices)), key=lambda n: (invoices[n].invoice_date, n))
    for n in order:
        invoice = invoices[n]
        grants = [
            _engine_grant(grant, left[grant.grant_id])
            for grant in by_customer.get(invoice.customer_id, [])
            if left[grant.grant_id] > 0 and grant.usable_for(invoice.period_end)
        ]
        if not grants:
            continue
        credited = apply_credits(invoice.draft, grants, invoice.metered, invoice.currency)
        for spent in credited.spent:
            left[spent.grant_id] -= spent.credits
        result[n] = credited.draft
    return result
