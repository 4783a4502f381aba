"""/api/credit-notes (credit notes, their line items and groups, their lifecycle) and
/api/credit-note-applications (applying them to invoices)."""

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Query, Response
from sqlalchemy import func
from sqlalchemy.orm import Session

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import OrderedPaging, Paging, paginate, paginate_by_key
from tally.api.raw import documented_body, exact_body, json_response
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.billed import lines as billed
from tally.core.sql import sortable_decimal
from tally.credit_notes import applications, lines, service
from tally.credit_notes.presenters import credit_note_view, credit_note_views
from tally.credit_notes.schemas import (
    ApplicationCreate,
    ApplicationOut,
    BalanceOut,
    CreditNoteCreate,
    CreditNoteDetailOut,
    CreditNoteOut,
    CreditNoteUpdate,
    GroupCreate,
    GroupOut,
    GroupUpdate,
    LineItemCreate,
    LineItemOut,
    LineItemUpdate,
    VersionConflictOut,
)
from tally.credit_notes.service import Transition
from tally.engine.money import round_money
from tally.exceptions import InvalidRequest
from tally.models import CreditNote, CreditNoteLineItem, CreditNoteLineItemGroup, InvoiceStatus

router = api_router(tags=["Credit notes"])

_SEVERAL = "One value, or several separated by commas."


class SortBy(StrEnum):
    GROSS_TOTAL = "GROSS_TOTAL"
    CREDIT_NOTE_NUMBER = "CREDIT_NOTE_NUMBER"
    STATUS = "STATUS"


def _sort_key(session: Session, sort: SortBy) -> Any:
    """The sort's SQL expression, never NULL: amounts by value on both databases; drafts,
    which have no number yet, first ascending."""
    if sort is SortBy.GROSS_TOTAL:
        return sortable_decimal(session, CreditNote.gross_total)
    if sort is SortBy.CREDIT_NOTE_NUMBER:
        return func.coalesce(CreditNote.credit_note_number, "")
    return CreditNote.status


def _csv(raw: str | None) -> list[str] | None:
    values = [part.strip() for part in (raw or "").split(",") if part.strip()]
    return values or None


def credit_note_filters(
    status: Annotated[
        str | None, Query(alias="creditNoteStatus", description=f"{_SEVERAL} DRAFT,FINAL")
    ] = None,
    customer_id: Annotated[str | None, Query(alias="customerId", description=_SEVERAL)] = None,
    sent_before: Annotated[
        date | None, Query(alias="sentBefore", description="Sent before this day (local).")
    ] = None,
    sent_after: Annotated[
        date | None, Query(alias="sentAfter", description="Sent after this day (local).")
    ] = None,
    search: Annotated[
        str | None,
        Query(alias="searchCreditNoteNumber", description="Part of the number, any case."),
    ] = None,
) -> service.CreditNoteFilters:
    statuses = []
    for value in _csv(status) or []:
        try:
            statuses.append(InvoiceStatus(value.upper()))
        except ValueError as exc:
            raise InvalidRequest.field(
                "creditNoteStatus", f"{value!r} is not one of {', '.join(InvoiceStatus)}"
            ) from exc
    return service.CreditNoteFilters(
        statuses=statuses or None,
        customer_ids=_csv(customer_id),
        sent_before=sent_before,
        sent_after=sent_after,
        search=search,
    )


def sort_by(
    raw: Annotated[
        str | None,
        Query(
            alias="sortBy",
            description="GROSS_TOTAL, CREDIT_NOTE_NUMBER (drafts, without one, first "
            "ascending) or STATUS (DRAFT, FINAL, SENT, VOIDED: the lifecycle's order), in "
            "sortOrder, ties by creation; by creation when absent.",
        ),
    ] = None,
) -> SortBy | None:
    if raw is None:
        return None
    try:
        return SortBy(raw.upper())
    except ValueError as exc:
        raise InvalidRequest.field("sortBy", f"{raw!r} is not one of {', '.join(SortBy)}") from exc


Filters = Annotated[service.CreditNoteFilters, Depends(credit_note_filters)]
Sort = Annotated[SortBy | None, Depends(sort_by)]
ApplicationBody = Annotated[ApplicationCreate, Depends(exact_body(ApplicationCreate))]


def _one(session: Session, account_id: str, note_id: str) -> CreditNoteDetailOut:
    return credit_note_view(
        session, account_id, service.get_credit_note(session, account_id, note_id)
    )


@router.get("/credit-notes", summary="List credit notes")
def list_credit_notes(
    account: CurrentAccount, session: ReplicaSession, paging: Paging, filters: Filters, sort: Sort
) -> Page[CreditNoteOut]:
    query = service.filtered_credit_notes(session, account.account_id, filters)
    if sort is not None:
        page = paginate_by_key(session, query, _sort_key(session, sort), CreditNote.id, paging)
    else:
        page = paginate(session, query, CreditNote.id, paging)
    return Page(
        items=credit_note_views(session, account.account_id, page.rows),
        pagination=page.pagination,
    )


