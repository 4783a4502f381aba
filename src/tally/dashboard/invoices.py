"""The dashboard's Invoices section: the list with the API's filters and a summary per
currency; one invoice as its document (the template the PDF and the portal render); its
lifecycle (finalize, send, mark as sent, void after a confirmation, payment status); its PDF
and its page in the customer's portal.

Every read and write is the API's own: the filters are built by the API's `invoice_filters`
from the same query parameters, the list and summary by `invoices.service`, transitions by
`invoices.lifecycle` (its 409 message is shown on the invoice page, nothing changed), the
document and PDF by `documents.render`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from tally.api.deps import DbSession, get_database
from tally.api.downloads import download
from tally.api.pagination import PageParams, paginate
from tally.billing.scheduler import bill_account
from tally.core.clock import local_today
from tally.customers.queries import customer_choices
from tally.dashboard import activity, invoice_lines, sessions
from tally.dashboard import collection as collection_view
from tally.dashboard.activity import recent
from tally.dashboard.form_errors import Problems
from tally.dashboard.labels import choices, label
from tally.dashboard.payments_view import METHODS, invoice_section
from tally.dashboard.web import HOME, DashboardPageError, PostedForm, SignedInViewer, render
from tally.db import REQUEST_STATE, TRACE_ID, Database
from tally.documents import render as documents
from tally.documents.links import invoice_path, portal_url
from tally.einvoice.service import Syntax, e_invoice_file, factur_x_xml
from tally.exceptions import (
    BadRequest,
    Conflict,
    IncompleteEInvoice,
    InvalidRequest,
    NotFound,
    NotIssued,
)
from tally.invoices import lifecycle, service
from tally.invoices.endpoints import invoice_filters
from tally.invoices.queries import invoice_is_overdue
from tally.invoices.schemas import PaymentStatusIn
from tally.models import Invoice, InvoiceStatus, PaymentStatus
from tally.models.scoped import get_account
from tally.ops.logging import request_id
from tally.schedules.queries import schedule_names
from tally.settings import Settings

INVOICES = HOME + "/invoices"
PAGE_SIZE = 20

router = APIRouter(prefix=INVOICES, include_in_schema=False)
router.include_router(invoice_lines.router)  # a draft's lines, edited from its page
Db = Annotated[Database, Depends(get_database)]

# The list's filters: the API's query parameters, as the API names them.
TEXT_FILTERS = (
    "invoiceStatus",
    "invoicePaymentStatus",
    "customerId",
    "invoiceCurrency",
    "search",
    "overdue",
)
DATE_FILTERS = ("invoiceAfter", "invoiceBefore", "dueAfter", "dueBefore")
DATE_LABELS = {
    "invoiceAfter": "Invoice date after",
    "invoiceBefore": "Invoice date before",
    "dueAfter": "Due after",
    "dueBefore": "Due before",
}
# What a finished action says on the page it leads to (`?done=`): fixed texts only.
DONE = {
    "finalized": "Invoice finalized: it has its number now.",
    "sent": "Invoice sent to the customer's billing contacts.",
    "marked-sent": "Invoice recorded as sent (nobody was emailed).",
    "voided": "Invoice voided.",
    "payment": "Payment status updated.",
    "payment-recorded": "Payment recorded.",
    "reminded": "Payment reminder emailed to the customer's billing contacts.",
    "refunded": "Refund recorded, with a credit note that documents it.",
    "collection-paused": "Automatic collection paused: no charge is made until it is resumed.",
    "collection-resumed": "Automatic collection resumed.",
    "line-added": "Line added: the totals are recalculated.",
    "line-changed": "Line saved: the totals are recalculated.",
    "line-deleted": "Line deleted: the totals are recalculated.",
}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _sentence(error: InvalidRequest | BadRequest) -> str:
    return error.message if error.message.endswith(".") else error.message + "."


# --- the list --------------------------------------------------------------------------------


def _filters(query: dict[str, str], today: date) -> service.InvoiceFilters:
    """The API's filters from the list form's fields (InvalidRequest when one is wrong)."""
    days: dict[str, date | None] = {}
    for name in DATE_FILTERS:
        raw = query.get(name, "").strip()
        try:
            days[name] = date.fromisoformat(raw) if raw else None
        except ValueError as error:
            raise InvalidRequest.field(name, f"{raw!r} is not a date (YYYY-MM-DD)") from error
    overdue = {"true": True, "false": False}.get(query.get("overdue", ""))
    return invoice_filters(
        invoice_status=query.get("invoiceStatus") or None,
        payment_status=query.get("invoicePaymentStatus") or None,
        customer_id=query.get("customerId") or None,
        currency=query.get("invoiceCurrency") or None,
        due_before=days["dueBefore"],
        due_after=days["dueAfter"],
        invoice_before=days["invoiceBefore"],
        invoice_after=days["invoiceAfter"],
        search=query.get("search") or None,
        overdue=overdue,
    )


def _payment_badge(invoice: Invoice, today: date) -> tuple[str, str]:
    if invoice.status not in lifecycle.ISSUED_STATUSES:
        return ("", "")
    if invoice.payment_status is PaymentStatus.PAID:
        return ("Paid", "badge-paid")
    if invoice_is_overdue(invoice, today):  # the list's `overdue` filter, for one row
        return ("Overdue", "badge-overdue")
    return (label(invoice.payment_status), "badge-outstanding")


def _row(invoice: Invoice, today: date) -> dict[str, Any]:
    fmt = documents.Formatter(invoice.currency)
    return {
        "id": invoice.id,
        "number": invoice.invoice_number,
        "customer": invoice.customer_legal_company_name,
        "customer_id": invoice.customer_id,
        "status": invoice.status,
        "payment": _payment_badge(invoice, today),
        "invoice_date": invoice.invoice_date,
        "due_date": invoice.due_date,
        "gross_total": fmt.money(invoice.gross_total),
    }


# What a billing run reports, shown after the run (counts only: nothing else is read back).
RUN_COUNTS = ("created", "updated", "finalized", "failed")


def _billing_run_notice(query: dict[str, str]) -> str | None:
    if query.get("billingRun") != "done":
        return None
    counts = {
        name: int(value) if (value := query.get(name, "0")).isdigit() else 0 for name in RUN_COUNTS
    }
    notice = (
        f"Billing run done: {counts['created']} invoices created, {counts['updated']} updated, "
        f"{counts['finalized']} finalized."
    )
    if counts["failed"]:
        notice += f" {counts['failed']} billing schedules failed and will be retried."
    return notice


@router.post("/billing-run")
def billing_run(form: PostedForm, db: Db) -> Response:
    """Bring every schedule's invoices up to date as of the account's today, as the worker
    does on its round (and as `POST /api/billing/execution/accounts/self`): the regular run,
    never a backfill or a preview."""
    report = bill_account(db, form.viewer.account_id)
    counts = {
        "created": report.invoices_created,
        "updated": report.invoices_updated,
        "finalized": report.invoices_finalized,
        "failed": len(report.failed_schedules),
    }
    return RedirectResponse(
        f"{INVOICES}?" + urlencode({"billingRun": "done", **counts}), status_code=303
    )


@router.get("")
def invoice_list(request: Request, viewer: SignedInViewer, session: DbSession) -> Response:
    query = dict(request.query_params.items())
    today = local_today(get_account(session, viewer.account_id).timezone)
    context: dict[str, Any] = {
        "query": {name: query.get(name, "") for name in (*TEXT_FILTERS, *DATE_FILTERS)},
        "statuses": choices(InvoiceStatus),
        "payment_statuses": choices(PaymentStatus),
        "customers": customer_choices(session, viewer.account_id, archived=True),
        "date_filters": DATE_LABELS,
        "rows": [],
        "totals": [],
        "by_status": [],
        "narrowed": False,
        "newer": None,
        "older": None,
        "error": None,
        "notice": _billing_run_notice(query),
    }
    narrowed = {key: query[key] for key in (*TEXT_FILTERS, *DATE_FILTERS) if query.get(key)}
    try:
        filters = _filters(query, today)
        paging = PageParams(
            limit=PAGE_SIZE, after=query.get("after") or None, before=query.get("before") or None
        )
        if paging.after and paging.before:
            raise BadRequest("Give either `after` or `before`, not both.")
        page = paginate(
            session,
            service.filtered_invoices(viewer.account_id, filters, today),
            Invoice.id,
            paging,
        )
    except (InvalidRequest, BadRequest) as invalid:
        context["error"] = _sentence(invalid)
        return render(
            request,
            "dashboard/invoices/list.html",
            viewer=viewer,
            active=INVOICES,
            status_code=422,
            **context,
        )
    by_status = service.summary_by_status(session, viewer.account_id, filters, today)
    context["rows"] = [_row(invoice, today) for invoice in page.rows]
    context["by_status"] = [
        {
            "status": t.status,
            "currency": t.currency,
            "count": t.invoice_count,
            "gross_total": documents.Formatter(t.currency).money(t.gross_total),
            "link": "?" + urlencode({**narrowed, "invoiceStatus": t.status.value}),
        }
        for t in by_status
    ]
    context["totals"] = [
        {
            "currency": currency,
            "count": sum(t.invoice_count for t in by_status if t.currency == currency),
            "gross_total": documents.Formatter(currency).money(
                sum((t.gross_total for t in by_status if t.currency == currency), Decimal(0))
            ),
        }
        for currency in sorted({t.currency for t in by_status})
    ]
    context["narrowed"] = bool(narrowed)
    if page.pagination.after:
        context["older"] = "?" + urlencode({**narrowed, "after": page.pagination.after})
    if page.pagination.before:
        context["newer"] = "?" + urlencode({**narrowed, "before": page.pagination.before})
    return render(
        request, "dashboard/invoices/list.html", viewer=viewer, active=INVOICES, **context
    )


# --- one invoice -----------------------------------------------------------------------------


def _invoice_page(
    request: Request,
    db: Database,
    viewer: sessions.Viewer,
    invoice_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    done: str | None = None,
) -> HTMLResponse:
    settings = _settings(request)
    # A writing transaction: the document's portal link may make the customer's secret.
    with db.transaction() as session:
        try:
            invoice = service.get_invoice(session, viewer.account_id, invoice_id)
            document = documents.invoice_document(
                session, viewer.account_id, invoice_id, settings=settings
            )
        except NotFound as missing:
            raise DashboardPageError.not_found() from missing
        today = local_today(get_account(session, viewer.account_id).timezone)
        # The portal shows sent invoices only: the link goes there once it is sent. The
        # portal is served by this app, so the link is relative to wherever the dashboard is.
        portal = (
            portal_url(session, invoice.customer_id, "", invoice_path(invoice.id))
            if invoice.status is InvoiceStatus.SENT
            else None
        )
        facts = {
            "id": invoice.id,
            "number": invoice.invoice_number,
            "status": invoice.status.value,
            "payment_status": invoice.payment_status.value,
            "payment": _payment_badge(invoice, today),
            "customer": invoice.customer_legal_company_name,
            "customer_id": invoice.customer_id,
            "emails": list(invoice.customer_emails or []),
            "schedule_id": invoice.billing_schedule_id,
            "schedule": schedule_names(
                session, viewer.account_id, [invoice.billing_schedule_id]
            ).get(invoice.billing_schedule_id or "")
            if invoice.billing_schedule_id
            else None,
        }
        logged = recent(session, viewer.account_id, invoice.id)
        lines = invoice_lines.table(invoice) if invoice.status is InvoiceStatus.DRAFT else None
        payments = invoice_section(session, viewer.account_id, invoice)
        collection = collection_view.invoice_section(session, viewer.account_id, invoice)
    body = documents.document_body(replace(document, portal_url=None, pay_url=None))
    return render(
        request,
        "dashboard/invoices/invoice.html",
        viewer=viewer,
        active=INVOICES,
        status_code=status,
        invoice=facts,
        document=document,
        body=body,
        portal=portal,
        activity=logged,
        activity_link=f"{INVOICES}/{invoice.id}/activity",
        lines=lines,
        no_errors=Problems(),
        payments=payments,
        payment_methods=METHODS,
        collection=collection,
        payment_statuses=choices(PaymentStatus),
        error=error,
        done=DONE.get(done or ""),
    )


@router.get("/{invoice_id}")
def invoice_page(
    request: Request, invoice_id: str, viewer: SignedInViewer, db: Db, done: str | None = None
) -> Response:
    return _invoice_page(request, db, viewer, invoice_id, done=done)


@router.get("/{invoice_id}/activity")
def invoice_activity(
    request: Request,
    invoice_id: str,
    viewer: SignedInViewer,
    session: DbSession,
    before: str | None = None,
) -> Response:
    """The invoice's whole activity log (its lines' changes and payments too), a page at a
    time."""
    try:
        invoice = service.get_invoice(session, viewer.account_id, invoice_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    return activity.page_response(
        request,
        viewer,
        active=INVOICES,
        what=f"Invoice {invoice.invoice_number}" if invoice.invoice_number else "Draft invoice",
        back=f"{INVOICES}/{invoice.id}",
        path=f"{INVOICES}/{invoice.id}/activity",
        shown=activity.page(session, viewer.account_id, invoice.id, before),
    )


@router.get("/{invoice_id}/e-invoice")
def invoice_e_invoice(
    invoice_id: str, viewer: SignedInViewer, db: Db, syntax: str = "ubl"
) -> Response:
    """The invoice as an EN 16931 e-invoice (UBL or CII), as the API's `/e-invoice` answers."""
    try:
        chosen = Syntax(syntax)
    except ValueError:
        raise DashboardPageError(400, "Unknown syntax", "Ask for ubl or cii.") from None
    with db.session(write=False) as session:
        try:
            xml = e_invoice_file(session, viewer.account_id, "invoice", invoice_id, chosen)
        except NotFound as missing:
            raise DashboardPageError.not_found() from missing
        except (NotIssued, IncompleteEInvoice) as refused:
            raise DashboardPageError(409, "No e-invoice yet", refused.message) from refused
    return download(xml.content, "application/xml", xml.filename)


