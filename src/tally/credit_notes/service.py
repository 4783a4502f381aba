"""Credit notes: what a merchant gives back against a SENT invoice (Sequence corrects a sent
invoice by issuing one), or to a customer against no invoice (a standalone credit note, whose
balance is applied to the customer's invoices later). Creating, editing drafts, the
lifecycle (finalize with a gapless number of their own, send, mark as sent, void), and the
caps that keep them from crediting more than was invoiced.

Every change locks the credit note's invoice, then the credit note (`lock_note`); credit note
applications lock their invoice, then the credit note, too. One order everywhere, so two
changes never wait on each other in a circle, and the caps, summed over every credit note of
an invoice, are checked with no other change to them in flight.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.orm import Session, selectinload

from tally.accounts import seller
from tally.api import references
from tally.billed.lines import NO_TOTALS, retax, sums_by_group
from tally.billed.locks import lock_document
from tally.core.clock import local_today, start_of_local_day, utcnow
from tally.core.wire import money
from tally.credit_notes import audit
from tally.credit_notes.schemas import CreditNoteCreate, CreditNoteUpdate, SettingPreference
from tally.engine.money import ZERO, round_money
from tally.exceptions import (
    ArchivedReference,
    BalanceExceeded,
    InvalidRequest,
    InvalidStateTransition,
    MissingRecipient,
    NotFound,
    ReferenceInUse,
    ReferenceMismatch,
)
from tally.invoices.drafts import billing_emails
from tally.invoices.lifecycle import take_numbers
from tally.models import (
    Account,
    CreditNote,
    CreditNoteApplication,
    CreditNoteLineItem,
    CreditNoteLineItemGroup,
    Customer,
    DocumentKind,
    Invoice,
    InvoiceLineItem,
    InvoiceStatus,
)
from tally.models.scoped import get_account
from tally.notifications.email import queue_document
from tally.notifications.events import CREDIT_NOTE, NotificationType, emit

DRAFT, FINAL, SENT, VOIDED = (
    InvoiceStatus.DRAFT,
    InvoiceStatus.FINAL,
    InvoiceStatus.SENT,
    InvoiceStatus.VOIDED,
)


def note_query(account_id: str) -> Select[CreditNote]:
    return select(CreditNote).where(CreditNote.account_id == account_id)


def get_credit_note(session: Session, account_id: str, note_id: str) -> CreditNote:
    """The credit note with its line items and groups loaded, as stored now."""
    note = session.scalar(
        note_query(account_id)
        .where(CreditNote.id == note_id)
        .options(selectinload(CreditNote.line_items), selectinload(CreditNote.groups))
        .execution_options(populate_existing=True)
    )
    if note is None:
        raise NotFound.resource("Credit note", note_id)
    return note


def get_credit_notes(session: Session, account_id: str, ids: Sequence[str]) -> list[CreditNote]:
    """Those of `ids` in the account, with lines and groups (three queries)."""
    if not ids:
        return []
    return list(
        session.scalars(
            note_query(account_id)
            .where(CreditNote.id.in_(ids))
            .options(selectinload(CreditNote.line_items), selectinload(CreditNote.groups))
            .execution_options(populate_existing=True)
        )
    )


@dataclass(frozen=True)
class Presentation:
    """What a credit note's answer shows besides its own row: invoice numbers (of its invoice
    and of those it was applied to) and its applications, oldest first."""

    invoice_numbers: dict[str, str | None]
    applications: dict[str, list[CreditNoteApplication]]

    def applications_of(self, note: CreditNote) -> list[CreditNoteApplication]:
        return self.applications.get(note.id, [])


def presentation(session: Session, account_id: str, notes: Iterable[CreditNote]) -> Presentation:
    """For any number of credit notes, in two queries."""
    notes = list(notes)
    if not notes:
        return Presentation({}, {})
    applied: dict[str, list[CreditNoteApplication]] = defaultdict(list)
    for application in session.scalars(
        select(CreditNoteApplication)
        .where(
            CreditNoteApplication.account_id == account_id,
            CreditNoteApplication.credit_note_id.in_([note.id for note in notes]),
        )
        .order_by(CreditNoteApplication.applied_at, CreditNoteApplication.id)
    ):
        applied[application.credit_note_id].append(application)
    invoice_ids = {note.invoice_id for note in notes if note.invoice_id} | {
        application.invoice_id for group in applied.values() for application in group
    }
    rows = session.execute(
        select(Invoice.id, Invoice.invoice_number).where(
            Invoice.account_id == account_id, Invoice.id.in_(invoice_ids)
        )
    )
    return Presentation(dict(rows.all()), dict(applied))


# --- lists -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditNoteFilters:
    """Sequence's list filters. Lists match any of their values. `sent_before` and
    `sent_after` compare the day it was sent, in the account's time zone, strictly."""

    statuses: list[InvoiceStatus] | None = None
    customer_ids: list[str] | None = None
    sent_before: date | None = None
    sent_after: date | None = None
    search: str | None = None  # part of the credit note number, any case


