"""The dashboard's Customers section: the list (search and filters), the customer's page
(details, hierarchy, schedules, invoices, balances, the portal link), create, edit, archive.

Every read and write goes through the services the API's endpoints call
(`tally.customers.service`, `tally.portal.sessions`, the schedules', invoices', credits' and
seats' services), and forms are turned into the API's own request model (`CustomerIn`), so
validation is the API's: its errors are shown next to the form with a 4xx and nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tally.api.deps import DbSession
from tally.api.pagination import PageParams, paginate
from tally.core.clock import local_today
from tally.core.formatting import format_money
from tally.core.i18n import language_choices
from tally.customers import aliases as customer_aliases
from tally.customers import presenters
from tally.customers import queries as customer_queries
from tally.customers import service as customers
from tally.customers.schemas import CustomerIn, CustomerOut
from tally.dashboard import activity
from tally.dashboard import sessions as dashboard_sessions
from tally.dashboard.activity import recent
from tally.dashboard.alerts_view import customer_alerts
from tally.dashboard.collection import customer_pause
from tally.dashboard.customers_balances import balances
from tally.dashboard.customers_form import (
    LABELS,
    CustomerForm,
    error_field,
    form_from_fields,
    form_from_view,
    payload,
)
from tally.dashboard.form_errors import Problems, from_service, from_validation
from tally.dashboard.payments_view import customer_section
from tally.dashboard.web import (
    HOME,
    DashboardPageError,
    PostedForm,
    SignedInViewer,
    render,
)
from tally.exceptions import Conflict, NotFound, TallyError
from tally.invoices import queries as invoice_queries
from tally.models import (
    BillingPreference,
    Customer,
    CustomerStatus,
    InvoiceStatus,
    TaxStatus,
)
from tally.models.scoped import get_account
from tally.portal import sessions as portal_sessions
from tally.schedules import queries as schedule_queries
from tally.settings import Settings
from tally.workflows import customers as customer_workflows

CUSTOMERS = f"{HOME}/customers"
PAGE_SIZE = 50
RECENT = 50
# What archiving a customer voids (its confirmation page lists them).
OPEN = (InvoiceStatus.DRAFT, InvoiceStatus.IN_PROGRESS)
MESSAGES = {
    "created": "Customer created.",
    "updated": "Customer saved.",
    "archived": "Customer archived: its billing schedules were archived and open invoices voided.",
    "alias-removed": "Alias removed.",
    "rotated": "Portal link rotated: the old link and its sessions no longer work.",
    "collection-paused": "Automatic collection paused: none of the customer's invoices is "
    "charged until it is resumed.",
    "collection-resumed": "Automatic collection resumed.",
}

router = APIRouter(prefix=CUSTOMERS, include_in_schema=False)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _money(amount: Decimal | str | None, currency: str | None) -> str:
    if amount is None or not currency:
        return "\u2014"
    return format_money(Decimal(amount), currency)


def _customer(session: Session, account_id: str, customer_id: str) -> Customer:
    try:
        return customers.get_customer(session, account_id, customer_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing


def _view(request: Request, session: Session, account_id: str, customer: Customer) -> CustomerOut:
    base = _settings(request).public_url
    return presenters.customer_views(session, account_id, [customer], base_url=base)[0]


# --- the list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListFilters:
    name: str = ""
    email: str = ""
    alias: str = ""
    archived: bool = False
    schedule: str = ""  # "", "yes" or "no"

    def query_string(self) -> str:
        pairs = {
            "name": self.name,
            "email": self.email,
            "alias": self.alias,
            "archived": "1" if self.archived else "",
            "schedule": self.schedule,
        }
        return urlencode({k: v for k, v in pairs.items() if v})


@router.get("")
def customer_list(
    request: Request,
    viewer: SignedInViewer,
    session: DbSession,
    name: str = "",
    email: str = "",
    alias: str = "",
    archived: str = "",
    schedule: str = "",
    after: str | None = None,
) -> Response:
    filters = ListFilters(
        name=name.strip()[:500],
        email=email.strip()[:500],
        alias=alias.strip()[:500],
        archived=archived in ("1", "on", "true"),
        schedule=schedule if schedule in ("yes", "no") else "",
    )
    query = customers.filtered_customers(
        viewer.account_id,
        customers.CustomerFilters(
            legal_name=filters.name or None,
            email=filters.email or None,
            alias=filters.alias or None,
            include_archived=filters.archived,
        ),
    )
    if filters.schedule:
        with_schedule = schedule_queries.has_live_schedule(viewer.account_id)
        query = query.where(with_schedule if filters.schedule == "yes" else ~with_schedule)
    try:
        page = paginate(session, query, Customer.id, PageParams(limit=PAGE_SIZE, after=after))
    except TallyError as invalid:  # a cursor edited by hand
        raise DashboardPageError(400, "Bad request", invalid.message) from invalid
    views = presenters.customer_views(session, viewer.account_id, page.rows)
    parent_ids = {view.parent_id for view in views if view.parent_id}
    parents = customer_queries.customer_names(session, viewer.account_id, parent_ids)
    return render(
        request,
        "dashboard/customers/list.html",
        viewer=viewer,
        active=CUSTOMERS,
        customers=views,
        parents=parents,
        filters=filters,
        total=page.pagination.total_result_size,
        next_after=page.pagination.after,
        message=MESSAGES.get(request.query_params.get("done", "")),
    )


# --- create ----------------------------------------------------------------------------------


def _parent_options(
    session: Session, account_id: str, exclude: str | None = None
) -> list[tuple[str, str]]:
    """Live customers a customer may be put under (the service refuses cycles)."""
    live = customer_queries.customer_choices(session, account_id)
    return [(c.id, c.legal_name) for c in live if c.id != exclude]


def _form_page(
    request: Request,
    session: Session,
    viewer: dashboard_sessions.Viewer,
    form: CustomerForm,
    *,
    customer: Customer | None = None,
    errors: Problems | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "dashboard/customers/form.html",
        viewer=viewer,
        active=CUSTOMERS,
        form=form,
        customer=customer,
        errors=errors or Problems(),
        parents=_parent_options(session, viewer.account_id, customer.id if customer else None),
        tax_statuses=list(TaxStatus),
        languages=language_choices(),
        statuses=list(CustomerStatus),
        preferences=list(BillingPreference),
        status_code=status,
    )


def _customer_in(form: CustomerForm) -> CustomerIn:
    """The API's own request model, from the form (raises its ValidationError)."""
    return CustomerIn.model_validate(payload(form))