@router.get("/{invoice_id}/pdf")
def invoice_pdf(request: Request, invoice_id: str, viewer: SignedInViewer, db: Db) -> Response:
    settings = _settings(request)
    with db.transaction() as session:
        try:
            document = documents.invoice_document(
                session, viewer.account_id, invoice_id, settings=settings
            )
        except NotFound as missing:
            raise DashboardPageError.not_found() from missing
        xml = factur_x_xml(session, viewer.account_id, "invoice", invoice_id)
    page = documents.document_page(document)
    pdf = documents.html_to_pdf(page, files_dir=settings.data_dir, factur_x=xml)
    return download(pdf, "application/pdf", document.filename)


@router.get("/{invoice_id}/void")
def confirm_void(request: Request, invoice_id: str, viewer: SignedInViewer, db: Db) -> Response:
    with db.session(write=False) as session:
        try:
            invoice = service.get_invoice(session, viewer.account_id, invoice_id)
        except NotFound as missing:
            raise DashboardPageError.not_found() from missing
        facts = {
            "id": invoice.id,
            "number": invoice.invoice_number,
            "customer": invoice.customer_legal_company_name,
            "status": invoice.status,
            "gross_total": documents.Formatter(invoice.currency).money(invoice.gross_total),
        }
    return render(
        request, "dashboard/invoices/void.html", viewer=viewer, active=INVOICES, invoice=facts
    )


