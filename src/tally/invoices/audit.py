"""What the activity log keeps of people's changes to invoices: one entry per action, about the
invoice and aimed at its customer (so the customer's page lists its invoices' entries too),
with the fields that matter before and after.

Money is compared rounded to the currency's minor unit and quantities by value, so a value
read back at another scale ("150.00", "150") is no change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.core import wire
from tally.models import EDITABLE_STATUSES, Invoice, InvoiceLineItem, InvoiceLineItemGroup

INVOICE = "INVOICE"
CUSTOMER = "CUSTOMER"


def money(amount: Any, currency: str) -> str | None:
    return None if amount is None else wire.money(amount, currency)


def snapshot(invoice: Invoice) -> dict[str, Any]:
    """The invoice's fields an entry compares before and after."""
    currency = invoice.currency
    return {
        "status": invoice.status,
        "invoiceNumber": invoice.invoice_number,
        "paymentStatus": invoice.payment_status,
        "issueDate": invoice.issue_date,
        "dueDate": invoice.due_date,
        "netTotal": money(invoice.net_total, currency),
        "totalTax": money(invoice.total_tax, currency),
        "grossTotal": money(invoice.gross_total, currency),
        "balance": money(invoice.balance, currency),
        "purchaseOrderNumber": invoice.purchase_order_number,
        "reference": invoice.reference,
        "memo": invoice.memo,
        "customerBillingAddress": invoice.customer_billing_address,
    }


def line_snapshot(line: InvoiceLineItem | None, currency: str) -> dict[str, Any]:
    if line is None:
        return {}
    return {
        "line.title": line.title,
        "line.quantity": activity.number(line.quantity),
        "line.rate": activity.number(line.rate),
        "line.taxRate": activity.number(line.tax_rate),
        "line.netTotal": money(line.net_total, currency),
        "line.grossTotal": money(line.gross_total, currency),
    }


def group_snapshot(group: InvoiceLineItemGroup | None) -> dict[str, Any]:
    if group is None:
        return {}
    return {
        "group.title": group.title,
        "group.description": group.description,
        "group.index": group.index,
    }


def label(invoice: Invoice) -> str:
    """How a summary names the invoice: its number once it has one."""
    if invoice.invoice_number:
        return f"Invoice {invoice.invoice_number}"
    return f"{invoice.status.value.replace('_', ' ').lower()} invoice {invoice.id}"


def amount(invoice: Invoice) -> str:
    return f"{money(invoice.gross_total, invoice.currency)} {invoice.currency}"


def entry(
    invoice: Invoice,
    verb: str,
    name: str,
    summary: str,
    changes: list[dict[str, Any]] | None = None,
    reason: str | None = None,
) -> activity.Entry:
    return activity.Entry(
        verb=verb,
        object_type=INVOICE,
        object_id=invoice.id,
        name=name,
        summary=summary,
        reason=reason,
        changes=tuple(changes or ()),
        target_type=CUSTOMER,
        target_id=invoice.customer_id,
    )


def record(
    session: Session,
    invoice: Invoice,
    verb: str,
    name: str,
    summary: str,
    before: dict[str, Any] | None = None,
    *,
    after: dict[str, Any] | None = None,
) -> None:
    """One entry about `invoice`; the changes are `before` against the invoice now (or
    `after`), in the caller's transaction."""
    changes = (
        activity.changed(before, after if after is not None else snapshot(invoice))
        if before is not None
        else []
    )
    activity.record_all(session, invoice.account_id, [entry(invoice, verb, name, summary, changes)])


# ---- the lifecycle's entries (`lifecycle.py`, `upcoming.py`) --------------------------------


def finalized(session: Session, invoice: Invoice, before: dict[str, Any]) -> None:
    record(
        session,
        invoice,
        "FINALIZED",
        "Invoice finalized",
        f"{label(invoice)} issued for {amount(invoice)}, due {invoice.due_date}",
        before,
    )


def sent(
    session: Session, invoice: Invoice, before: dict[str, Any], *, finalized: bool, emailed: bool
) -> None:
    if emailed:
        verb, name = "SENT", "Invoice finalized and sent" if finalized else "Invoice sent"
        how = "emailed to " + ", ".join(invoice.customer_emails)
    else:
        verb = "MARKED_AS_SENT"
        name = "Invoice finalized and marked as sent" if finalized else "Invoice marked as sent"
        how = "recorded as sent, without an email"
    summary = f"{label(invoice)} ({amount(invoice)}) {how}"
    record(session, invoice, verb, name, summary, before)