@router.post(
    "/credit-notes",
    status_code=201,
    summary="Create a credit note",
    description="A DRAFT credit note against a SENT invoice of the customer, in its currency; "
    "the customer's details are the invoice's unless given.",
)
def create_credit_note(
    body: CreditNoteCreate, account: CurrentAccount, session: DbSession
) -> CreditNoteDetailOut:
    note = service.create_credit_note(session, account.account_id, body)
    return _one(session, account.account_id, note.id)


@router.get(
    "/credit-notes/{id}",
    summary="Get a credit note",
    description="Sequence's credit note, plus its `lineItems` and `lineItemGroups` in order.",
)
def get_credit_note(id: str, account: CurrentAccount, session: DbSession) -> CreditNoteDetailOut:
    return _one(session, account.account_id, id)


@router.put("/credit-notes/{id}", summary="Update a draft credit note")
def update_credit_note(
    id: str, body: CreditNoteUpdate, account: CurrentAccount, session: DbSession
) -> CreditNoteDetailOut:
    service.update_credit_note(session, account.account_id, id, body)
    return _one(session, account.account_id, id)


@router.delete(
    "/credit-notes/{id}",
    summary="Delete a draft credit note",
    description="Only a DRAFT; answers it as it was.",
)
def delete_credit_note(id: str, account: CurrentAccount, session: DbSession) -> CreditNoteDetailOut:
    note = service.delete_credit_note(session, account.account_id, id)
    return credit_note_view(session, account.account_id, note)


def _transition(
    session: Session, account_id: str, note_id: str, transition: Transition
) -> CreditNoteDetailOut:
    service.transition(session, account_id, note_id, transition)
    return _one(session, account_id, note_id)


@router.post(
    "/credit-notes/{id}/finalize",
    summary="Finalize a credit note",
    description="DRAFT -> FINAL: its number (the account's credit note prefix, gapless), "
    "issue date, and a balance to apply to invoices.",
)
def finalize(id: str, account: CurrentAccount, session: DbSession) -> CreditNoteDetailOut:
    return _transition(session, account.account_id, id, Transition.FINALIZE)


@router.post(
    "/credit-notes/{id}/send",
    summary="Send a credit note",
    description="FINAL -> SENT: emailed with its PDF to its customer emails.",
)
def send(id: str, account: CurrentAccount, session: DbSession) -> CreditNoteDetailOut:
    return _transition(session, account.account_id, id, Transition.SEND)


@router.post(
    "/credit-notes/{id}/finalize-and-send",
    summary="Finalize and send a credit note",
    description="DRAFT -> SENT: finalized, then emailed.",
)
def finalize_and_send(id: str, account: CurrentAccount, session: DbSession) -> CreditNoteDetailOut:
    return _transition(session, account.account_id, id, Transition.FINALIZE_AND_SEND)


@router.post(
    "/credit-notes/{id}/mark-as-sent",
    summary="Mark a credit note as sent",
    description="DRAFT or FINAL -> SENT (finalized first if needed), without an email.",
)
def mark_as_sent(id: str, account: CurrentAccount, session: DbSession) -> CreditNoteDetailOut:
    return _transition(session, account.account_id, id, Transition.MARK_AS_SENT)


@router.post(
    "/credit-notes/{id}/void",
    summary="Void a credit note",
    description="DRAFT, FINAL or SENT -> VOIDED, unless it has been applied to an invoice.",
)
def void(id: str, account: CurrentAccount, session: DbSession) -> CreditNoteDetailOut:
    return _transition(session, account.account_id, id, Transition.VOID)


# --- line items and groups -------------------------------------------------------------------


def _currency(session: Session, account_id: str, note_id: str) -> str:
    return billed.currency_of(session, CreditNote, account_id, note_id)


@router.get(
    "/credit-notes/{creditnote}/line-items",
    summary="List a credit note's line items",
    description="In the credit note's order (`index`); `sortOrder=DESC` reverses it.",
)
def list_line_items(
    creditnote: str, account: CurrentAccount, session: ReplicaSession, paging: OrderedPaging
) -> Page[LineItemOut]:
    parent = CreditNoteLineItem.credit_note_id
    return billed.page_of(
        session, CreditNote, parent, account.account_id, creditnote, paging, LineItemOut.build
    )


@router.post(
    "/credit-notes/{creditnote}/line-items",
    status_code=201,
    summary="Add a line item to a draft credit note",
    description="`lineItemId` names the invoice line it credits: over the invoice's credit "
    "notes, never more than that line's amount.",
)
def create_line_item(
    creditnote: str, body: LineItemCreate, account: CurrentAccount, session: DbSession
) -> LineItemOut:
    line = lines.add_line(session, account.account_id, creditnote, body)
    return LineItemOut.build(line, _currency(session, account.account_id, creditnote))