@router.get("/new")
def new_customer(request: Request, viewer: SignedInViewer, session: DbSession) -> Response:
    return _form_page(request, session, viewer, CustomerForm.blank())


@router.post("/new")
def create_customer(request: Request, posted: PostedForm, session: DbSession) -> Response:
    viewer = posted.viewer
    form = form_from_fields(posted.fields)
    try:
        created = customers.create_customer(session, viewer.account_id, _customer_in(form))
    except ValidationError as invalid:
        session.rollback()
        errors = from_validation(invalid, error_field, LABELS)
        return _form_page(request, session, viewer, form, errors=errors, status=422)
    except TallyError as refused:
        session.rollback()
        status = 409 if isinstance(refused, Conflict) else 422
        errors = from_service(refused, error_field, LABELS)
        return _form_page(request, session, viewer, form, errors=errors, status=status)
    return RedirectResponse(f"{CUSTOMERS}/{created.id}?done=created", status_code=303)


# --- the customer's page ---------------------------------------------------------------------


COPY_SCRIPT = Path(__file__).parent / "templates" / "dashboard" / "customers" / "copy.js"


@router.get("/copy.js")
def copy_script() -> Response:
    """The portal link's copy button (progressive: the page works without it)."""
    return Response(COPY_SCRIPT.read_bytes(), media_type="text/javascript")


@router.get("/{customer_id}")
def customer_page(
    request: Request, customer_id: str, viewer: SignedInViewer, session: DbSession
) -> Response:
    account_id = viewer.account_id
    customer = _customer(session, account_id, customer_id)
    view = _view(request, session, account_id, customer)
    alias_rows = [(alias.id, alias.value) for alias in customer.aliases]
    # Loading the parent reloads its children (this customer among them): read it first.
    parent = (
        customers.get_customer(session, account_id, customer.parent_id)
        if customer.parent_id
        else None
    )
    customer_schedules = schedule_queries.customer_schedules(
        session, account_id, customer.id, archived=True, limit=RECENT
    )
    today = local_today(get_account(session, account_id).timezone)
    customer_invoices = invoice_queries.customer_invoices(
        session, account_id, customer.id, limit=RECENT
    )
    return render(
        request,
        "dashboard/customers/detail.html",
        viewer=viewer,
        active=CUSTOMERS,
        customer=view,
        alias_rows=alias_rows,
        parent=parent,
        schedules=customer_schedules,
        schedule_names=schedule_queries.schedule_names(
            session, account_id, [s.id for s in customer_schedules]
        ),
        invoices=customer_invoices,
        balances=balances(session, account_id, customer, today),
        payments=customer_section(session, request.app.state.settings, account_id, customer.id),
        alerts=customer_alerts(session, get_account(session, account_id), customer.id),
        activity=recent(session, account_id, customer.id),
        activity_link=f"{CUSTOMERS}/{customer.id}/activity",
        collection_pause=customer_pause(session, account_id, customer.id),
        money=_money,
        message=MESSAGES.get(request.query_params.get("done", "")),
    )


@router.get("/{customer_id}/activity")
def customer_activity(
    request: Request,
    customer_id: str,
    viewer: SignedInViewer,
    session: DbSession,
    before: str | None = None,
) -> Response:
    """The customer's whole activity log (and of what belongs to it), a page at a time."""
    customer = _customer(session, viewer.account_id, customer_id)
    return activity.page_response(
        request,
        viewer,
        active=CUSTOMERS,
        what=customer.legal_name,
        back=f"{CUSTOMERS}/{customer.id}",
        path=f"{CUSTOMERS}/{customer.id}/activity",
        shown=activity.page(session, viewer.account_id, customer.id, before),
    )


