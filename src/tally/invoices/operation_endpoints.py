"""/api/invoices operations beyond the lifecycle: the list summary, the account's render
settings, updating and merging drafts, payment reminders on request, currency conversions,
and the maintenance operations (fix-billing-runs, reconcile-with-integration).

Registered before `invoices.endpoints`: its `/invoices/{id}` would otherwise take
`/invoices/list-summary` and `/invoices/render-settings` for invoice ids."""

from typing import Any

from fastapi import Response

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.core.clock import local_today
from tally.invoices import (
    maintenance,
    merge,
    payment_reminders,
    queries,
    render_settings,
    service,
    updates,
)
from tally.invoices.endpoints import Filters
from tally.invoices.operation_schemas import (
    CurrencyConversionsOut,
    DraftInvoicePatch,
    DraftInvoiceUpdate,
    InvoiceListSummaryItem,
    MergeInvoicesIn,
    ReconcileWithIntegrationIn,
    RenderSettingsIn,
    RenderSettingsOut,
)
from tally.invoices.schemas import InvoiceOut
from tally.invoices.sorting import page_of_invoices
from tally.models import Account, Invoice
from tally.models.scoped import get_account

router = api_router(tags=["Invoices"])

_ACCEPTED: dict[int | str, dict[str, Any]] = {202: {"description": "Accepted"}}


def _out(session: DbSession, merchant: Account, invoice: Invoice) -> InvoiceOut:
    archived = service.archived_customers(session, merchant.id, [invoice])
    credits = service.credit_lines(session, merchant.id, [invoice.id])
    facts = queries.payment_facts(session, merchant.id, [invoice.id])
    today = local_today(merchant.timezone)
    return InvoiceOut.build(invoice, archived, today, credits[invoice.id], facts[invoice.id])


@router.get(
    "/invoices/list-summary",
    summary="List invoice summaries",
    description="The invoices the list's filters and sort select, with only the fields an "
    "invoice table shows (`grossTotal` in the invoice's currency).",
)
def list_invoice_summaries(
    account: CurrentAccount, session: ReplicaSession, paging: Paging, filters: Filters
) -> Page[InvoiceListSummaryItem]:
    today = local_today(get_account(session, account.account_id).timezone)
    query = service.filtered_invoices(account.account_id, filters, today, session)
    page = page_of_invoices(session, query, filters.sort, paging)
    return Page(
        items=[InvoiceListSummaryItem.build(invoice) for invoice in page.rows],
        pagination=page.pagination,
    )


@router.get(
    "/invoices/render-settings",
    summary="Get or create the invoice render settings",
    description="What the account's invoice PDFs show; made with the defaults (show the "
    "payment link and currency conversions) the first time.",
)
def get_render_settings(account: CurrentAccount, session: DbSession) -> RenderSettingsOut:
    return RenderSettingsOut.build(render_settings.get_or_create(session, account.account_id))


@router.put(
    "/invoices/render-settings/{id}",
    summary="Update the invoice render settings",
    description="`HIDE_PAYMENT_LINK` leaves the link to the invoice's page in the customer's "
    "portal (where it is viewed and paid) off its PDF. Currency conversions: Tally makes none, "
    "so `currencyConversionDisplay` is kept and shows nothing either way.",
)
def update_render_settings(
    id: str, body: RenderSettingsIn, account: CurrentAccount, session: DbSession
) -> RenderSettingsOut:
    settings = render_settings.update(session, account.account_id, id, body)
    return RenderSettingsOut.build(settings)


@router.post(
    "/invoices/merge",
    status_code=201,
    summary="Merge draft invoices",
    description="DRAFT invoices of one customer and currency become one new DRAFT with all "
    "their groups and lines (its totals are theirs added up); they are VOIDED, not deleted.",
)
def merge_invoices(
    body: MergeInvoicesIn, account: CurrentAccount, session: DbSession
) -> InvoiceOut:
    merchant = get_account(session, account.account_id)
    return _out(session, merchant, merge.merge(session, merchant, body.invoice_ids))


@router.post(
    "/invoices/fix-billing-runs",
    status_code=202,
    summary="Fix invoices' billing runs",
    description="Links each invoice a billing run wrote to that run where the invoice lost "
    "the link; nothing else changes.",
    response_class=Response,
    responses=_ACCEPTED,
)
def fix_billing_runs(account: CurrentAccount, session: DbSession) -> Response:
    maintenance.fix_billing_runs(session, account.account_id)
    return Response(status_code=202)


@router.post(
    "/invoices/reconcile-with-integration",
    status_code=202,
    summary="Reconcile invoices with an integration",
    description="Tally connects to no accounting integration, so there is nothing to "
    "reconcile: the invoices named must be the account's, and nothing changes.",
    response_class=Response,
    responses=_ACCEPTED,
)
def reconcile_with_integration(
    body: ReconcileWithIntegrationIn, account: CurrentAccount, session: DbSession
) -> Response:
    maintenance.reconcile_with_integration(session, account.account_id, body.invoice_ids)
    return Response(status_code=202)


@router.put(
    "/invoices/{id}",
    summary="Update a draft invoice",
    description="A DRAFT's dates, references, memo, the customer as billed, payment options, "
    "metadata, billing run and currency (its lines are recalculated in it); fields left out "
    "stay. Other statuses: 409.",
)
def update_invoice(
    id: str, body: DraftInvoiceUpdate, account: CurrentAccount, session: DbSession
) -> InvoiceOut:
    merchant = get_account(session, account.account_id)
    return _out(session, merchant, updates.update_draft(session, merchant, id, body.changes()))


@router.patch(
    "/invoices/{id}",
    summary="Patch a draft invoice",
    description="As PUT, without `currency`.",
)
def patch_invoice(
    id: str, body: DraftInvoicePatch, account: CurrentAccount, session: DbSession
) -> InvoiceOut:
    merchant = get_account(session, account.account_id)
    return _out(session, merchant, updates.update_draft(session, merchant, id, body.changes()))


@router.post(
    "/invoices/{id}/send-payment-reminder",
    summary="Send a payment reminder",
    description="Emails the invoice's customer emails a reminder with the invoice attached "
    "(the account's alert addresses in copy). SENT invoices that are UNPAID or "
    "PARTIALLY_PAID only. Once a day per invoice: a retry the same day sends nothing more.",
)
def send_payment_reminder(id: str, account: CurrentAccount, session: DbSession) -> InvoiceOut:
    merchant = get_account(session, account.account_id)
    invoice = payment_reminders.send_payment_reminder(session, merchant, id)
    return _out(session, merchant, invoice)


@router.get(
    "/invoices/{id}/currency-conversions",
    summary="List an invoice's currency conversions",
    description="Tally converts no invoice into another currency: always empty.",
)
def list_currency_conversions(
    id: str, account: CurrentAccount, session: ReplicaSession
) -> CurrencyConversionsOut:
    service.currency_of(session, account.account_id, id)  # 404 outside the account
    return CurrencyConversionsOut(items=[])