def filtered_credit_notes(
    session: Session, account_id: str, filters: CreditNoteFilters
) -> Select[CreditNote]:
    f = filters
    conditions: list[ColumnElement[bool]] = []
    if f.statuses:
        conditions.append(CreditNote.status.in_(f.statuses))
    if f.customer_ids:
        conditions.append(CreditNote.customer_id.in_(f.customer_ids))
    if f.sent_before is not None or f.sent_after is not None:
        zone = get_account(session, account_id).timezone
        if f.sent_before is not None:
            conditions.append(CreditNote.sent_at < start_of_local_day(f.sent_before, zone))
        if f.sent_after is not None:
            after = start_of_local_day(f.sent_after + timedelta(days=1), zone)
            conditions.append(CreditNote.sent_at >= after)
    if f.search:
        escaped = f.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(
            func.lower(CreditNote.credit_note_number).like(f"%{escaped.lower()}%", escape="\\")
        )
    return note_query(account_id).where(*conditions)


def groups_query(account_id: str, note_id: str) -> Select[CreditNoteLineItemGroup]:
    return select(CreditNoteLineItemGroup).where(
        CreditNoteLineItemGroup.account_id == account_id,
        CreditNoteLineItemGroup.credit_note_id == note_id,
    )


# --- locks and the caps ------------------------------------------------------------------------


def lock_note(session: Session, account_id: str, note_id: str) -> tuple[CreditNote, Invoice | None]:
    """The credit note and its invoice (None for a standalone credit note), locked until
    commit: the invoice first, then the credit note (the order every credit note change
    takes)."""
    found = session.execute(
        note_query(account_id)
        .with_only_columns(CreditNote.id, CreditNote.invoice_id)
        .where(CreditNote.id == note_id)
    ).first()
    if found is None:
        raise NotFound.resource("Credit note", note_id)
    invoice = None
    if found.invoice_id is not None:
        invoice = lock_document(session, Invoice, account_id, found.invoice_id, field="invoiceId")
    return lock_document(session, CreditNote, account_id, note_id, field="creditNoteId"), invoice


def lock_draft(
    session: Session, account_id: str, note_id: str
) -> tuple[CreditNote, Invoice | None]:
    """`lock_note`, refusing a credit note that is no longer a draft: only drafts change."""
    note, invoice = lock_note(session, account_id, note_id)
    if note.status is not DRAFT:
        raise InvalidStateTransition(
            f"Credit note {note.id} is {note.status.value}: only a DRAFT credit note can be "
            "changed; void it and issue another instead."
        )
    return note, invoice


def _sums(rows: Iterable[tuple[Any, Decimal, Decimal]]) -> dict[Any, tuple[Decimal, Decimal]]:
    totals: dict[Any, tuple[Decimal, Decimal]] = {}
    for key, net, gross in rows:
        old_net, old_gross = totals.get(key, (ZERO, ZERO))
        totals[key] = (old_net + net, old_gross + gross)
    return totals


def _creditable_gross(line: InvoiceLineItem, currency: str) -> Decimal:
    """The most the credit notes may credit of an invoice line, tax included: its gross, or
    its net with the tax it owes rounded on its own if that is more. Tax is rounded once per
    rate per document: on its invoice the line may have given a minor unit to another line of
    its rate, while a credit note crediting it alone rounds it alone (15 yen at 10 % owes 1
    of 15 + 25 = 4 on the invoice, 2 on its own). The invoice's totals stay the hard cap."""
    alone = round_money(line.net_total * line.tax_rate, currency)
    return line.net_total + max(line.total_tax, alone)


