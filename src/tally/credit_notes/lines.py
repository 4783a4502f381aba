"""A draft credit note's line items and groups. Every change recomputes the totals (lines as
on invoices, groups and the credit note as sums of their lines) and checks the caps: what the
invoice's credit notes credit of each invoice line and of the invoice, never more than was
invoiced (`service.check_caps`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tally.api import references
from tally.billed.lines import line_totals
from tally.credit_notes import audit
from tally.credit_notes.schemas import GroupCreate, GroupUpdate, LineItemCreate, LineItemUpdate
from tally.credit_notes.service import check_caps, lock_draft, recompute_totals
from tally.exceptions import InvalidRequest, NotFound
from tally.models import (
    CreditNote,
    CreditNoteLineItem,
    CreditNoteLineItemGroup,
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    Product,
)
from tally.notifications.events import CREDIT_NOTE, NotificationType, emit


def _changed(
    session: Session,
    note: CreditNote,
    invoice: Invoice | None,
    edit: tuple[str, str, dict[str, Any]],
    line: CreditNoteLineItem | None = None,
    group: CreditNoteLineItemGroup | None = None,
) -> None:
    """Totals recomputed and the caps checked, then the activity log entry: `edit` is the
    verb, what happened and the state before (`audit.line_state`); `line` or `group` the
    one changed (None when it went)."""
    recompute_totals(session, note)
    check_caps(session, invoice)
    verb, what, before = edit
    audit.line_edited(session, note, verb, what, before, audit.line_state(note, line, group))
    emit(session, note.account_id, NotificationType.CREDIT_NOTE_UPDATED, CREDIT_NOTE, [note.id])


def _next_index(
    session: Session,
    kind: type[CreditNoteLineItem] | type[CreditNoteLineItemGroup],
    note: CreditNote,
) -> int:
    """After the last one: indexes only order lines (and groups), gaps are harmless."""
    last = session.scalar(
        select(func.max(kind.index)).where(
            kind.account_id == note.account_id, kind.credit_note_id == note.id
        )
    )
    return 0 if last is None else last + 1


def _invoice_line(
    session: Session, note: CreditNote, invoice: Invoice | None, body: LineItemCreate
) -> InvoiceLineItem | None:
    """The invoice line the new line credits: `lineItemId`, or the one `invoiceLineItemIds`
    names (Sequence defaults that list to `[lineItemId]`); each a line of the invoice. A
    standalone credit note credits no invoice line."""
    named = [] if body.line_item_id is None else [("lineItemId", body.line_item_id)]
    named += references.fields("invoiceLineItemIds", body.invoice_line_item_ids or [])
    if invoice is None:
        if named:
            # Another account's line is unknown (404) before it is out of place (400).
            references.resolve(session, note.account_id, InvoiceLineItem, named)
            raise InvalidRequest.field(
                named[0][0], "names an invoice line; this credit note credits no invoice"
            )
        return None
    lines = references.resolve(
        session,
        invoice.account_id,
        InvoiceLineItem,
        named,
        where=[InvoiceLineItem.invoice_id == invoice.id],
        kind=f"Line item of invoice {invoice.invoice_number or invoice.id}",
    )
    listed = list(dict.fromkeys(body.invoice_line_item_ids or []))
    if len(listed) > 1 or (listed and body.line_item_id and listed != [body.line_item_id]):
        raise InvalidRequest.field(
            "invoiceLineItemIds",
            "Tally credits one invoice line per credit note line: give that line's id alone "
            "(or as lineItemId)",
        )
    line_id = body.line_item_id or (listed[0] if listed else None)
    return None if line_id is None else lines[line_id]


def _check_group(session: Session, note: CreditNote, group_id: str | None) -> None:
    if group_id is not None:
        references.resolve_one(
            session,
            note.account_id,
            CreditNoteLineItemGroup,
            "groupId",
            group_id,
            where=[CreditNoteLineItemGroup.credit_note_id == note.id],
            kind="Group of this credit note",
        )


def _check_product(session: Session, note: CreditNote, product_id: str | None) -> None:
    if product_id is not None:
        references.resolve_one(session, note.account_id, Product, "productId", product_id)


def _fill(line: CreditNoteLineItem, body: LineItemUpdate, currency: str) -> None:
    """The line's fields from the body, and its amounts."""
    line.title = body.title
    line.description = body.description
    line.quantity = body.quantity
    line.rate = body.rate
    line.tax_rate = body.tax_rate
    line.rate_display = body.rate_display.value
    line.external_ids = [item.model_dump(mode="json") for item in body.external_ids]
    period = body.service_period
    if period is not None and period.end_inclusive < period.start:
        raise InvalidRequest.field("servicePeriod.endInclusive", "is before servicePeriod.start")
    line.service_period_start = period.start if period else None
    line.service_period_end = period.end_inclusive if period else None
    method, classification = body.revenue_recognition_method, body.revenue_classification
    line.revenue_recognition_method = method.value if method else None
    line.revenue_classification = classification.value if classification else None
    if body.product_id is not None:
        line.product_id = body.product_id
    line.net_total, line.total_tax, line.gross_total = line_totals(
        body.quantity, body.rate, body.tax_rate, currency
    )
    if line.invoice_line_item_id is not None and (line.net_total < 0 or line.gross_total < 0):
        raise InvalidRequest.field(
            "rate", "a line that credits an invoice line credits a positive amount"
        )


