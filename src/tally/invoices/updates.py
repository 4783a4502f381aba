"""Changing a draft invoice's own fields (Sequence's `PUT` and `PATCH /invoices/{id}`): dates,
purchase order, reference, memo, the customer as billed, payment options, metadata, its billing
run, the credit balances statement it prints, the attachments sent with it, and (PUT) its
currency.

Only a DRAFT changes: an IN_PROGRESS invoice is billing's until its period ends, and a
finalized one never changes (a SENT one allows a few fields through `PATCH /{id}/sent`).
Refused requests change nothing. A change is one activity log entry with the fields before and
after, and INVOICE_UPDATED.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tally.api import references
from tally.attachments.service import resolve_details
from tally.billed.lines import NO_TOTALS, line_totals, retax, sums_by_group
from tally.billed.locks import lock_document
from tally.core.clock import utcnow
from tally.exceptions import InvalidRequest, InvalidStateTransition
from tally.invoices import audit
from tally.invoices.lifecycle import announce
from tally.models import (
    Account,
    BillingRun,
    DueDateSource,
    Invoice,
    InvoiceStatus,
    LineKind,
)
from tally.notifications.events import NotificationType

# Invoice columns a change sets as given (the request's names, snake_case).
_PLAIN = (
    "purchase_order_number",
    "reference",
    "memo",
    "customer_emails",
    "customer_legal_company_name",
    "customer_billing_address",
    "customer_shipping_address",
    "payment_options",
    "accounting_date",
    "credit_balances",
)


def _snapshot(invoice: Invoice) -> dict[str, Any]:
    return {
        **audit.snapshot(invoice),
        "dueDateSource": invoice.due_date_source,
        "customerEmails": list(invoice.customer_emails),
        "customerLegalCompanyName": invoice.customer_legal_company_name,
        "customerShippingAddress": invoice.customer_shipping_address,
        "paymentOptions": list(invoice.payment_options),
        "billingPeriod": [invoice.billing_period_start, invoice.billing_period_end],
        "metadata": list(invoice.metadata_items),
        "accountingDate": invoice.accounting_date,
        "billingRunId": invoice.billing_run_id,
        "currency": invoice.currency,
        "creditBalances": invoice.credit_balances,
        "attachmentAssetIds": [asset["id"] for asset in invoice.attachment_assets],
    }


def update_draft(
    session: Session, account: Account, invoice_id: str, changes: dict[str, Any]
) -> Invoice:
    """Apply `changes` (from `DraftInvoicePatch.changes`) to a DRAFT; 409 for any other
    status, before anything changed."""
    invoice = lock_document(session, Invoice, account.id, invoice_id, with_lines=True)
    require_draft(invoice, "update")
    before = _snapshot(invoice)
    if "attachment_asset_ids" in changes:
        # Resolved first: an id of another account's (or none) is 404 before anything changed.
        invoice.attachment_assets = resolve_details(
            session, account.id, "attachmentAssetIds", changes["attachment_asset_ids"]
        )
    if "billing_run_id" in changes:
        _check_billing_run(session, invoice, changes["billing_run_id"])
        invoice.billing_run_id = changes["billing_run_id"]
    if "currency" in changes and changes["currency"] != invoice.currency:
        _change_currency(invoice, changes["currency"])
    if "due_date" in changes:
        due = changes["due_date"]
        invoice.due_date = due
        invoice.due_date_source = DueDateSource.MANUAL if due else DueDateSource.CALCULATED
        if due is not None:
            invoice.payment_term_days = None  # a fixed date, not terms
    if "billing_period" in changes:
        period = changes["billing_period"]
        invoice.billing_period_start = period.start if period else None
        invoice.billing_period_end = period.end_inclusive if period else None
    if "metadata" in changes:
        invoice.metadata_items = changes["metadata"]
    for name in _PLAIN:
        if name in changes:
            setattr(invoice, name, changes[name])
    after = _snapshot(invoice)
    found = [key for key in after if after[key] != before[key]]
    if found:
        summary = f"{audit.label(invoice)}: " + ", ".join(found)
        audit.record(
            session, invoice, "UPDATED", "Draft invoice changed", summary, before, after=after
        )
        announce(session, invoice, NotificationType.INVOICE_UPDATED)
    return invoice


def _check_billing_run(session: Session, invoice: Invoice, run_id: str) -> None:
    """A run of this account (404 otherwise) and of the invoice's billing schedule."""
    run = references.resolve_one(session, invoice.account_id, BillingRun, "billingRunId", run_id)
    if (
        invoice.billing_schedule_id is None
        or run.billing_schedule_id != invoice.billing_schedule_id
    ):
        raise InvalidRequest.field(
            "billingRunId", "is a billing run of another billing schedule than the invoice's"
        )


def _change_currency(invoice: Invoice, currency: str) -> None:
    """The draft's lines recalculated in `currency` (its minor unit rounds them); credit
    drawn from grants is in the grants' currency, so a draft with credit lines keeps its."""
    if any(line.kind is LineKind.CREDIT for line in invoice.line_items):
        raise InvalidRequest.field(
            "currency",
            "cannot change: the invoice draws on credit grants in "
            f"{invoice.currency}; remove those lines first",
        )
    for line in invoice.line_items:
        line.net_total, line.total_tax, line.gross_total = line_totals(
            line.quantity, line.rate, line.tax_rate, currency
        )
        # Now quantity x rate: what billing priced (tiers, netted discounts) no longer adds up.
        line.tiers, line.netted_discounts = [], []
    invoice.currency = currency
    _retotal(invoice)


def _retotal(invoice: Invoice) -> None:
    """Lines taxed per rate again, then groups' and the invoice's totals as the sums of their
    (rounded) lines, as drafts keep them; the invoice is edited, so billing leaves it alone."""
    retax(invoice.line_items, invoice.currency)
    by_group, overall = sums_by_group(
        (line.group_id, line.net_total, line.total_tax, line.gross_total)
        for line in invoice.line_items
    )
    for group in invoice.groups:
        group.net_total, group.total_tax, group.gross_total = by_group.get(group.id, NO_TOTALS)
    invoice.net_total, invoice.total_tax, invoice.gross_total = overall
    invoice.edited_at = utcnow()


# Why a status refuses an update.
WHY_NOT_EDITABLE = {
    InvoiceStatus.IN_PROGRESS: "billing recalculates it until its period ends; turn it into a "
    "draft first (POST /api/invoices/{id}/draft)",
    InvoiceStatus.FINAL: "a finalized invoice never changes; void it and write another",
    InvoiceStatus.SENT: "a sent invoice changes only through PATCH /api/invoices/{id}/sent "
    "(purchase order, billing address, memo, reference, due date)",
    InvoiceStatus.VOIDED: "a voided invoice stays as it was",
}


def require_draft(invoice: Invoice, action: str) -> None:
    """400 (InvalidStateTransition), saying why, unless the invoice is a DRAFT."""
    if invoice.status is not InvoiceStatus.DRAFT:
        why = WHY_NOT_EDITABLE[invoice.status].replace("{id}", invoice.id)
        raise InvalidStateTransition(
            f"Invoice {invoice.id!r} is {invoice.status.value}: cannot {action}: {why}."
        )