def check_caps(session: Session, invoice: Invoice | None) -> None:
    """Credit notes never credit more than was invoiced: over every credit note of the
    invoice that is not voided (drafts included), what they credit of each invoice line is
    at most that line's net and gross amounts (`_creditable_gross`), and their totals at
    most the invoice's. A
    standalone credit note (no invoice) has no such cap.

    Run after a change is flushed, with the invoice locked (`lock_note`)."""
    if invoice is None:
        return
    live = (
        CreditNote.account_id == invoice.account_id,
        CreditNote.invoice_id == invoice.id,
        CreditNote.status != VOIDED,
    )
    credited = _sums(
        session.execute(
            select(
                CreditNoteLineItem.invoice_line_item_id,
                CreditNoteLineItem.net_total,
                CreditNoteLineItem.gross_total,
            )
            .join(CreditNote, CreditNote.id == CreditNoteLineItem.credit_note_id)
            .where(*live, CreditNoteLineItem.invoice_line_item_id.is_not(None))
        )
    )
    currency = invoice.currency
    if credited:
        for line in session.scalars(
            select(InvoiceLineItem)
            .where(
                InvoiceLineItem.account_id == invoice.account_id,
                InvoiceLineItem.id.in_(credited),
            )
            .order_by(InvoiceLineItem.index)
        ):
            net, gross = credited[line.id]
            if net > line.net_total or gross > _creditable_gross(line, currency):
                raise BalanceExceeded(
                    f"Invoice line {line.title!r} ({line.id}) is {_money(line.net_total, currency)}"
                    f" net, {_money(line.gross_total, currency)} gross; its credit notes would "
                    f"credit {_money(net, currency)} net, {_money(gross, currency)} gross."
                )
    totals = _sums(
        (None, net, gross)
        for net, gross in session.execute(
            select(CreditNote.net_total, CreditNote.gross_total).where(*live)
        )
    )
    net, gross = totals.get(None, (ZERO, ZERO))
    if net > invoice.net_total or gross > invoice.gross_total:
        raise BalanceExceeded(
            f"Invoice {invoice.invoice_number or invoice.id} is "
            f"{_money(invoice.gross_total, currency)} gross ({_money(invoice.net_total, currency)}"
            f" net); its credit notes would credit {_money(gross, currency)} gross "
            f"({_money(net, currency)} net)."
        )


def _money(amount: Decimal, currency: str) -> str:
    return f"{money(amount, currency)} {currency}"


def recompute_totals(session: Session, note: CreditNote, *, taxed_per_rate: bool = True) -> None:
    """The lines taxed per rate again (`taxed_per_rate`), then groups' and the credit note's
    totals: sums of their lines' (one read, one write)."""
    session.flush()
    lines = session.scalars(
        select(CreditNoteLineItem)
        .where(
            CreditNoteLineItem.account_id == note.account_id,
            CreditNoteLineItem.credit_note_id == note.id,
        )
        .order_by(CreditNoteLineItem.index, CreditNoteLineItem.id)
    ).all()
    if taxed_per_rate:
        retax(lines, note.currency)
    by_group, overall = sums_by_group(
        (line.group_id, line.net_total, line.total_tax, line.gross_total) for line in lines
    )
    for group in session.scalars(groups_query(note.account_id, note.id)):
        group.net_total, group.total_tax, group.gross_total = by_group.get(group.id, NO_TOTALS)
    note.net_total, note.total_tax, note.gross_total = overall
    session.flush()


# --- creating and editing drafts -------------------------------------------------------------


