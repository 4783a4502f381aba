"""/api/invoices: reading invoices, their line items and line item groups."""

from datetime import date
from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import Depends, Query

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession
from tally.api.pagination import OrderedPaging, Paging, paginate, paginate_ordered
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.api.types import Currency
from tally.exceptions import InvalidRequest
from tally.invoices import service
from tally.invoices.schemas import InvoiceDetailOut, InvoiceOut, LineItemGroupOut, LineItemOut
from tally.models import (
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    InvoiceStatus,
    PaymentStatus,
)

router = api_router(tags=["Invoices"])

EnumT = TypeVar("EnumT", bound=StrEnum)

_SEVERAL = "One value, or several separated by commas."
_NOT_YET = "Not supported yet: refused when given."


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
    sort_by: Annotated[str | None, Query(alias="sortBy", description=_NOT_YET)] = None,
    net_total: Annotated[str | None, Query(alias="netTotal", description=_NOT_YET)] = None,
    exclude_net_total: Annotated[
        str | None, Query(alias="excludeNetTotal", description=_NOT_YET)
    ] = None,
    exclude_zero_quantity: Annotated[
        bool, Query(alias="excludeZeroQuantity", description=f"{_NOT_YET} (true)")
    ] = False,
) -> service.InvoiceFilters:
    """Sequence's list filters; dates compare strictly (before 2024-05-01: up to April 30).

    Those Tally does not support yet are refused rather than ignored, so a client never takes
    an unfiltered or unsorted list for the one it asked for."""
    for field, given in (
        ("sortBy", sort_by is not None),
        ("netTotal", net_total is not None),
        ("excludeNetTotal", exclude_net_total is not None),
        ("excludeZeroQuantity", exclude_zero_quantity),
    ):
        if given:
            raise InvalidRequest.field(field, "is not supported by Tally yet; leave it out")
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
    )


Filters = Annotated[service.InvoiceFilters, Depends(invoice_filters)]


@router.get("/invoices", summary="List invoices")
def list_invoices(
    account: CurrentAccount, session: DbSession, paging: Paging, filters: Filters
) -> Page[InvoiceOut]:
    query = service.filtered_invoices(account.account_id, filters)
    page = paginate(session, query, Invoice.id, paging)
    archived = service.archived_customers(session, account.account_id, page.rows)
    return Page(
        items=[InvoiceOut.build(invoice, archived) for invoice in page.rows],
        pagination=page.pagination,
    )


@router.get(
    "/invoices/{id}",
    summary="Get an invoice",
    description="Sequence's invoice, plus its `lineItems` and `lineItemGroups` in order.",
)
def get_invoice(id: str, account: CurrentAccount, session: DbSession) -> InvoiceDetailOut:
    invoice = service.get_invoice(session, account.account_id, id)
    archived = service.archived_customers(session, account.account_id, [invoice])
    return InvoiceDetailOut.build_detail(invoice, archived)


@router.get(
    "/invoices/{invoice}/line-items",
    summary="List an invoice's line items",
    description="In the invoice's order (`index`); `sortOrder=DESC` reverses it.",
)
def list_line_items(
    invoice: str, account: CurrentAccount, session: DbSession, paging: OrderedPaging
) -> Page[LineItemOut]:
    currency = service.currency_of(session, account.account_id, invoice)
    query = service.line_items_query(account.account_id, invoice)
    page = paginate_ordered(session, query, InvoiceLineItem.index, InvoiceLineItem.id, paging)
    return Page(
        items=[LineItemOut.build(line, currency) for line in page.rows],
        pagination=page.pagination,
    )


@router.get(
    "/invoices/{invoice}/line-item-groups",
    summary="List an invoice's line item groups",
    description="In the invoice's order (`index`); `sortOrder=DESC` reverses it.",
)
def list_line_item_groups(
    invoice: str, account: CurrentAccount, session: DbSession, paging: OrderedPaging
) -> Page[LineItemGroupOut]:
    currency = service.currency_of(session, account.account_id, invoice)
    query = service.groups_query(account.account_id, invoice)
    page = paginate_ordered(
        session, query, InvoiceLineItemGroup.index, InvoiceLineItemGroup.id, paging
    )
    return Page(
        items=[LineItemGroupOut.build(group, currency) for group in page.rows],
        pagination=page.pagination,
    )
