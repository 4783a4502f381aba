"""What a customer can still spend: each usable grant's balance less what its open invoices
(IN_PROGRESS, DRAFT) already project to take (their CREDIT lines, the portal's pending
debits), summed per pocket: a metric's credits, or a currency's cash. Read by balance alerts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.credits.usable import usable_grants
from tally.models import EDITABLE_STATUSES, CreditUnitType, Invoice, InvoiceLineItem, LineKind

# ("METRIC", metric id) or ("CASH", currency)
Pocket = tuple[str, str]


def pocket_of(unit_type: CreditUnitType, metric_id: str | None, currency: str) -> Pocket:
    if unit_type is CreditUnitType.METRIC and metric_id:
        return ("METRIC", metric_id)
    return ("CASH", currency)


def available_balances(
    session: Session, account_id: str, customer_ids: Sequence[str], today: date
) -> dict[str, dict[Pocket, Decimal]]:
    """customer -> pocket -> credits usable today less pending debits (never below zero per
    grant). Customers without usable credits are absent. Two queries."""
    grants = usable_grants(session, account_id, customer_ids, today)
    if not grants:
        return {}
    by_id = {grant.grant_id: grant for grant in grants}
    pending = session.execute(
        select(InvoiceLineItem.credit_grant_id, InvoiceLineItem.quantity, InvoiceLineItem.net_total)
        .join(Invoice, Invoice.id == InvoiceLineItem.invoice_id)
        .where(
            Invoice.account_id == account_id,
            Invoice.customer_id.in_(list(customer_ids)),
            Invoice.status.in_(EDITABLE_STATUSES),
            InvoiceLineItem.kind == LineKind.CREDIT,
            InvoiceLineItem.credit_grant_id.in_(list(by_id)),
        )
    ).all()
    left = {grant_id: grant.balance for grant_id, grant in by_id.items()}
    for grant_id, quantity, net in pending:
        if grant_id is None:
            continue
        grant = by_id[grant_id]
        if grant.credit_unit_type is CreditUnitType.METRIC:
            left[grant_id] -= abs(quantity)
        else:
            left[grant_id] -= abs(net) * (grant.credits_per_currency_unit or 1)
    found: dict[str, dict[Pocket, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for grant_id, grant in by_id.items():
        pocket = pocket_of(grant.credit_unit_type, grant.metric_id, grant.currency)
        found[grant.customer_id][pocket] += max(left[grant_id], Decimal(0))
    return {customer: dict(pockets) for customer, pockets in found.items()}