def create_credit_note(session: Session, account_id: str, body: CreditNoteCreate) -> CreditNote:
    """A DRAFT credit note against a SENT invoice of the same customer and currency, with the
    invoice's customer details, billing period and schedule unless the body gives them; or,
    without `invoiceId`, a standalone one for the customer (`_standalone`)."""
    if body.invoice_id is None:
        return _standalone(session, account_id, body)
    invoice = lock_document(session, Invoice, account_id, body.invoice_id, field="invoiceId")
    references.resolve_one(session, account_id, Customer, "customerId", body.customer_id)
    if invoice.status is not SENT:
        raise InvalidStateTransition(
            f"Invoice {invoice.invoice_number or invoice.id} is {invoice.status.value}: a "
            "credit note corrects a SENT invoice (void a FINAL or DRAFT one instead)."
        )
    if body.customer_id != invoice.customer_id:
        raise ReferenceMismatch(
            f"customerId {body.customer_id} is not the customer of invoice "
            f"{invoice.invoice_number or invoice.id} ({invoice.customer_id})."
        )
    if body.currency.value != invoice.currency:
        raise ReferenceMismatch(
            f"currency {body.currency.value} is not the currency of invoice "
            f"{invoice.invoice_number or invoice.id} ({invoice.currency})."
        )
    given = body.model_fields_set
    note = CreditNote(
        account_id=account_id,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        billing_schedule_id=invoice.billing_schedule_id,
        status=DRAFT,
        currency=invoice.currency,
        billing_period_start=(
            body.billing_period_start
            if "billing_period_start" in given
            else invoice.billing_period_start
        ),
        billing_period_end=(
            body.billing_period_end if "billing_period_end" in given else invoice.billing_period_end
        ),
        purchase_order_number=(
            body.purchase_order_number
            if "purchase_order_number" in given
            else invoice.purchase_order_number
        ),
        memo=body.memo,
        customer_legal_company_name=(
            body.customer_legal_company_name or invoice.customer_legal_company_name
        ),
        customer_emails=(
            list(body.customer_emails)
            if body.customer_emails is not None
            else list(invoice.customer_emails)
        ),
        customer_billing_address=_address(body.customer_billing_address)
        or invoice.customer_billing_address,
        customer_shipping_address=_address(body.customer_shipping_address)
        or invoice.customer_shipping_address,
        customer_tax_id=body.customer_tax_id,
        metadata_items=[item.model_dump() for item in body.metadata or []],
        accounting_date=body.accounting_date,
    )
    _check_period(note)
    session.add(note)
    session.flush()
    audit.created(session, note, invoice)
    emit(session, account_id, NotificationType.CREDIT_NOTE_CREATED, CREDIT_NOTE, [note.id])
    return note


def _standalone(session: Session, account_id: str, body: CreditNoteCreate) -> CreditNote:
    """A DRAFT credit note of the customer's, against no invoice (a goodwill credit, a
    refund of something never invoiced in Tally): the customer's details unless the body
    gives them. Once issued, its balance is applied to the customer's invoices."""
    customer = references.resolve_one(
        session, account_id, Customer, "customerId", body.customer_id, lock="share"
    )
    if customer.archived_at is not None:
        raise ArchivedReference(f"Customer {customer.id!r} is archived: it is credited no more")
    given = body.model_fields_set
    note = CreditNote(
        account_id=account_id,
        invoice_id=None,
        customer_id=customer.id,
        status=DRAFT,
        currency=body.currency.value,
        billing_period_start=body.billing_period_start,
        billing_period_end=body.billing_period_end,
        purchase_order_number=body.purchase_order_number,
        memo=body.memo,
        customer_legal_company_name=body.customer_legal_company_name or customer.legal_name,
        customer_emails=(
            list(body.customer_emails)
            if body.customer_emails is not None
            else billing_emails(session, account_id, customer.id)
        ),
        customer_billing_address=_address(body.customer_billing_address) or customer.address,
        customer_shipping_address=_address(body.customer_shipping_address),
        customer_tax_id=body.customer_tax_id if "customer_tax_id" in given else None,
        metadata_items=[item.model_dump() for item in body.metadata or []],
        accounting_date=body.accounting_date,
    )
    _check_period(note)
    session.add(note)
    session.flush()
    audit.created(session, note, None)
    emit(session, account_id, NotificationType.CREDIT_NOTE_CREATED, CREDIT_NOTE, [note.id])
    return note


def _address(address: Any) -> dict[str, Any] | None:
    if address is None:
        return None
    document: dict[str, Any] = address.model_dump(exclude_none=True)
    return document


def _check_period(note: CreditNote) -> None:
    start, end = note.billing_period_start, note.billing_period_end
    if start and end and end < start:
        raise InvalidRequest.field("billingPeriodEnd", "is before billingPeriodStart")


