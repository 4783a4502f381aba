"""The dashboard's billing schedules: list, view, create (phases with their prices, a
discount and a minimum each; tax rates), activate, archive.

The create form builds the API's `ScheduleCreate` from its fields and calls
`schedules.service.create_schedule`, as POST /api/billing-schedules does; activate and archive
call the same service functions as their endpoints, and the view shows the API's own
representation (`presenters.schedule_views`). Phases are blocks of the form; "Add a phase" is
a plain submit that shows the form again with one more. A form field name posts once, so each
phase's prices are checkboxes named after the price.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tally.api.deps import DbSession
from tally.catalog import queries as catalog_queries
from tally.core.formatting import format_percent
from tally.customers import queries as customer_queries
from tally.dashboard.catalog import describe
from tally.dashboard.catalog_forms import (
    Location,
    Problems,
    checked,
    default_field,
    from_service,
    from_validation,
    notice,
    present,
)
from tally.dashboard.sessions import Viewer
from tally.dashboard.web import HOME, DashboardPageError, PostedForm, SignedInViewer, render
from tally.exceptions import Conflict, InvalidRequest, NotFound
from tally.models import BillingSchedule, DiscountType
from tally.schedules import presenters
from tally.schedules import queries as schedule_queries
from tally.schedules import service as schedule_service
from tally.schedules.schemas import ScheduleCreate
from tally.tax import queries as tax_queries

SCHEDULES = HOME + "/billing-schedules"
LIST_LIMIT = 200
MAX_PHASES = 4

router = APIRouter(prefix=SCHEDULES, include_in_schema=False)


def _page(
    request: Request, template: str, viewer: Viewer, status: int = 200, **context: Any
) -> HTMLResponse:
    return render(
        request,
        f"dashboard/schedules/{template}",
        viewer=viewer,
        active=SCHEDULES,
        status_code=status,
        **context,
    )


# --- list and view ---------------------------------------------------------------------------


@router.get("")
def schedules(
    request: Request,
    viewer: SignedInViewer,
    session: DbSession,
    archived: Annotated[bool, Query()] = False,
    done: Annotated[str | None, Query()] = None,
) -> Response:
    rows = schedule_queries.recent_schedules(
        session, viewer.account_id, archived=archived, limit=LIST_LIMIT
    )
    names = customer_queries.customer_names(
        session, viewer.account_id, {s.customer_id for s in rows}
    )
    return _page(
        request,
        "list.html",
        viewer,
        notice=notice(done),
        schedules=rows,
        customers=names,
        schedule_names=schedule_queries.schedule_names(
            session, viewer.account_id, [s.id for s in rows]
        ),
        archived=archived,
    )


def _schedule(session: Session, account_id: str, schedule_id: str) -> BillingSchedule:
    try:
        return schedule_service.get_schedule(session, account_id, schedule_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing


def _schedule_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    schedule: BillingSchedule,
    *,
    done: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    [view] = presenters.schedule_views(session, viewer.account_id, [schedule])
    prices = catalog_queries.prices_by_id(
        session, viewer.account_id, [p["id"] for p in view["prices"]]
    )
    tax_rates = tax_queries.tax_rates_by_id(
        session, viewer.account_id, [t["taxRateId"] for t in view["taxRates"]]
    )
    names = customer_queries.customer_names(session, viewer.account_id, {schedule.customer_id})
    try:
        schedule_service.check_editable(schedule)  # the Edit link only where the API allows it
        editable = True
    except Conflict:
        editable = False
    return _page(
        request,
        "view.html",
        viewer,
        status,
        notice=notice(done),
        error=error,
        schedule=view,
        customer_name=names.get(schedule.customer_id, schedule.customer_id),
        schedule_name=schedule_queries.schedule_names(
            session, viewer.account_id, [schedule.id]
        ).get(schedule.id, ""),
        prices=prices,
        tax_rates=tax_rates,
        describe=describe,
        editable=editable,
    )


@router.get("/new")
def new_schedule(
    request: Request,
    viewer: SignedInViewer,
    session: DbSession,
    customer_id: Annotated[str | None, Query(alias="customerId")] = None,
) -> Response:
    """The create form; `customerId` (a customer page's "Add a billing schedule") chooses
    the customer (one not the account's simply matches no choice)."""
    values = {"is_draft": "on", "phase_count": "1", "customer_id": customer_id or ""}
    return _form(request, session, viewer, values, Problems(), 1)


@router.get("/{schedule_id}")
def schedule_page(
    request: Request,
    schedule_id: str,
    viewer: SignedInViewer,
    session: DbSession,
    done: Annotated[str | None, Query()] = None,
) -> Response:
    schedule = _schedule(session, viewer.account_id, schedule_id)
    return _schedule_page(request, session, viewer, schedule, done=done)


# --- create ----------------------------------------------------------------------------------


def _form(
    request: Request,
    session: Session,
    viewer: Viewer,
    values: dict[str, str],
    errors: Problems,
    phases: int,
    status: int = 200,
    edit: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The schedule form; the edit page passes `edit` (the schedule's id, customer, label and
    status, the prices it bills, tax options of its own, notes on what the form keeps)."""
    customers = (  # fixed once created
        []
        if edit
        else customer_queries.customer_choices(session, viewer.account_id, limit=LIST_LIMIT)
    )
    tax_rates = tax_queries.tax_rates(session, viewer.account_id, archived=False)
    return _page(
        request,
        "form.html",
        viewer,
        status,
        values=values,
        errors=errors,
        phases=phases,
        more_phases=phases < MAX_PHASES,
        customers=[(c.id, c.legal_name) for c in customers],
        prices=catalog_queries.price_choices(
            session, viewer.account_id, LIST_LIMIT, edit["price_ids"] if edit else ()
        ),
        tax_rates=[
            *(edit["tax_options"] if edit else []),
            *((r.id, f"{r.current.name} ({format_percent(r.current.amount)})") for r in tax_rates),
        ],
        edit=edit,
        discount_types=[(t.value, t.value.capitalize()) for t in DiscountType],
        describe=describe,
    )


def _phase_count(value: str) -> int:
    count = int(value) if value.isdecimal() else 1
    return max(1, min(count, MAX_PHASES))


def _phase(fields: dict[str, str], index: int) -> dict[str, Any] | None:
    """Phase `index`'s block as a `PhaseIn` body; None when the block was left empty."""

    def field(name: str) -> str | None:
        return present(fields.get(f"phase-{index}-{name}", ""))

    prefix = f"phase-{index}-price-"
    price_ids = [
        name.removeprefix(prefix)
        for name, value in fields.items()
        if name.startswith(prefix) and checked(value)
    ]
    discount = {
        "type": field("discount_type"),
        "amount": field("discount_amount"),
        "message": field("discount_message"),
        "separateLineItem": checked(fields.get(f"phase-{index}-discount_separate", "")),
    }
    minimum = field("minimum_amount")
    threshold = field("threshold_amount")
    given = (price_ids, field("start_date"), field("end_date"), field("name"))
    if not any(given) and not (discount["amount"] or minimum or threshold):
        return None
    phase: dict[str, Any] = {
        "name": field("name"),
        "priceIds": price_ids,
        "startDate": field("start_date"),
        "endDate": field("end_date"),
    }
    if discount["amount"] or discount["message"]:
        phase["discounts"] = [{k: v for k, v in discount.items() if v is not None}]
    if minimum:
        phase["minimums"] = [{"amount": minimum}]
    if threshold:
        phase["thresholdInvoicing"] = {"amount": threshold}
    return {k: v for k, v in phase.items() if v is not None}


def _body(fields: dict[str, str], phase_count: int) -> tuple[dict[str, Any], list[int]]:
    def field(name: str) -> str | None:
        return present(fields.get(name, ""))

    phases: list[dict[str, Any]] = []
    kept: list[int] = []
    for index in range(phase_count):
        phase = _phase(fields, index)
        if phase is not None:
            phases.append(phase)
            kept.append(index)
    # A phase left without dates runs with the schedule: the first from its start, the last
    # to its end (the service checks the rest).
    if phases and field("start_date"):
        phases[0].setdefault("startDate", field("start_date"))
    if phases and field("end_date"):
        phases[-1].setdefault("endDate", field("end_date"))
    tax_rate_id = field("tax_rate_id")
    price_ids = list(dict.fromkeys(p for phase in phases for p in phase["priceIds"]))
    body: dict[str, Any] = {
        "customerId": field("customer_id"),
        "label": field("label"),
        "startDate": field("start_date"),
        "endDate": field("end_date"),
        "recurrenceDayOfMonth": field("recurrence_day_of_month"),
        "purchaseOrderNumber": field("purchase_order_number"),
        "isDraft": checked(fields.get("is_draft", "")),
        "autoIssueInvoices": checked(fields.get("auto_issue_invoices", "")),
        "phases": phases,
        "taxRates": (
            [{"priceId": price_id, "taxRateId": tax_rate_id} for price_id in price_ids]
            if tax_rate_id
            else None
        ),
    }
    return {k: v for k, v in body.items() if v is not None}, kept


_PHASE_FIELDS = {
    "discounts": "discount_",
    "minimums": "minimum_",
    "thresholdInvoicing": "threshold_",
}


def _phase_field(index: int, rest: list[str | int]) -> str:
    """The form field of an error inside phase block `index`."""
    if not rest:
        return f"phase-{index}-start_date"
    if rest[0] in _PHASE_FIELDS:
        name = default_field(rest[1:]) or "amount"
        if name == "separate_line_item":
            name = "separate"
        return f"phase-{index}-{_PHASE_FIELDS[str(rest[0])]}{name}"
    if rest[0] == "priceIds":
        return f"phase-{index}-prices"
    return f"phase-{index}-{default_field(rest)}"


def _to_field(kept: list[int]) -> Callable[[Location], str]:
    def to_field(loc: Location) -> str:
        parts = list(loc)
        if parts[:1] == ["phases"] and len(parts) >= 2 and isinstance(parts[1], int):
            index = kept[parts[1]] if parts[1] < len(kept) else parts[1]
            return _phase_field(index, parts[2:])
        if parts[:1] == ["taxRates"]:
            return "tax_rate_id"
        if parts == ["phases"]:
            return "phase-0-start_date"
        return default_field(loc)

    return to_field


@router.post("")
def create_schedule(request: Request, form: PostedForm, session: DbSession) -> Response:
    viewer = form.viewer
    phases = _phase_count(form.get("phase_count"))
    if form.get("add_phase"):  # "Add a phase": the same form again, longer; nothing saved
        phases = min(phases + 1, MAX_PHASES)
        return _form(request, session, viewer, form.fields, Problems(), phases)
    body, kept = _body(form.fields, phases)
    to_field = _to_field(kept)
    try:
        data = ScheduleCreate.model_validate(body)
        schedule = schedule_service.create_schedule(session, viewer.account_id, data)
    except ValidationError as invalid:
        errors = from_validation(invalid, to_field)
        return _form(request, session, viewer, form.fields, errors, phases, 422)
    except NotFound as missing:  # another account's customer, price or tax rate
        raise DashboardPageError.not_found() from missing
    except (InvalidRequest, Conflict) as refused:
        session.rollback()
        status = 409 if isinstance(refused, Conflict) else 422
        errors = from_service(refused, to_field)
        return _form(request, session, viewer, form.fields, errors, phases, status)
    return RedirectResponse(f"{SCHEDULES}/{schedule.id}?done=schedule-created", status_code=303)


# --- activate and archive --------------------------------------------------------------------


@router.post("/{schedule_id}/activate")
def activate(request: Request, schedule_id: str, form: PostedForm, session: DbSession) -> Response:
    viewer = form.viewer
    try:
        schedule_service.activate_schedule(session, viewer.account_id, schedule_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    except Conflict as refused:
        session.rollback()
        schedule = _schedule(session, viewer.account_id, schedule_id)
        return _schedule_page(request, session, viewer, schedule, error=refused.message, status=409)
    return RedirectResponse(f"{SCHEDULES}/{schedule_id}?done=schedule-activated", status_code=303)


@router.post("/{schedule_id}/archive")
def archive(schedule_id: str, form: PostedForm, session: DbSession) -> Response:
    try:
        schedule_service.archive_schedule(session, form.viewer.account_id, schedule_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    return RedirectResponse(f"{SCHEDULES}/{schedule_id}?done=schedule-archived", status_code=303)
