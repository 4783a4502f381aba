"""Credits on invoices, over the database: projected by billing runs, debited when an invoice
is finalized, restored when a finalized invoice is voided.

- Billing (`billing/credits.py`) projects them: CREDIT lines naming their grant on the
  DRAFT and IN_PROGRESS invoices it writes (pending debits).
- Finalize (`settle`, then `debit`): under row locks on the customers' grants, the credit
  lines are cut down to what the grants hold now (another invoice may have spent them
  meanwhile), the invoice's totals follow, and a DEBIT entry per (invoice, grant) records
  exactly what its lines took: invoice lines and ledger always agree.
- Void (`restore`): a RESTORE entry gives back exactly what the invoice's debits took.

At finalize an invoice may spend the grants `credits/usable.py`'s rule allows for its billing
period, the rule billing projected them with (effective on or before the issue date too);
what a grant holds is its ledger balance as of that day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tally.credits.ledger import Movement, record
from tally.credits.usable import usable_grants
from tally.engine.credits import RATE_PLACES, Claim, respend
from tally.engine.money import ZERO
from tally.engine.tax import shared_taxes
from tally.models import (
    CreditGrant,
    CreditLedgerEntry,
    CreditUnitType,
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    LedgerEntryType,
    LineKind,
)


def taken(grant_type: CreditUnitType, quantity: Decimal, net: Decimal) -> Decimal:
    """The credits a CREDIT line takes: its units for a metric grant, its money for cash."""
    return quantity if grant_type is CreditUnitType.METRIC else -net


@dataclass(frozen=True)
class Settled:
    """What finalizing takes from the grants: per invoice, the credits per grant."""

    spent: dict[str, dict[str, Decimal]]  # invoice id -> grant id -> credits
    customers: dict[str, str]  # invoice id -> customer id
    gross: dict[str, Decimal]  # invoice id -> gross total, where the credits changed it


def settle(
    session: Session,
    account_id: str,
    invoices: Sequence[tuple[str, str, str, date]],
    issue_date: date,
) -> Settled:
    """Finalizing `invoices` ((id, customer id, currency, billing period end), row-locked, in
    the order they are numbered): their CREDIT lines cut down to what the grants usable for
    their period hold now, totals rewritten where that changed anything. The customers'
    grants stay row-locked until commit.

    Lock order, the same for every writer: invoices, then the grants (by id), then the
    number counter. Two finalizations of one customer's invoices wait for each other on
    the grants, and the second sees the first one's debits."""
    ids = [invoice_id for invoice_id, _, _, _ in invoices]
    lines = session.execute(
        select(
            InvoiceLineItem.id,
            InvoiceLineItem.invoice_id,
            InvoiceLineItem.credit_grant_id,
            InvoiceLineItem.quantity,
            InvoiceLineItem.net_total,
            InvoiceLineItem.total_tax,
            InvoiceLineItem.gross_total,
            InvoiceLineItem.tax_rate,
        )
        .where(
            InvoiceLineItem.account_id == account_id,
            InvoiceLineItem.invoice_id.in_(ids),
            InvoiceLineItem.kind == LineKind.CREDIT,
            InvoiceLineItem.credit_grant_id.is_not(None),
        )
        .order_by(InvoiceLineItem.index)
    ).all()
    customers = {invoice_id: customer_id for invoice_id, customer_id, _, _ in invoices}
    if not lines:
        return Settled({}, customers, {})
    with_credits = {line.invoice_id for line in lines}
    customer_ids = sorted({customers[i] for i in with_credits})
    locked = session.execute(
        select(CreditGrant.id, CreditGrant.credit_unit_type)
        .where(CreditGrant.account_id == account_id, CreditGrant.customer_id.in_(customer_ids))
        .order_by(CreditGrant.id)
        .with_for_update()
    ).all()
    types = {row.id: row.credit_unit_type for row in locked}
    # Read after the locks: a finalization that held them has committed its debits. The
    # rule and the balances are billing's projection's (`usable_grants`).
    periods = [end for invoice_id, _, _, end in invoices if invoice_id in with_credits]
    usable = {
        grant.grant_id: grant
        for grant in usable_grants(session, account_id, customer_ids, issue_date, periods)
    }
    left = {grant_id: grant.balance for grant_id, grant in usable.items()}
    by_invoice = defaultdict(list)
    for line in lines:
        by_invoice[line.invoice_id].append(line)
    spent: dict[str, dict[str, Decimal]] = {}
    changed_lines, dropped, touched = [], [], set()
    for invoice_id, _, currency, period_end in invoices:
        own = by_invoice.get(invoice_id, [])
        if not own:
            continue
        # What the grants this invoice's period may use hold; others hold nothing for it.
        usable_here = {
            grant_id: left.get(grant_id, ZERO)
            for grant_id in {line.credit_grant_id for line in own}
            if grant_id in usable and usable[grant_id].usable_for(period_end)
        }
        claims = [
            Claim(
                line.credit_grant_id,
                types.get(line.credit_grant_id) is CreditUnitType.METRIC,
                taken(
                    types.get(line.credit_grant_id, CreditUnitType.CURRENCY),
                    line.quantity,
                    line.net_total,
                ),
                -line.net_total,
            )
            for line in own
        ]
        cut = respend(claims, usable_here, currency)
        per_grant: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for line, before, after in zip(own, claims, cut, strict=True):
            left[after.grant_id] = left.get(after.grant_id, ZERO) - after.credits
            if after.credits > 0:
                per_grant[after.grant_id] += after.credits
            if after == before:
                continue
            touched.add(invoice_id)
            if after.credits <= 0:
                dropped.append(line.id)
                continue
            net = -after.amount
            # Its tax (and its rate's other lines') follows in `_retotal`, taxed per rate.
            changed = {"id": line.id, "net_total": net}
            if before.is_metric:
                changed["quantity"] = after.credits
                changed["rate"] = -(after.amount / after.credits).quantize(RATE_PLACES)
            else:
                changed["quantity"], changed["rate"] = Decimal(1), net
            changed_lines.append(changed)
        spent[invoice_id] = dict(per_grant)
    if dropped:
        session.execute(delete(InvoiceLineItem).where(InvoiceLineItem.id.in_(dropped)))
    if changed_lines:
        session.execute(update(InvoiceLineItem), changed_lines)
    currencies = {invoice_id: currency for invoice_id, _, currency, _ in invoices}
    gross = (
        _retotal(session, account_id, {i: currencies[i] for i in sorted(touched)})
        if touched
        else {}
    )
    return Settled(spent, customers, gross)


