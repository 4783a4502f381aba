"""/api/invoices: invoices, their line items and line item groups; one-off invoices and
edits of drafts; the lifecycle (finalize, send, void, payment status ...); the summary."""

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Response
from sqlalchemy.orm import Session

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import OrderedPaging, Paging
from tally.api.raw import json_response
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.api.types import Currency
from tally.billed import lines
from tally.core.clock import local_today
from tally.exceptions import InvalidRequest
from tally.invoices import drafts, lifecycle, queries, service
from tally.invoices.schemas import (
    CurrencyTotal,
    InvoiceCreate,
    InvoiceDetailOut,
    InvoiceOut,
    InvoiceSummaryOut,
    LineItemGroupIn,
    LineItemGroupOut,
    LineItemGroupUpdate,
    LineItemIn,
    LineItemOut,
    PaymentStatusIn,
    SentInvoicePatch,
)
from tally.invoices.sorting import page_of_invoices, parse_sort
from tally.models import (
    Account,
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    InvoiceStatus,
    PaymentStatus,
)
from tally.models.scoped import get_account
from tally.workflows import upcoming

router = api_router(tags=["Invoices"])

EnumT = TypeVar("EnumT", bound=StrEnum)

_SEVERAL = "One value, or several separated by commas."


def _csv(raw: str | None) -> list[str] | None:
    values = [part.strip() for part in (raw or "").split(",") if part.strip()]
    return values or None


def _enums(raw: str | None, kind: type[EnumT], field: str) -> list[EnumT] | None:
    found = []
    for value in _csv(raw) or []:
        try:
            found.append(kind(value.upper()))
        except ValueError as exc:
            raise InvalidRequest.field(field, f"{value!r} is not one of {', '.join(kind)}") from exc
    return found or None


def _currencies(raw: str | None, field: str) -> list[str] | None:
    currencies = _enums(raw, Currency, field)
    return [currency.value for currency in currencies] if currencies else None


def invoice_filters(
    invoice_status: Annotated[
        str | None, Query(alias="invoiceStatus", description=f"{_SEVERAL} DRAFT,FINAL")
    ] = None,
    exclude_invoice_status: Annotated[
        str | None, Query(alias="excludeInvoiceStatus", description=_SEVERAL)
    ] = None,
    payment_status: Annotated[
        str | None, Query(alias="invoicePaymentStatus", description=_SEVERAL)
    ] = None,
    exclude_payment_status: Annotated[
        str | None, Query(alias="excludeInvoicePaymentStatus", description=_SEVERAL)
    ] = None,
    customer_id: Annotated[str | None, Query(alias="customerId", description=_SEVERAL)] = None,
    exclude_customer_id: Annotated[
        str | None, Query(alias="excludeCustomerId", description=_SEVERAL)
    ] = None,
    billing_schedule_id: Annotated[
        str | None, Query(alias="billingScheduleId", description=_SEVERAL)
    ] = None,
    exclude_billing_schedule_id: Annotated[
        str | None, Query(alias="excludeBillingScheduleId", description=_SEVERAL)
    ] = None,
    currency: Annotated[
        str | None, Query(alias="invoiceCurrency", description=f"{_SEVERAL} GBP,EUR")
    ] = None,
    exclude_currency: Annotated[
        str | None, Query(alias="excludeInvoiceCurrency", description=_SEVERAL)
    ] = None,
    due_before: Annotated[date | None, Query(alias="dueBefore")] = None,
    due_after: Annotated[date | None, Query(alias="dueAfter")] = None,
    invoice_before: Annotated[
        date | None, Query(alias="invoiceBefore", description="On the invoice date.")
    ] = None,
    invoice_after: Annotated[date | None, Query(alias="invoiceAfter")] = None,
    sent_before: Annotated[
        date | None, Query(alias="sentBefore", description="On the issue date.")
    ] = None,
    sent_after: Annotated[date | None, Query(alias="sentAfter")] = None,
    invoice_number: Annotated[str | None, Query(alias="invoiceNumber")] = None,
    exclude_invoice_number: Annotated[
        str | None, Query(alias="excludeInvoiceNumber", description=_SEVERAL)
    ] = None,
    search: Annotated[
        str | None, Query(description="Part of the invoice number, any case.")
    ] = None,
    exclude_search: Annotated[
        str | None,
        Query(
            alias="excludeSearch",
            description="Leave out invoices whose number contains this (any case); invoices "
            "without a number yet stay.",
        ),
    ] = None,
    sort_by: Annotated[
        str | None,
        Query(
            alias="sortBy",
            description="Lists: CUSTOMER_LEGAL_COMPANY_NAME, GROSS_TOTAL, ACCOUNTING_DATE, "
            "DUE_DATE or ISSUE_DATE (in sortOrder, ties by creation); by creation when absent.",
        ),
    ] = None,
    net_total: Annotated[
        Decimal | None,
        Query(alias="netTotal", description="Exactly this net total.", allow_inf_nan=False),
    ] = None,
    exclude_net_total: Annotated[
        Decimal | None,
        Query(alias="excludeNetTotal", description="Not this net total.", allow_inf_nan=False),
    ] = None,
    exclude_zero_quantity: Annotated[
        bool,
        Query(
            alias="excludeZeroQuantity",
            description="true: leave out invoices none of whose lines has a quantity (every "
            "line at zero, or no line).",
        ),
    ] = False,
    overdue: Annotated[
        bool | None,
        Query(
            description="Tally: true for overdue invoices only (SENT, UNPAID or "
            "PARTIALLY_PAID, due before today in the account's time zone), false for the others."
        ),
    ] = None,
) -> service.InvoiceFilters:
    """Sequence's list filters; dates compare strictly (before 2024-05-01: up to April 30)."""
    return service.InvoiceFilters(
        statuses=_enums(invoice_status, InvoiceStatus, "invoiceStatus"),
        excluded_statuses=_enums(exclude_invoice_status, InvoiceStatus, "excludeInvoiceStatus"),
        payment_statuses=_enums(payment_status, PaymentStatus, "invoicePaymentStatus"),
        excluded_payment_statuses=_enums(
            exclude_payment_status, PaymentStatus, "excludeInvoicePaymentStatus"
        ),
        customer_ids=_csv(customer_id),
        excluded_customer_ids=_csv(exclude_customer_id),
        billing_schedule_ids=_csv(billing_schedule_id),
        excluded_billing_schedule_ids=_csv(exclude_billing_schedule_id),
        currencies=_currencies(currency, "invoiceCurrency"),
        excluded_currencies=_currencies(exclude_currency, "excludeInvoiceCurrency"),
        due_before=due_before,
        due_after=due_after,
        invoice_before=invoice_before,
        invoice_after=invoice_after,
        sent_before=sent_before,
        sent_after=sent_after,
        invoice_number=invoice_number,
        excluded_invoice_numbers=_csv(exclude_invoice_number),
        search=search,
        exclude_search=exclude_search,
        overdue=overdue,
        net_total=net_total,
        excluded_net_total=exclude_net_total,
        exclude_zero_quantity=exclude_zero_quantity,
        sort=parse_sort(sort_by),
    )