@router.put("/credit-notes/{creditnote}/line-items/{id}", summary="Update a draft's line item")
def update_line_item(
    creditnote: str, id: str, body: LineItemUpdate, account: CurrentAccount, session: DbSession
) -> LineItemOut:
    line = lines.update_line(session, account.account_id, creditnote, id, body)
    return LineItemOut.build(line, _currency(session, account.account_id, creditnote))


@router.delete("/credit-notes/{creditnote}/line-items/{id}", summary="Delete a draft's line item")
def delete_line_item(
    creditnote: str, id: str, account: CurrentAccount, session: DbSession
) -> LineItemOut:
    line = lines.delete_line(session, account.account_id, creditnote, id)
    return LineItemOut.build(line, _currency(session, account.account_id, creditnote))


@router.get(
    "/credit-notes/{creditnote}/line-item-groups",
    summary="List a credit note's line item groups",
    description="In the credit note's order (`index`); `sortOrder=DESC` reverses it.",
)
def list_line_item_groups(
    creditnote: str, account: CurrentAccount, session: ReplicaSession, paging: OrderedPaging
) -> Page[GroupOut]:
    parent = CreditNoteLineItemGroup.credit_note_id
    return billed.page_of(
        session, CreditNote, parent, account.account_id, creditnote, paging, GroupOut.build
    )


@router.post(
    "/credit-notes/{creditnote}/line-item-groups",
    status_code=201,
    summary="Add a line item group to a draft credit note",
)
def create_line_item_group(
    creditnote: str, body: GroupCreate, account: CurrentAccount, session: DbSession
) -> GroupOut:
    group = lines.add_group(session, account.account_id, creditnote, body)
    return GroupOut.build(group, _currency(session, account.account_id, creditnote))


@router.put(
    "/credit-notes/{creditnote}/line-item-groups/{id}", summary="Update a draft's line item group"
)
def update_line_item_group(
    creditnote: str, id: str, body: GroupUpdate, account: CurrentAccount, session: DbSession
) -> GroupOut:
    group = lines.update_group(session, account.account_id, creditnote, id, body)
    return GroupOut.build(group, _currency(session, account.account_id, creditnote))


@router.delete(
    "/credit-notes/{creditnote}/line-item-groups/{id}",
    summary="Delete a draft's line item group",
    description="Its line items go with it.",
)
def delete_line_item_group(
    creditnote: str, id: str, account: CurrentAccount, session: DbSession
) -> GroupOut:
    group = lines.delete_group(session, account.account_id, creditnote, id)
    return GroupOut.build(group, _currency(session, account.account_id, creditnote))


# --- applications ----------------------------------------------------------------------------


def _balance(balance: applications.Balance) -> BalanceOut:
    value = round_money(balance.value, balance.currency)
    return BalanceOut(value=value, currency=balance.currency, version=balance.version)


@router.post(
    "/credit-note-applications",
    status_code=201,
    summary="Apply a credit note to an invoice",
    description="Lowers both balances by `amount` in one transaction, if both balance "
    "versions are the current ones; 409 otherwise, with both current balances.",
    openapi_extra=documented_body(ApplicationCreate),
    responses={
        201: {"model": ApplicationOut},
        409: {"model": VersionConflictOut, "description": "A balance version is stale"},
    },
)
def apply_credit_note(
    body: ApplicationBody, account: CurrentAccount, session: DbSession
) -> Response:
    try:
        applied = applications.apply(session, account.account_id, body)
    except applications.VersionConflict as conflict:
        # Sequence's VersionConflictResponse, inside Tally's error shape. Nothing was changed.
        session.rollback()
        refused = VersionConflictOut(
            error={"type": conflict.error_type, "message": conflict.message},
            message=conflict.message,
            current_invoice_balance=_balance(conflict.invoice),
            current_credit_note_balance=_balance(conflict.credit_note),
        )
        return json_response(_plain(refused), status_code=409)
    application = applied.application
    out = ApplicationOut(
        ledger_transaction_id=application.id,
        credit_note_id=application.credit_note_id,
        invoice_id=application.invoice_id,
        amount=round_money(application.amount, application.currency),
        currency=application.currency,
        applied_at=application.applied_at,
        invoice_balance=_balance(applied.invoice),
        credit_note_balance=_balance(applied.credit_note),
    )
    return json_response(_plain(out), status_code=201)


def _plain(out: Any) -> Any:
    """Python values (Decimals kept, to be written as exact JSON numbers), camelCase keys."""
    return out.model_dump(by_alias=True)