# --- edit ------------------------------------------------------------------------------------


def _active_customer(session: Session, account_id: str, customer_id: str) -> Customer:
    customer = _customer(session, account_id, customer_id)
    if customer.archived_at is not None:
        raise DashboardPageError(
            409, "Archived customer", "This customer is archived: it can no longer change."
        )
    return customer


@router.get("/{customer_id}/edit")
def edit_customer_form(
    request: Request, customer_id: str, viewer: SignedInViewer, session: DbSession
) -> Response:
    customer = _active_customer(session, viewer.account_id, customer_id)
    view = _view(request, session, viewer.account_id, customer)
    return _form_page(request, session, viewer, form_from_view(view), customer=customer)


@router.post("/{customer_id}/edit")
def edit_customer(
    request: Request, customer_id: str, posted: PostedForm, session: DbSession
) -> Response:
    viewer = posted.viewer
    customer = _active_customer(session, viewer.account_id, customer_id)
    form = form_from_fields(posted.fields)
    try:
        customers.update_customer(session, viewer.account_id, customer.id, _customer_in(form))
    except ValidationError as invalid:
        session.rollback()
        return _form_page(
            request,
            session,
            viewer,
            form,
            customer=customer,
            errors=from_validation(invalid, error_field, LABELS),
            status=422,
        )
    except TallyError as refused:
        session.rollback()
        status = 409 if isinstance(refused, Conflict) else 422
        return _form_page(
            request,
            session,
            viewer,
            form,
            customer=_customer(session, viewer.account_id, customer_id),
            errors=from_service(refused, error_field, LABELS),
            status=status,
        )
    return RedirectResponse(f"{CUSTOMERS}/{customer.id}?done=updated", status_code=303)


@router.post("/{customer_id}/aliases/{alias_id}/delete")
def delete_alias(
    customer_id: str, alias_id: str, posted: PostedForm, session: DbSession
) -> Response:
    """As `DELETE /api/customer-aliases/{id}`, for an alias of this customer."""
    account_id = posted.viewer.account_id
    customer = _active_customer(session, account_id, customer_id)
    try:
        alias = customer_aliases.get_alias(session, account_id, alias_id)
        if alias.customer_id != customer.id:
            raise NotFound.resource("Customer alias", alias_id)
        customer_aliases.delete_alias(session, account_id, alias_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    return RedirectResponse(f"{CUSTOMERS}/{customer.id}?done=alias-removed", status_code=303)


# --- archive ---------------------------------------------------------------------------------


@router.get("/{customer_id}/archive")
def confirm_archive(
    request: Request, customer_id: str, viewer: SignedInViewer, session: DbSession
) -> Response:
    account_id = viewer.account_id
    customer = _customer(session, account_id, customer_id)
    live_schedules = schedule_queries.customer_schedules(session, account_id, customer.id)
    open_invoices = invoice_queries.customer_invoices(
        session, account_id, customer.id, statuses=OPEN
    )
    return render(
        request,
        "dashboard/customers/archive.html",
        viewer=viewer,
        active=CUSTOMERS,
        customer=customer,
        schedules=live_schedules,
        invoices=open_invoices,
        money=_money,
    )


@router.post("/{customer_id}/archive")
def archive_customer(customer_id: str, posted: PostedForm, session: DbSession) -> Response:
    account_id = posted.viewer.account_id
    try:
        customer_workflows.archive_customer(session, account_id, customer_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    return RedirectResponse(f"{CUSTOMERS}/{customer_id}?done=archived", status_code=303)


# --- the portal link -------------------------------------------------------------------------


@router.post("/{customer_id}/portal-session")
def open_portal(
    request: Request, customer_id: str, posted: PostedForm, session: DbSession
) -> Response:
    """A fresh portal session, as `POST /api/customers/{id}/portal-sessions` makes one; the
    merchant's browser (a new tab: the form's target) goes to it on this same server."""
    try:
        issued = portal_sessions.issue_session(
            session,
            posted.viewer.account_id,
            customer_id,
            base_url="",
            ttl_seconds=_settings(request).portal_session_ttl_seconds,
        )
    except NotFound as missing:  # unknown, or another account's
        raise DashboardPageError.not_found() from missing
    except portal_sessions.CustomerArchived as closed:
        raise DashboardPageError(400, "Archived customer", closed.message) from closed
    return RedirectResponse(issued.url, status_code=303)


@router.post("/{customer_id}/portal-link/rotate")
def rotate_portal_link(customer_id: str, posted: PostedForm, session: DbSession) -> Response:
    try:
        portal_sessions.rotate_secret(session, posted.viewer.account_id, customer_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    return RedirectResponse(f"{CUSTOMERS}/{customer_id}?done=rotated", status_code=303)