# Fields a client may clear with null, and those it may only change.
_CLEARABLE = {
    "billing_period_start": "billing_period_start",
    "billing_period_end": "billing_period_end",
    "purchase_order_number": "purchase_order_number",
    "memo": "memo",
    "customer_tax_id": "customer_tax_id",
    "accounting_date": "accounting_date",
}
_REQUIRED = {
    "customer_emails": "customerEmails",
    "customer_legal_company_name": "customerLegalCompanyName",
    "customer_billing_address": "customerBillingAddress",
    "metadata": "metadata",
    "settings": "settings",
}


def update_credit_note(
    session: Session, account_id: str, note_id: str, body: CreditNoteUpdate
) -> CreditNote:
    """Change a draft's details: the fields sent, nothing else."""
    note, _ = lock_draft(session, account_id, note_id)
    before = audit.snapshot(note)
    given = body.model_fields_set
    for field, wire in _REQUIRED.items():
        if field in given and getattr(body, field) is None:
            raise InvalidRequest.field(wire, "cannot be null; leave it out to keep it")
    for field, column in _CLEARABLE.items():
        if field in given:
            setattr(note, column, getattr(body, field))
    if body.customer_emails is not None:
        note.customer_emails = list(body.customer_emails)
    if body.customer_legal_company_name is not None:
        note.customer_legal_company_name = body.customer_legal_company_name
    if body.customer_billing_address is not None:
        note.customer_billing_address = _address(body.customer_billing_address) or {}
    if "customer_shipping_address" in given:
        note.customer_shipping_address = _address(body.customer_shipping_address)
    if body.metadata is not None:
        note.metadata_items = [item.model_dump() for item in body.metadata]
    if body.settings is not None:
        if body.settings.generate_cash_credit_grant is SettingPreference.ENABLED:
            raise InvalidRequest.field(
                "settings.generateCashCreditGrant",
                "ENABLED is not supported by Tally yet (a credit note's balance is applied to "
                "invoices, not turned into a cash credit grant); send DISABLED",
            )
        note.generate_cash_credit_grant = body.settings.generate_cash_credit_grant.value
    _check_period(note)
    session.flush()
    audit.updated(session, note, before)
    emit(session, account_id, NotificationType.CREDIT_NOTE_UPDATED, CREDIT_NOTE, [note.id])
    return note


def delete_credit_note(session: Session, account_id: str, note_id: str) -> CreditNote:
    """Delete a draft with its lines and groups; returns it as it was."""
    lock_draft(session, account_id, note_id)
    note = get_credit_note(session, account_id, note_id)
    audit.deleted(session, note)
    # Lines first (they name groups), then groups, then the note; the loaded objects stay
    # as they were, to answer with.
    for table, owner in (
        (CreditNoteLineItem, CreditNoteLineItem.credit_note_id),
        (CreditNoteLineItemGroup, CreditNoteLineItemGroup.credit_note_id),
        (CreditNote, CreditNote.id),
    ):
        session.execute(
            delete(table)
            .where(table.account_id == account_id, owner == note_id)
            .execution_options(synchronize_session=False)
        )
    return note


# --- the lifecycle ---------------------------------------------------------------------------


class Transition(StrEnum):
    FINALIZE = "finalize"
    SEND = "send"
    FINALIZE_AND_SEND = "finalize-and-send"
    MARK_AS_SENT = "mark-as-sent"
    VOID = "void"


# From which statuses each transition may start.
ALLOWED: dict[Transition, tuple[InvoiceStatus, ...]] = {
    Transition.FINALIZE: (DRAFT,),
    Transition.SEND: (FINAL,),
    Transition.FINALIZE_AND_SEND: (DRAFT,),
    Transition.MARK_AS_SENT: (DRAFT, FINAL),
    Transition.VOID: (DRAFT, FINAL, SENT),
}

_WHY = {
    (Transition.FINALIZE, FINAL): "it is finalized already",
    (Transition.FINALIZE, SENT): "it is finalized and sent already",
    (Transition.FINALIZE_AND_SEND, FINAL): "it is finalized already; send it",
    (Transition.FINALIZE_AND_SEND, SENT): "it is sent already",
    (Transition.SEND, DRAFT): "finalize it first, or use finalize-and-send",
    (Transition.SEND, SENT): "it is sent already",
    (Transition.MARK_AS_SENT, SENT): "it is sent already",
    (Transition.VOID, VOIDED): "it is voided already",
}