Filters = Annotated[service.InvoiceFilters, Depends(invoice_filters)]


def _merchant(session: Session, account: CurrentAccount) -> Account:
    return get_account(session, account.account_id)


def _out(session: Session, merchant: Account, invoice: Invoice) -> InvoiceOut:
    archived = service.archived_customers(session, merchant.id, [invoice])
    credits = service.credit_lines(session, merchant.id, [invoice.id])
    facts = queries.payment_facts(session, merchant.id, [invoice.id])
    today = local_today(merchant.timezone)
    return InvoiceOut.build(invoice, archived, today, credits[invoice.id], facts[invoice.id])


@router.get("/invoices", summary="List invoices")
def list_invoices(
    account: CurrentAccount, session: ReplicaSession, paging: Paging, filters: Filters
) -> Page[InvoiceOut]:
    today = local_today(_merchant(session, account).timezone)
    query = service.filtered_invoices(account.account_id, filters, today, session)
    page = page_of_invoices(session, query, filters.sort, paging)
    archived = service.archived_customers(session, account.account_id, page.rows)
    ids = [invoice.id for invoice in page.rows]
    credits = service.credit_lines(session, account.account_id, ids)
    facts = queries.payment_facts(session, account.account_id, ids)
    return Page(
        items=[
            InvoiceOut.build(invoice, archived, today, credits[invoice.id], facts[invoice.id])
            for invoice in page.rows
        ],
        pagination=page.pagination,
    )


@router.post("/invoices", status_code=201, summary="Create a one-off invoice")
def create_invoice(body: InvoiceCreate, account: CurrentAccount, session: DbSession) -> InvoiceOut:
    """A DRAFT invoice with no lines yet; its customer fields default to the customer's."""
    merchant = _merchant(session, account)
    return _out(session, merchant, drafts.create_invoice(session, merchant, body))


