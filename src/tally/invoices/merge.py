"""Merging draft invoices into one (Sequence's `POST /invoices/merge`).

The drafts must be one customer's, in one currency. The merged invoice is a new DRAFT with
every group and line of the drafts, in the order the request names them, each line exactly as
it was (so its totals are the drafts' totals added up); the customer as billed, dates and
references come from the first draft, the billing period spans them all. The drafts are not
deleted: they are VOIDED (their ids stay, and billing, which keeps their billing runs, does not
bill their periods again), each with an activity log entry naming the merged invoice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, selectinload

from tally.activity import service as activity
from tally.api import references
from tally.billed.lines import NO_TOTALS, retax, sums_by_group
from tally.core.clock import utcnow
from tally.db import new_id
from tally.exceptions import InvalidRequest
from tally.invoices import audit
from tally.invoices.updates import require_draft
from tally.models import (
    Account,
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    InvoiceStatus,
    LineKind,
)
from tally.notifications.events import INVOICE, NotificationType, emit

# Columns a copied line or group gets anew rather than from the one it copies.
_OWN = {"id", "invoice_id", "group_id", "index", "created_at", "updated_at"}


def _locked_drafts(session: Session, account_id: str, invoice_ids: Sequence[str]) -> list[Invoice]:
    """The invoices with their lines and groups, row-locked, in the request's order; 404 for
    an id not of the account, naming its place in `invoiceIds`."""
    rows = session.scalars(
        select(Invoice)
        .where(Invoice.account_id == account_id, Invoice.id.in_(list(invoice_ids)))
        .options(selectinload(Invoice.line_items), selectinload(Invoice.groups))
        .order_by(Invoice.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    found = {invoice.id: invoice for invoice in rows}
    for place, invoice_id in enumerate(invoice_ids):
        if invoice_id not in found:
            raise references.not_found(f"invoiceIds.{place}", "Invoice", invoice_id)
    return [found[invoice_id] for invoice_id in invoice_ids]


def _check(drafts: list[Invoice]) -> str | None:
    """Refuse what cannot merge; the merged invoice's billing schedule (theirs when they share
    one, else none)."""
    for invoice in drafts:
        require_draft(invoice, "merge")
    first = drafts[0]
    for place, invoice in enumerate(drafts):
        if invoice.customer_id != first.customer_id:
            raise InvalidRequest.field(
                f"invoiceIds.{place}", "is another customer's invoice: merge one customer's"
            )
        if invoice.currency != first.currency:
            raise InvalidRequest.field(
                f"invoiceIds.{place}",
                f"is in {invoice.currency}, not {first.currency}: merge invoices of one currency",
            )
    schedules = {invoice.billing_schedule_id for invoice in drafts}
    schedule = schedules.pop() if len(schedules) == 1 else None
    credited = any(line.kind is LineKind.CREDIT for d in drafts for line in d.line_items)
    if schedule is None and credited:
        # Credit drawn from grants is settled per billing schedule at finalization.
        raise InvalidRequest.field(
            "invoiceIds",
            "the invoices draw on credit grants for different billing schedules: merge the "
            "invoices of one schedule",
        )
    return schedule


def _columns(row: Any) -> dict[str, Any]:
    return {
        column.key: getattr(row, column.key)
        for column in inspect(type(row)).column_attrs
        if column.key not in _OWN
    }


def merge(session: Session, account: Account, invoice_ids: Sequence[str]) -> Invoice:
    # Ids first (another account's is a 404 whatever else the request says), then the rest.
    drafts = _locked_drafts(session, account.id, list(dict.fromkeys(invoice_ids)))
    if len(drafts) != len(invoice_ids):
        raise InvalidRequest.field("invoiceIds", "names an invoice twice")
    if len(drafts) < 2:
        raise InvalidRequest.field("invoiceIds", "give at least two invoices to merge")
    schedule = _check(drafts)
    first = drafts[0]
    starts = [d.billing_period_start for d in drafts if d.billing_period_start]
    ends = [d.billing_period_end for d in drafts if d.billing_period_end]
    dates = [d.invoice_date for d in drafts if d.invoice_date]
    now = utcnow()
    merged = Invoice(
        **{
            **_columns(first),
            "id": new_id(),
            "status": InvoiceStatus.DRAFT,
            "billing_schedule_id": schedule,
            "billing_run_id": None,  # one run bills one date; this is several
            "billing_period_start": min(starts) if starts and len(ends) == len(drafts) else None,
            "billing_period_end": max(ends) if ends and len(starts) == len(drafts) else None,
            "invoice_date": max(dates) if dates else None,
            "metadata_items": _merged_metadata(drafts),
            "payment_options": list(
                dict.fromkeys(option for d in drafts for option in d.payment_options)
            ),
            "edited_at": now,
            "calculated_at": None,
            "calculation_digest": None,
            "created_at": now,
            "updated_at": now,
        }
    )
    session.add(merged)
    session.flush()
    group_ids: dict[str, str] = {}
    groups: list[InvoiceLineItemGroup] = []
    for draft in drafts:
        for group in draft.groups:
            copy = InvoiceLineItemGroup(
                **_columns(group), id=new_id(), invoice_id=merged.id, index=len(groups)
            )
            group_ids[group.id] = copy.id
            groups.append(copy)
    session.add_all(groups)
    session.flush()  # groups before the lines that refer to them
    lines = [
        InvoiceLineItem(
            **_columns(line),
            id=new_id(),
            invoice_id=merged.id,
            group_id=group_ids[line.group_id] if line.group_id else None,
            index=index,
        )
        for index, line in enumerate(line for draft in drafts for line in draft.line_items)
    ]
    session.add_all(lines)
    retax(lines, merged.currency)  # one document now: each rate's tax rounded once
    by_group, overall = sums_by_group(
        (line.group_id, line.net_total, line.total_tax, line.gross_total) for line in lines
    )
    for group in groups:
        group.net_total, group.total_tax, group.gross_total = by_group.get(group.id, NO_TOTALS)
    merged.net_total, merged.total_tax, merged.gross_total = overall
    session.flush()
    _void_merged(session, drafts, merged)
    emit(session, account.id, NotificationType.INVOICE_CREATED, INVOICE, [merged.id])
    emit(session, account.id, NotificationType.INVOICE_UPDATED, INVOICE, [d.id for d in drafts])
    return merged


def _merged_metadata(drafts: list[Invoice]) -> list[Any]:
    """Every draft's metadata, a key taken from the first draft that has it."""
    seen: dict[str, Any] = {}
    for draft in drafts:
        for item in draft.metadata_items:
            if isinstance(item, dict):
                seen.setdefault(str(item.get("key")), item)
    return list(seen.values())


def _void_merged(session: Session, drafts: list[Invoice], merged: Invoice) -> None:
    """The drafts VOIDED, and one activity log entry about the merged invoice that names
    each of them and its change (one action, one entry)."""
    now = utcnow()
    changes: list[dict[str, Any]] = []
    for draft in drafts:
        changes.append({"field": f"{draft.id}.status", "before": draft.status, "after": "VOIDED"})
        changes.append({"field": f"{draft.id}.mergedInto", "before": None, "after": merged.id})
        draft.status = InvoiceStatus.VOIDED
        draft.voided_at = now
    session.flush()
    summary = (
        f"Draft invoice {merged.id} ({audit.amount(merged)}) merges "
        + ", ".join(f"{d.id} ({audit.amount(d)})" for d in drafts)
        + "; those are voided"
    )
    entry = audit.entry(merged, "MERGED", "Invoices merged", summary, activity.plain(changes))
    activity.record_all(session, merged.account_id, [entry])