def get_line(session: Session, note: CreditNote, line_id: str) -> CreditNoteLineItem:
    line = session.scalar(
        select(CreditNoteLineItem).where(
            CreditNoteLineItem.account_id == note.account_id,
            CreditNoteLineItem.credit_note_id == note.id,
            CreditNoteLineItem.id == line_id,
        )
    )
    if line is None:
        raise NotFound.resource("Credit note line item", line_id)
    return line


def add_line(
    session: Session, account_id: str, note_id: str, body: LineItemCreate
) -> CreditNoteLineItem:
    note, invoice = lock_draft(session, account_id, note_id)
    if body.credit_note_id is not None and body.credit_note_id != note_id:
        raise InvalidRequest.field("creditNoteId", "is not the credit note of the path")
    _check_group(session, note, body.group_id)
    _check_product(session, note, body.product_id)
    credited = _invoice_line(session, note, invoice, body)
    line = CreditNoteLineItem(
        account_id=account_id,
        credit_note_id=note.id,
        group_id=body.group_id,
        invoice_line_item_id=credited.id if credited else None,
        index=_next_index(session, CreditNoteLineItem, note),
        price_id=credited.price_id if credited else None,
        product_id=credited.product_id if credited else None,
    )
    _fill(line, body, note.currency)
    session.add(line)
    edit = ("LINE_ITEM_CREATED", f"Line {line.title!r} added", audit.line_state(note))
    _changed(session, note, invoice, edit, line)
    return line


def update_line(
    session: Session, account_id: str, note_id: str, line_id: str, body: LineItemUpdate
) -> CreditNoteLineItem:
    note, invoice = lock_draft(session, account_id, note_id)
    line = get_line(session, note, line_id)
    _check_product(session, note, body.product_id)
    before = audit.line_state(note, line)
    _fill(line, body, note.currency)
    edit = ("LINE_ITEM_UPDATED", f"Line {line.title!r} changed", before)
    _changed(session, note, invoice, edit, line)
    return line


def delete_line(
    session: Session, account_id: str, note_id: str, line_id: str
) -> CreditNoteLineItem:
    note, invoice = lock_draft(session, account_id, note_id)
    line = get_line(session, note, line_id)
    edit = ("LINE_ITEM_DELETED", f"Line {line.title!r} deleted", audit.line_state(note, line))
    session.delete(line)
    _changed(session, note, invoice, edit)
    return line


def get_group(session: Session, note: CreditNote, group_id: str) -> CreditNoteLineItemGroup:
    group = session.scalar(
        select(CreditNoteLineItemGroup).where(
            CreditNoteLineItemGroup.account_id == note.account_id,
            CreditNoteLineItemGroup.credit_note_id == note.id,
            CreditNoteLineItemGroup.id == group_id,
        )
    )
    if group is None:
        raise NotFound.resource("Credit note line item group", group_id)
    return group


def add_group(
    session: Session, account_id: str, note_id: str, body: GroupCreate
) -> CreditNoteLineItemGroup:
    note, invoice = lock_draft(session, account_id, note_id)
    if body.line_item_group_id is not None and invoice is None:
        references.resolve_one(
            session, account_id, InvoiceLineItemGroup, "lineItemGroupId", body.line_item_group_id
        )
        raise InvalidRequest.field(
            "lineItemGroupId", "names an invoice's group; this credit note credits no invoice"
        )
    if body.line_item_group_id is not None and invoice is not None:
        references.resolve_one(
            session,
            account_id,
            InvoiceLineItemGroup,
            "lineItemGroupId",
            body.line_item_group_id,
            where=[InvoiceLineItemGroup.invoice_id == invoice.id],
            kind=f"Group of invoice {invoice.invoice_number or invoice.id}",
        )
    group = CreditNoteLineItemGroup(
        account_id=account_id,
        credit_note_id=note.id,
        invoice_line_item_group_id=body.line_item_group_id,
        index=_next_index(session, CreditNoteLineItemGroup, note),
        title=body.title,
        description=body.description,
    )
    session.add(group)
    edit = ("LINE_ITEM_GROUP_CREATED", f"Group {group.title!r} added", audit.line_state(note))
    _changed(session, note, invoice, edit, group=group)
    return group


def update_group(
    session: Session, account_id: str, note_id: str, group_id: str, body: GroupUpdate
) -> CreditNoteLineItemGroup:
    note, invoice = lock_draft(session, account_id, note_id)
    group = get_group(session, note, group_id)
    before = audit.line_state(note, group=group)
    group.title = body.title
    group.description = body.description
    edit = ("LINE_ITEM_GROUP_UPDATED", f"Group {group.title!r} changed", before)
    _changed(session, note, invoice, edit, group=group)
    return group


def delete_group(
    session: Session, account_id: str, note_id: str, group_id: str
) -> CreditNoteLineItemGroup:
    """Delete a group and its lines (as invoices' groups go)."""
    note, invoice = lock_draft(session, account_id, note_id)
    group = get_group(session, note, group_id)
    what = f"Group {group.title!r} and its lines deleted"
    edit = ("LINE_ITEM_GROUP_DELETED", what, audit.line_state(note, group=group))
    session.execute(
        delete(CreditNoteLineItem)
        .where(
            CreditNoteLineItem.account_id == account_id,
            CreditNoteLineItem.credit_note_id == note.id,
            CreditNoteLineItem.group_id == group.id,
        )
        .execution_options(synchronize_session=False)
    )
    session.delete(group)
    _changed(session, note, invoice, edit)
    return group