@router.get(
    "/invoices/summary",
    summary="Invoice totals per currency",
    description="Count and gross total of the invoices matching the list's filters, per "
    "currency; `grossTotal` is an exact JSON number.",
    response_model=None,
    responses={200: {"model": InvoiceSummaryOut}},
)
def invoice_summary(account: CurrentAccount, session: DbSession, filters: Filters) -> Response:
    today = local_today(_merchant(session, account).timezone)
    totals = service.summary(session, account.account_id, filters, today)
    out = InvoiceSummaryOut(
        totals_by_currency=[
            CurrencyTotal(
                currency=t.currency, invoice_count=t.invoice_count, gross_total=t.gross_total
            )
            for t in totals
        ]
    )
    data: dict[str, Any] = out.model_dump(by_alias=True)  # Decimals stay Decimals: numbers
    return json_response(data)


@router.get(
    "/invoices/{id}",
    summary="Get an invoice",
    description="Sequence's invoice, plus its `lineItems` and `lineItemGroups` in order.",
)
def get_invoice(id: str, account: CurrentAccount, session: DbSession) -> InvoiceDetailOut:
    merchant = _merchant(session, account)
    invoice = service.get_invoice(session, account.account_id, id)
    archived = service.archived_customers(session, account.account_id, [invoice])
    facts = queries.payment_facts(session, account.account_id, [invoice.id])
    today = local_today(merchant.timezone)
    return InvoiceDetailOut.build_detail(invoice, archived, today, facts[invoice.id])


@router.delete(
    "/invoices/{id}",
    summary="Delete a draft or in-progress invoice",
    description="Only DRAFT and IN_PROGRESS invoices; answers the invoice as it was. An "
    "invoice billing wrote is written anew by billing's next run (to stop billing a period, "
    "void its draft instead).",
)
def delete_invoice(id: str, account: CurrentAccount, session: DbSession) -> InvoiceOut:
    merchant = _merchant(session, account)
    return _out(session, merchant, lifecycle.delete_invoice(session, merchant, id))


@router.post(
    "/invoices/{id}/finalize",
    summary="Finalize an invoice",
    description="A DRAFT becomes FINAL: its number (gapless, the account's prefix), issued "
    "today, due after its payment terms, no more edits.",
)
def finalize_invoice(id: str, account: CurrentAccount, session: DbSession) -> InvoiceOut:
    merchant = _merchant(session, account)
    return _out(session, merchant, lifecycle.finalize_invoice(session, merchant, id))


@router.post(
    "/invoices/{id}/send",
    summary="Send an invoice",
    description="A FINAL invoice becomes SENT and is emailed, with its PDF, to the customer's "
    "billing contacts (`customerEmails`).",
)
def send_invoice(id: str, account: CurrentAccount, session: DbSession) -> InvoiceOut:
    merchant = _merchant(session, account)
    invoice = lifecycle.send(session, merchant, id, finalizing=False, email=True)
    return _out(session, merchant, invoice)


@router.post(
    "/invoices/{id}/finalize-and-send",
    summary="Finalize and send an invoice",
    description="Finalizes a DRAFT, then sends it as `send` does (a FINAL one is just sent).",
)
def finalize_and_send_invoice(id: str, account: CurrentAccount, session: DbSession) -> InvoiceOut:
    merchant = _merchant(session, account)
    invoice = lifecycle.send(session, merchant, id, finalizing=True, email=True)
    return _out(session, merchant, invoice)


@router.post(
    "/invoices/{id}/mark-as-sent",
    summary="Mark an invoice as sent",
    description="Finalizes it if need be and records it as SENT, without emailing anyone.",
)
def mark_invoice_as_sent(id: str, account: CurrentAccount, session: DbSession) -> InvoiceOut:
    merchant = _merchant(session, account)
    invoice = lifecycle.send(session, merchant, id, finalizing=True, email=False)
    return _out(session, merchant, invoice)


@router.post(
    "/invoices/{id}/void",
    summary="Void an invoice",
    description="DRAFT, FINAL, or SENT while UNPAID or UNCOLLECTIBLE. A draft stays "
    "unnumbered: numbers are for issued invoices.",
)
def void_invoice(id: str, account: CurrentAccount, session: DbSession) -> InvoiceOut:
    merchant = _merchant(session, account)
    return _out(session, merchant, lifecycle.void(session, merchant, id))


@router.post(
    "/invoices/{id}/draft",
    summary="Turn an in-progress invoice into a draft",
    description="Recalculates the upcoming IN_PROGRESS invoice from the usage so far and "
    "makes it a DRAFT; billing leaves it alone from then on.",
)
def draft_invoice(id: str, account: CurrentAccount, session: DbSession) -> InvoiceOut:
    merchant = _merchant(session, account)
    return _out(session, merchant, upcoming.to_draft(session, merchant, id))