def _transition(
    request: Request,
    db: Database,
    form: PostedForm,
    invoice_id: str,
    done: str,
    change: Any,
) -> Response:
    """Run `change(session, account)` in one transaction, then back to the invoice's page;
    a Conflict or invalid input: the invoice page with the service's message, nothing
    changed (the transaction rolled back)."""
    viewer = form.viewer
    try:
        with db.transaction() as session:
            # Who acts, for the activity log (as `api/deps.get_session` tells its sessions).
            session.info[REQUEST_STATE] = request.state
            session.info[TRACE_ID] = request_id.get()
            account = get_account(session, viewer.account_id)
            change(session, account)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    except Conflict as conflict:
        return _invoice_page(request, db, viewer, invoice_id, status=409, error=conflict.message)
    except InvalidRequest as invalid:
        return _invoice_page(request, db, viewer, invoice_id, status=422, error=_sentence(invalid))
    return RedirectResponse(f"{INVOICES}/{invoice_id}?done={done}", status_code=303)


@router.post("/{invoice_id}/finalize")
def finalize(request: Request, invoice_id: str, form: PostedForm, db: Db) -> Response:
    return _transition(
        request,
        db,
        form,
        invoice_id,
        "finalized",
        lambda session, account: lifecycle.finalize_invoice(session, account, invoice_id),
    )


