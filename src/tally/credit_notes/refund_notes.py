"""The credit note that documents a refund: money the merchant gave back on an invoice's payment
is credit the customer no longer owes for. One line for the refunded amount, issued (FINAL,
numbered in the account's credit note sequence) and applied to the invoice at once, so the
amount due a refund reopened closes again and nobody chases the customer for money the
merchant returned (the payments package calls it, after `records.record_refund`).

One activity log entry says all of it: the steps are not a merchant's separate choices.
The tax the refund carries is the invoice's share (net / gross), apportioned on what the
invoice's credit notes credit in all, so the caps (`service.check_caps`) hold to the cent."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.core.clock import local_today, utcnow
from tally.core.money import minor_unit
from tally.core.sql import exact_sum
from tally.credit_notes import audit
from tally.credit_notes.service import check_caps, credit_note_number, recompute_totals
from tally.invoices.lifecycle import take_numbers
from tally.models import (
    Account,
    CreditNote,
    CreditNoteApplication,
    CreditNoteLineItem,
    DocumentKind,
    Invoice,
    InvoiceStatus,
)
from tally.notifications.events import CREDIT_NOTE, NotificationType, emit

_TAX_RATE_PLACES = Decimal("0.000000000001")


def _credited(session: Session, invoice: Invoice) -> tuple[Decimal, Decimal]:
    """(net, gross) the invoice's live credit notes credit, drafts included (as the caps)."""
    net, gross = session.execute(
        select(
            exact_sum(session, CreditNote.net_total), exact_sum(session, CreditNote.gross_total)
        ).where(
            CreditNote.account_id == invoice.account_id,
            CreditNote.invoice_id == invoice.id,
            CreditNote.status != InvoiceStatus.VOIDED,
        )
    ).one()
    return net or Decimal(0), gross or Decimal(0)


def _net_part(session: Session, invoice: Invoice, amount: Decimal) -> Decimal:
    """The net of `amount` gross: the invoice's net share of everything credited once this is,
    less the net credited before (never below zero, never above the amount)."""
    if invoice.gross_total <= 0:
        return amount
    net_before, gross_before = _credited(session, invoice)
    share = (gross_before + amount) * invoice.net_total / invoice.gross_total
    net_after = min(share.quantize(minor_unit(invoice.currency), ROUND_HALF_UP), invoice.net_total)
    return min(max(net_after - net_before, Decimal(0)), amount)


def issue_for_refund(
    session: Session, account: Account, invoice: Invoice, amount: Decimal, *, title: str, memo: str
) -> CreditNote:
    """A FINAL credit note of `amount` (gross) against `invoice`, applied to it. The caller
    holds the invoice's row lock and has raised its amount due by at least `amount`."""
    net = _net_part(session, invoice, amount)
    tax = amount - net
    note = CreditNote(
        account_id=account.id,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        billing_schedule_id=invoice.billing_schedule_id,
        status=InvoiceStatus.DRAFT,
        currency=invoice.currency,
        billing_period_start=invoice.billing_period_start,
        billing_period_end=invoice.billing_period_end,
        purchase_order_number=invoice.purchase_order_number,
        memo=memo,
        customer_legal_company_name=invoice.customer_legal_company_name,
        customer_emails=list(invoice.customer_emails),
        customer_billing_address=invoice.customer_billing_address,
        customer_shipping_address=invoice.customer_shipping_address,
    )
    session.add(note)
    session.flush()
    session.add(
        CreditNoteLineItem(
            account_id=account.id,
            credit_note_id=note.id,
            index=0,
            title=title,
            quantity=Decimal(1),
            rate=net,
            tax_rate=(tax / net).quantize(_TAX_RATE_PLACES) if net else Decimal(0),
            net_total=net,
            total_tax=tax,
            gross_total=amount,
        )
    )
    # Its one line splits the refunded gross as the invoice taxed it (its rate is that split,
    # shown to six places): taxing it again from the shown rate could move a cent.
    recompute_totals(session, note, taxed_per_rate=False)
    check_caps(session, invoice)
    (number,) = take_numbers(session, account.id, DocumentKind.CREDIT_NOTE, 1)
    today = local_today(account.timezone)
    note.status = InvoiceStatus.FINAL
    note.credit_note_number = credit_note_number(account, number)
    note.issue_date = today
    note.accounting_date = today
    note.finalized_at = utcnow()
    # Issued with a balance of its total, applied to the invoice in the same breath.
    note.balance_version += 2
    invoice.balance -= amount
    invoice.balance_version += 1
    session.add(
        CreditNoteApplication(
            account_id=account.id,
            credit_note_id=note.id,
            invoice_id=invoice.id,
            amount=amount,
            currency=note.currency,
            applied_at=utcnow(),
        )
    )
    session.flush()
    audit.record(
        session,
        note,
        "ISSUED",
        "Credit note issued for a refund",
        f"{audit.label(note)} ({audit.amount(note)}) documents a refund on invoice "
        f"{invoice.invoice_number or invoice.id}, and is applied to it",
    )
    emit(session, account.id, NotificationType.CREDIT_NOTE_ISSUED, CREDIT_NOTE, [note.id])
    return note