def _retaxed(
    session: Session, account_id: str, currencies: Mapping[str, str]
) -> list[tuple[str, str | None, Decimal, Decimal]]:
    """The invoices' lines, `(invoice, group, net, tax)`, taxed per rate again
    (`engine/tax.py`); the lines whose tax moves are written."""
    rows = session.execute(
        select(
            InvoiceLineItem.id,
            InvoiceLineItem.invoice_id,
            InvoiceLineItem.group_id,
            InvoiceLineItem.net_total,
            InvoiceLineItem.total_tax,
            InvoiceLineItem.gross_total,
            InvoiceLineItem.tax_rate,
            InvoiceLineItem.kind,
        )
        .where(
            InvoiceLineItem.account_id == account_id,
            InvoiceLineItem.invoice_id.in_(list(currencies)),
        )
        .order_by(InvoiceLineItem.invoice_id, InvoiceLineItem.index)
    ).all()
    by_invoice = defaultdict(list)
    for row in rows:
        by_invoice[row.invoice_id].append(row)
    lines: list[tuple[str, str | None, Decimal, Decimal]] = []
    moved: list[dict[str, object]] = []
    for invoice_id, own in by_invoice.items():
        taxes = shared_taxes(
            [(row.net_total, row.tax_rate) for row in own],
            currencies[invoice_id],
            # a threshold deduction keeps the tax its invoice charged (engine/thresholds.py)
            fixed=[row.total_tax if row.kind is LineKind.THRESHOLD else None for row in own],
        )
        for row, tax in zip(own, taxes, strict=True):
            lines.append((invoice_id, row.group_id, row.net_total, tax))
            if (row.total_tax, row.gross_total) != (tax, row.net_total + tax):
                moved.append({"id": row.id, "total_tax": tax, "gross_total": row.net_total + tax})
    if moved:
        session.execute(update(InvoiceLineItem), moved)
    return lines