@router.put(
    "/invoices/{id}/payment-status",
    summary="Update an invoice's payment status",
    description="On FINAL and SENT invoices only.",
)
def update_payment_status(
    id: str, body: PaymentStatusIn, account: CurrentAccount, session: DbSession
) -> InvoiceOut:
    merchant = _merchant(session, account)
    invoice = lifecycle.set_payment_status(session, merchant, id, body.payment_status)
    return _out(session, merchant, invoice)


@router.patch(
    "/invoices/{id}/sent",
    summary="Patch a sent invoice",
    description="Purchase order number, billing address, memo, reference and due date only. "
    "A due date becomes MANUAL and clears the payment terms; it cannot be cleared.",
)
def patch_sent_invoice(
    id: str, body: SentInvoicePatch, account: CurrentAccount, session: DbSession
) -> InvoiceOut:
    merchant = _merchant(session, account)
    changes: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if name == "customer_billing_address":
            value = value.model_dump(mode="json", exclude_none=True)
        changes[name] = value
    return _out(session, merchant, lifecycle.patch_sent(session, merchant, id, changes))


@router.get(
    "/invoices/{invoice}/line-items",
    summary="List an invoice's line items",
    description="In the invoice's order (`index`); `sortOrder=DESC` reverses it.",
)
def list_line_items(
    invoice: str, account: CurrentAccount, session: ReplicaSession, paging: OrderedPaging
) -> Page[LineItemOut]:
    parent = InvoiceLineItem.invoice_id
    return lines.page_of(
        session, Invoice, parent, account.account_id, invoice, paging, LineItemOut.build
    )


@router.get(
    "/invoices/{invoice}/line-item-groups",
    summary="List an invoice's line item groups",
    description="In the invoice's order (`index`); `sortOrder=DESC` reverses it.",
)
def list_line_item_groups(
    invoice: str, account: CurrentAccount, session: ReplicaSession, paging: OrderedPaging
) -> Page[LineItemGroupOut]:
    parent = InvoiceLineItemGroup.invoice_id
    return lines.page_of(
        session, Invoice, parent, account.account_id, invoice, paging, LineItemGroupOut.build
    )


@router.post(
    "/invoices/{invoice}/line-items",
    status_code=201,
    summary="Add a line item to a draft",
    description="Net = quantity x rate, tax = net x taxRate, each rounded half up to the "
    "currency's minor unit; the invoice's totals follow.",
)
def create_line_item(
    invoice: str, body: LineItemIn, account: CurrentAccount, session: DbSession
) -> LineItemOut:
    merchant = _merchant(session, account)
    draft, line = drafts.add_line(session, merchant, invoice, body)
    return LineItemOut.build(line, draft.currency)


@router.put("/invoices/{invoice}/line-items/{id}", summary="Update a draft's line item")
def update_line_item(
    invoice: str, id: str, body: LineItemIn, account: CurrentAccount, session: DbSession
) -> LineItemOut:
    merchant = _merchant(session, account)
    draft, line = drafts.update_line(session, merchant, invoice, id, body)
    return LineItemOut.build(line, draft.currency)


@router.delete("/invoices/{invoice}/line-items/{id}", summary="Delete a draft's line item")
def delete_line_item(
    invoice: str, id: str, account: CurrentAccount, session: DbSession
) -> LineItemOut:
    merchant = _merchant(session, account)
    draft, line = drafts.delete_line(session, merchant, invoice, id)
    return LineItemOut.build(line, draft.currency)


@router.post(
    "/invoices/{invoice}/line-item-groups",
    status_code=201,
    summary="Add a line item group to a draft",
)
def create_line_item_group(
    invoice: str, body: LineItemGroupIn, account: CurrentAccount, session: DbSession
) -> LineItemGroupOut:
    merchant = _merchant(session, account)
    draft, group = drafts.add_group(session, merchant, invoice, body)
    return LineItemGroupOut.build(group, draft.currency)


@router.put(
    "/invoices/{invoice}/line-item-groups/{id}",
    summary="Update a draft's line item group",
    description="`index` moves the group; the others close up.",
)
def update_line_item_group(
    invoice: str, id: str, body: LineItemGroupUpdate, account: CurrentAccount, session: DbSession
) -> LineItemGroupOut:
    merchant = _merchant(session, account)
    draft, group = drafts.update_group(session, merchant, invoice, id, body)
    return LineItemGroupOut.build(group, draft.currency)


@router.delete(
    "/invoices/{invoice}/line-item-groups/{id}",
    summary="Delete a draft's line item group",
    description="With the lines in it.",
)
def delete_line_item_group(
    invoice: str, id: str, account: CurrentAccount, session: DbSession
) -> LineItemGroupOut:
    merchant = _merchant(session, account)
    draft, group = drafts.delete_group(session, merchant, invoice, id)
    return LineItemGroupOut.build(group, draft.currency)