@router.post("/{invoice_id}/send")
def send(request: Request, invoice_id: str, form: PostedForm, db: Db) -> Response:
    return _transition(
        request,
        db,
        form,
        invoice_id,
        "sent",
        lambda session, account: lifecycle.send(
            session, account, invoice_id, finalizing=False, email=True
        ),
    )


@router.post("/{invoice_id}/finalize-and-send")
def finalize_and_send(request: Request, invoice_id: str, form: PostedForm, db: Db) -> Response:
    return _transition(
        request,
        db,
        form,
        invoice_id,
        "sent",
        lambda session, account: lifecycle.send(
            session, account, invoice_id, finalizing=True, email=True
        ),
    )


@router.post("/{invoice_id}/mark-as-sent")
def mark_as_sent(request: Request, invoice_id: str, form: PostedForm, db: Db) -> Response:
    return _transition(
        request,
        db,
        form,
        invoice_id,
        "marked-sent",
        lambda session, account: lifecycle.send(
            session, account, invoice_id, finalizing=True, email=False
        ),
    )


@router.post("/{invoice_id}/void")
def void(request: Request, invoice_id: str, form: PostedForm, db: Db) -> Response:
    return _transition(
        request,
        db,
        form,
        invoice_id,
        "voided",
        lambda session, account: lifecycle.void(session, account, invoice_id),
    )


@router.post("/{invoice_id}/payment-status")
def payment_status(request: Request, invoice_id: str, form: PostedForm, db: Db) -> Response:
    try:
        body = PaymentStatusIn.model_validate({"paymentStatus": form.get("paymentStatus")})
    except ValidationError:
        with db.session(write=False) as session:  # another account's id: 404 all the same
            try:
                service.currency_of(session, form.viewer.account_id, invoice_id)
            except NotFound as missing:
                raise DashboardPageError.not_found() from missing
        return _invoice_page(
            request,
            db,
            form.viewer,
            invoice_id,
            status=422,
            error="Payment status must be one of " + ", ".join(PaymentStatus) + ".",
        )
    return _transition(
        request,
        db,
        form,
        invoice_id,
        "payment",
        lambda session, account: lifecycle.set_payment_status(
            session, account, invoice_id, body.payment_status
        ),
    )