def _retotal(
    session: Session, account_id: str, currencies: Mapping[str, str]
) -> dict[str, Decimal]:
    """The invoices' (id -> currency) lines taxed per rate again, groups' and invoices'
    totals as the sums of their lines; the new gross totals."""
    invoice_ids = list(currencies)
    lines = _retaxed(session, account_id, currencies)
    invoices: dict[str, list[Decimal]] = {i: [ZERO, ZERO] for i in invoice_ids}
    groups: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for invoice_id, group_id, net, tax in lines:
        invoices[invoice_id][0] += net
        invoices[invoice_id][1] += tax
        if group_id is not None:
            groups[group_id][0] += net
            groups[group_id][1] += tax
    group_ids = session.scalars(
        select(InvoiceLineItemGroup.id).where(
            InvoiceLineItemGroup.account_id == account_id,
            InvoiceLineItemGroup.invoice_id.in_(invoice_ids),
        )
    ).all()
    group_rows = [
        {"id": g, "net_total": n, "total_tax": t, "gross_total": n + t}
        for g in group_ids
        for n, t in [groups.get(g, [ZERO, ZERO])]
    ]
    if group_rows:
        session.execute(update(InvoiceLineItemGroup), group_rows)
    session.execute(
        update(Invoice),
        [
            {"id": i, "net_total": n, "total_tax": t, "gross_total": n + t}
            for i, (n, t) in invoices.items()
        ],
    )
    return {i: n + t for i, (n, t) in invoices.items()}


def debit(
    session: Session,
    account_id: str,
    settled: Settled,
    numbers: Mapping[str, str],
    issue_date: date,
) -> None:
    """The DEBIT entries of finalized invoices: one per (invoice, grant), dated the issue
    date. Recorded once whatever retries (dedupe `debit:<invoice>:<grant>`)."""
    movements = [
        Movement(
            grant_id=grant_id,
            customer_id=settled.customers[invoice_id],
            entry_type=LedgerEntryType.DEBIT,
            amount=-credits,
            effective_date=issue_date,
            dedupe_key=f"debit:{invoice_id}:{grant_id}",
            reason=f"Invoice {numbers[invoice_id]}",
            invoice_id=invoice_id,
        )
        for invoice_id, grants in settled.spent.items()
        for grant_id, credits in sorted(grants.items())
    ]
    record(session, account_id, movements)


def restore(session: Session, account_id: str, invoice: Invoice, on: date) -> None:
    """Voiding a finalized invoice gives back exactly what its debits took (dedupe
    `restore:<invoice>:<grant>`)."""
    rows = session.execute(
        select(
            CreditLedgerEntry.grant_id,
            CreditLedgerEntry.customer_id,
            CreditLedgerEntry.amount,
        ).where(
            CreditLedgerEntry.account_id == account_id,
            CreditLedgerEntry.invoice_id == invoice.id,
            CreditLedgerEntry.entry_type == LedgerEntryType.DEBIT,
        )
    ).all()
    debited: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for grant_id, customer_id, amount in rows:
        debited[(grant_id, customer_id)] += amount
    record(
        session,
        account_id,
        [
            Movement(
                grant_id=grant_id,
                customer_id=customer_id,
                entry_type=LedgerEntryType.RESTORE,
                amount=-amount,
                effective_date=on,
                dedupe_key=f"restore:{invoice.id}:{grant_id}",
                reason=f"Invoice {invoice.invoice_number or invoice.id} voided",
                invoice_id=invoice.id,
            )
            for (grant_id, customer_id), amount in sorted(debited.items())
            if amount != 0
        ],
    )
