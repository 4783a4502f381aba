"""What the activity log keeps of changes to credit notes: one entry per action, about the
credit note and aimed at its customer, with the fields that matter before and after. An
application is about the invoice whose balance it lowers (its page lists it), naming the
credit note."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.core import wire
from tally.models import CreditNote, CreditNoteLineItem, CreditNoteLineItemGroup, Invoice

CREDIT_NOTE = "CREDIT_NOTE"


def money(amount: Any, currency: str) -> str | None:
    return None if amount is None else wire.money(amount, currency)


def snapshot(note: CreditNote) -> dict[str, Any]:
    currency = note.currency
    return {
        "status": note.status,
        "creditNoteNumber": note.credit_note_number,
        "issueDate": note.issue_date,
        "netTotal": money(note.net_total, currency),
        "totalTax": money(note.total_tax, currency),
        "grossTotal": money(note.gross_total, currency),
        "balance": money(note.balance, currency),
        "memo": note.memo,
        "purchaseOrderNumber": note.purchase_order_number,
        "customerEmails": note.customer_emails,
        "customerLegalCompanyName": note.customer_legal_company_name,
        "customerBillingAddress": note.customer_billing_address,
        "billingPeriodStart": note.billing_period_start,
        "billingPeriodEnd": note.billing_period_end,
    }


def line_state(
    note: CreditNote,
    line: CreditNoteLineItem | None = None,
    group: CreditNoteLineItemGroup | None = None,
) -> dict[str, Any]:
    """The credit note's totals with the line or group being changed (None: absent)."""
    state: dict[str, Any] = {}
    if line is not None:
        state = {
            "line.title": line.title,
            "line.quantity": activity.number(line.quantity),
            "line.rate": activity.number(line.rate),
            "line.taxRate": activity.number(line.tax_rate),
            "line.netTotal": money(line.net_total, note.currency),
            "line.grossTotal": money(line.gross_total, note.currency),
        }
    if group is not None:
        state = {"group.title": group.title, "group.description": group.description}
    return {
        **state,
        "netTotal": money(note.net_total, note.currency),
        "grossTotal": money(note.gross_total, note.currency),
    }


def label(note: CreditNote) -> str:
    if note.credit_note_number:
        return f"Credit note {note.credit_note_number}"
    return f"{note.status.value.lower()} credit note {note.id}"


def amount(note: CreditNote) -> str:
    return f"{money(note.gross_total, note.currency)} {note.currency}"


def record(
    session: Session,
    note: CreditNote,
    verb: str,
    name: str,
    summary: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    changes = (
        activity.changed(before, after if after is not None else snapshot(note))
        if before is not None
        else []
    )
    activity.record(
        session,
        note.account_id,
        verb=verb,
        object_type=CREDIT_NOTE,
        object_id=note.id,
        name=name,
        summary=summary,
        changes=changes,
        target_type="CUSTOMER",
        target_id=note.customer_id,
    )


def created(session: Session, note: CreditNote, invoice: Invoice | None) -> None:
    if invoice is None:
        summary = f"Draft credit note {note.id} in {note.currency}, against no invoice"
    else:
        against = invoice.invoice_number or invoice.id
        summary = f"Draft credit note {note.id} in {note.currency} against invoice {against}"
    record(session, note, "CREATED", "Credit note created", summary)


def updated(session: Session, note: CreditNote, before: dict[str, Any]) -> None:
    changes = activity.changed(before, snapshot(note))
    if changes:
        summary = f"{label(note)}: " + ", ".join(change["field"] for change in changes)
        record(session, note, "UPDATED", "Credit note changed", summary, before)


def deleted(session: Session, note: CreditNote) -> None:
    summary = f"{label(note)} ({amount(note)}) deleted"
    record(session, note, "DELETED", "Credit note deleted", summary, snapshot(note), {})


# transition -> (verb, name, what the summary says happened)
TRANSITIONS = {
    "finalize": ("FINALIZED", "Credit note finalized", "issued"),
    "send": ("SENT", "Credit note sent", "emailed to the customer"),
    "finalize-and-send": ("SENT", "Credit note finalized and sent", "issued and emailed"),
    "mark-as-sent": ("MARKED_AS_SENT", "Credit note marked as sent", "recorded as sent"),
    "void": ("VOIDED", "Credit note voided", "voided"),
}


def transitioned(
    session: Session, note: CreditNote, transition: str, before: dict[str, Any]
) -> None:
    verb, name, what = TRANSITIONS[transition]
    record(session, note, verb, name, f"{label(note)} ({amount(note)}) {what}", before)


_LINE_EDITS = {
    "LINE_ITEM_CREATED": "Credit note line added",
    "LINE_ITEM_UPDATED": "Credit note line changed",
    "LINE_ITEM_DELETED": "Credit note line deleted",
    "LINE_ITEM_GROUP_CREATED": "Credit note line group added",
    "LINE_ITEM_GROUP_UPDATED": "Credit note line group changed",
    "LINE_ITEM_GROUP_DELETED": "Credit note line group deleted",
}


def line_edited(
    session: Session,
    note: CreditNote,
    verb: str,
    what: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """`verb` one of `_LINE_EDITS`; `before` and `after` from `line_state`."""
    summary = f"{what} on {label(note)}, now {amount(note)}"
    record(session, note, verb, _LINE_EDITS[verb], summary, before, after)


def application_state(invoice: Invoice, note: CreditNote) -> dict[str, Any]:
    return {
        "balance": money(invoice.balance, invoice.currency),
        "paymentStatus": invoice.payment_status,
        "creditNoteBalance": money(note.balance, note.currency),
    }


def applied(
    session: Session, invoice: Invoice, note: CreditNote, given: Decimal, before: dict[str, Any]
) -> None:
    """An application: about the invoice, whose balance (and maybe payment status) fell."""
    currency = invoice.currency
    summary = (
        f"{label(note)} ({note.id}) applied to invoice {invoice.invoice_number or invoice.id}: "
        f"{money(given, currency)} {currency}; the invoice owes "
        f"{money(invoice.balance, currency)} {currency}"
    )
    activity.record(
        session,
        invoice.account_id,
        verb="CREDIT_APPLIED",
        object_type="INVOICE",
        object_id=invoice.id,
        name="Credit note applied",
        summary=summary,
        changes=activity.changed(before, application_state(invoice, note)),
        target_type="CUSTOMER",
        target_id=invoice.customer_id,
    )