def _refuse(note: CreditNote, transition: Transition) -> InvalidStateTransition:
    allowed = " or ".join(status.value for status in ALLOWED[transition])
    why = _WHY.get((transition, note.status), "a voided credit note stays as it is")
    return InvalidStateTransition(
        f"Cannot {transition.value} credit note {note.credit_note_number or note.id}: it is "
        f"{note.status.value}, and {transition.value} needs a {allowed} credit note ({why})."
    )


def credit_note_number(account: Account, number: int) -> str:
    return f"{account.credit_note_number_prefix}{number:05d}"


def _finalize(
    session: Session, account: Account, note: CreditNote, invoice: Invoice | None
) -> None:
    """Issue it: the next number of the account's credit notes, today's date in the account's
    time zone, and a balance of its gross total to apply to invoices."""
    if invoice is not None and invoice.status is not SENT:
        raise InvalidStateTransition(
            f"Invoice {invoice.invoice_number or invoice.id} is {invoice.status.value} now: a "
            "credit note is issued against a SENT invoice."
        )
    if not note.line_items or note.gross_total <= 0:
        raise InvalidStateTransition(
            f"Credit note {note.id} credits {_money(note.gross_total, note.currency)}: add lines "
            "that credit a positive amount before finalizing it."
        )
    check_caps(session, invoice)
    (number,) = take_numbers(session, account.id, DocumentKind.CREDIT_NOTE, 1)
    today = local_today(account.timezone)
    note.status = FINAL
    note.credit_note_number = credit_note_number(account, number)
    note.issue_date = today
    note.accounting_date = note.accounting_date or today
    note.finalized_at = utcnow()
    note.balance = note.gross_total
    note.balance_version += 1


def _send(session: Session, account: Account, note: CreditNote, *, email: bool) -> None:
    if email:
        recipients = list(note.customer_emails)
        if not recipients:
            raise MissingRecipient(
                f"Credit note {note.credit_note_number or note.id} has no customer email to send "
                "it to: set customerEmails on the draft, or use mark-as-sent."
            )
        queue_document(session, account, note, recipients)
    note.status = SENT
    note.sent_at = utcnow()


def _has_applications(session: Session, note: CreditNote) -> bool:
    found = session.scalar(
        select(CreditNoteApplication.id)
        .where(
            CreditNoteApplication.account_id == note.account_id,
            CreditNoteApplication.credit_note_id == note.id,
        )
        .limit(1)
    )
    return found is not None


def transition(
    session: Session, account_id: str, note_id: str, transition: Transition
) -> CreditNote:
    """Move the credit note along its lifecycle, or refuse (a `Conflict`) and change nothing.

    DRAFT -> FINAL (finalize), FINAL -> SENT (send: emails it), DRAFT -> SENT
    (finalize-and-send), DRAFT or FINAL -> SENT without an email (mark-as-sent), and
    DRAFT, FINAL or SENT -> VOIDED (void), unless it has been applied to an invoice: an
    application has lowered that invoice's balance already, and voiding cannot undo it.
    """
    note, invoice = lock_note(session, account_id, note_id)
    if note.status not in ALLOWED[transition]:
        raise _refuse(note, transition)
    account = get_account(session, account_id)
    note = get_credit_note(session, account_id, note_id)  # with its lines
    before = audit.snapshot(note)
    issued = note.status is DRAFT and transition is not Transition.VOID
    if issued:
        seller.require_details(account, transition.value.replace("-", " "), "the credit note")
        _finalize(session, account, note, invoice)
    if transition in (Transition.SEND, Transition.FINALIZE_AND_SEND):
        _send(session, account, note, email=True)
    elif transition is Transition.MARK_AS_SENT:
        _send(session, account, note, email=False)
    elif transition is Transition.VOID:
        if _has_applications(session, note):
            raise ReferenceInUse(
                f"Cannot void credit note {note.credit_note_number or note.id}: it has been "
                "applied to invoices, whose balances it lowered; an application cannot be undone."
            )
        if note.balance:
            note.balance = ZERO
            note.balance_version += 1
        note.status = VOIDED
        note.voided_at = utcnow()
    session.flush()
    audit.transitioned(session, note, transition.value, before)
    kind = NotificationType.CREDIT_NOTE_ISSUED if issued else NotificationType.CREDIT_NOTE_UPDATED
    emit(session, account_id, kind, CREDIT_NOTE, [note.id])
    return note