def voided(session: Session, invoice: Invoice, before: dict[str, Any]) -> None:
    summary = f"{label(invoice)} ({amount(invoice)}) voided: nothing is owed on it any more"
    record(session, invoice, "VOIDED", "Invoice voided", summary, before)


def payment_status(session: Session, invoice: Invoice, before: dict[str, Any]) -> None:
    summary = f"{label(invoice)} is {invoice.payment_status.value} now"
    record(session, invoice, "UPDATED", "Invoice payment status changed", summary, before)


def patched(session: Session, invoice: Invoice, before: dict[str, Any]) -> None:
    changes = activity.changed(before, snapshot(invoice))
    if not changes:  # the same values given again
        return
    summary = f"{label(invoice)}: " + ", ".join(change["field"] for change in changes)
    record(session, invoice, "UPDATED", "Sent invoice changed", summary, before)


def drafted(session: Session, invoice: Invoice, before: dict[str, Any]) -> None:
    summary = (
        f"Upcoming invoice {invoice.id} ({amount(invoice)}) closed early as a draft; billing "
        "leaves it alone from now on"
    )
    record(session, invoice, "DRAFTED", "Invoice turned into a draft", summary, before)


def deleted(session: Session, invoice: Invoice) -> None:
    """Before the rows go: what was deleted, with its totals as they were."""
    summary = (
        f"{label(invoice)} for {invoice.billing_period_start or '-'} to "
        f"{invoice.billing_period_end or '-'} ({amount(invoice)}) deleted"
    )
    record(session, invoice, "DELETED", "Invoice deleted", summary, snapshot(invoice), after={})


def voided_with_customer(session: Session, account_id: str, customer_id: str) -> None:
    """Before archiving a customer voids its open invoices (the customer's row is locked by
    then, so no invoice joins them): an entry each, all added at once."""
    rows = session.execute(
        select(
            Invoice.id,
            Invoice.status,
            Invoice.currency,
            Invoice.gross_total,
            Invoice.billing_period_start,
            Invoice.billing_period_end,
        ).where(
            Invoice.account_id == account_id,
            Invoice.customer_id == customer_id,
            Invoice.status.in_(EDITABLE_STATUSES),
        )
    ).all()
    activity.record_all(
        session,
        account_id,
        [
            activity.Entry(
                verb="VOIDED",
                object_type=INVOICE,
                object_id=row.id,
                name="Invoice voided",
                summary=(
                    f"{row.status.value.replace('_', ' ').lower()} invoice for "
                    f"{row.billing_period_start or '-'} to {row.billing_period_end or '-'} "
                    f"({money(row.gross_total, row.currency)} {row.currency}) voided with its "
                    "customer"
                ),
                reason="customer archived",
                changes=({"field": "status", "before": row.status.value, "after": "VOIDED"},),
                target_type=CUSTOMER,
                target_id=customer_id,
            )
            for row in rows
        ],
    )


# ---- one-off invoices and edits of drafts (`drafts.py`) -------------------------------------


def created(session: Session, invoice: Invoice) -> None:
    summary = (
        f"One-off draft invoice {invoice.id} in {invoice.currency} for "
        f"{invoice.customer_legal_company_name}"
    )
    record(session, invoice, "CREATED", "Invoice created", summary)


def draft_state(
    invoice: Invoice,
    line: InvoiceLineItem | None = None,
    group: InvoiceLineItemGroup | None = None,
) -> dict[str, Any]:
    """A draft's totals with the line or group being changed (None: it does not exist)."""
    return {
        **line_snapshot(line, invoice.currency),
        **group_snapshot(group),
        "netTotal": money(invoice.net_total, invoice.currency),
        "grossTotal": money(invoice.gross_total, invoice.currency),
    }


_DRAFT_EDITS = {
    "LINE_ITEM_CREATED": "Invoice line added",
    "LINE_ITEM_UPDATED": "Invoice line changed",
    "LINE_ITEM_DELETED": "Invoice line deleted",
    "LINE_ITEM_GROUP_CREATED": "Invoice line group added",
    "LINE_ITEM_GROUP_UPDATED": "Invoice line group changed",
    "LINE_ITEM_GROUP_DELETED": "Invoice line group deleted",
}


def draft_edited(
    session: Session,
    invoice: Invoice,
    verb: str,
    what: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """`verb` one of `_DRAFT_EDITS`; `before` and `after` from `draft_state`."""
    summary = f"{what} on {label(invoice)}, now {amount(invoice)}"
    record(session, invoice, verb, _DRAFT_EDITS[verb], summary, before, after=after)
