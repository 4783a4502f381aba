"""Edit a billing schedule: the create form of `schedules.py`, prefilled from the API's own
representation of the schedule (`presenters.schedule_views`).

The form builds the API's `ScheduleUpdate` and calls `schedules.service.update_schedule`, as
PUT /api/billing-schedules/{id} does: the phases and tax rates are replaced, so the body
restates what the form does not show (a phase's further discounts and minimums, their price
restrictions, credit grants by id, price metadata, contract reference), and blank fields are
sent as null (an empty end date makes the schedule open-ended). The service alone says which
schedules may change (`check_editable`): the Edit link shows only for those, and the page of
another answers 409 with the service's reason.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tally.api.deps import DbSession
from tally.customers.queries import customer_names
from tally.dashboard.catalog_forms import Problems, from_service, from_validation, present
from tally.dashboard.schedules import (
    MAX_PHASES,
    _body,
    _form,
    _phase_count,
    _schedule,
    _to_field,
)
from tally.dashboard.sessions import Viewer
from tally.dashboard.web import HOME, DashboardPageError, PostedForm, SignedInViewer
from tally.exceptions import Conflict, InvalidRequest, NotFound
from tally.models import BillingSchedule
from tally.schedules import presenters
from tally.schedules import service as schedule_service
from tally.schedules.queries import schedule_names
from tally.schedules.schemas import ScheduleUpdate
from tally.tax import queries as tax_queries

SCHEDULES = HOME + "/billing-schedules"
# The tax select's choice that keeps each billed price's own rate, as the schedule has them.
KEEP_TAX = "as-now"

router = APIRouter(prefix=SCHEDULES, include_in_schema=False)


def _editable(session: Session, account_id: str, schedule_id: str) -> BillingSchedule:
    schedule = _schedule(session, account_id, schedule_id)
    try:
        schedule_service.check_editable(schedule)
    except Conflict as refused:
        raise DashboardPageError(
            409, "This billing schedule can't change", refused.message
        ) from None
    return schedule


def _view(session: Session, account_id: str, schedule: BillingSchedule) -> dict[str, Any]:
    [view] = presenters.schedule_views(session, account_id, [schedule])
    return view


# --- the stored schedule as the form's fields ---------------------------------------------------


def _billed(phases: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(price_id for phase in phases for price_id in phase["priceIds"]))


def _live_rates(session: Session, account_id: str, ids: set[str]) -> set[str]:
    return tax_queries.live_tax_rate_ids(session, account_id, ids)


def _tax_choice(session: Session, account_id: str, view: dict[str, Any]) -> str:
    """One live rate on every billed price: that rate; none: none; else as they are."""
    refs = view["taxRates"]
    if not refs:
        return ""
    rates: set[str] = {ref["taxRateId"] for ref in refs}
    covered = {ref["priceId"] for ref in refs} == set(_billed(view["phases"]))
    if len(rates) == 1 and covered and rates <= _live_rates(session, account_id, rates):
        return rates.pop()
    return KEEP_TAX


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _phase_values(index: int, phase: dict[str, Any]) -> dict[str, str]:
    p = f"phase-{index}-"
    values = {
        p + "id": phase["id"],
        p + "name": _text(phase.get("name")),
        p + "start_date": phase["startDate"],
        p + "end_date": _text(phase.get("endDate")),
    }
    values.update({f"{p}price-{price_id}": "on" for price_id in phase["priceIds"]})
    if phase["discounts"]:
        discount = phase["discounts"][0]
        values[p + "discount_type"] = discount["type"]
        values[p + "discount_amount"] = _text(discount["amount"])
        values[p + "discount_message"] = discount["message"]
        values[p + "discount_separate"] = "on" if discount["separateLineItem"] else ""
    if phase["minimums"]:
        values[p + "minimum_amount"] = _text(phase["minimums"][0]["amount"])
    if phase.get("thresholdInvoicing"):
        values[p + "threshold_amount"] = _text(phase["thresholdInvoicing"]["amount"])
    return values


def schedule_values(view: dict[str, Any], tax_choice: str) -> dict[str, str]:
    values = {
        "phase_count": str(len(view["phases"])),
        "start_date": view["startDate"],
        "end_date": _text(view.get("endDate")),
        "recurrence_day_of_month": _text(view.get("recurrenceDayOfMonth")),
        "purchase_order_number": _text(view.get("purchaseOrderNumber")),
        "auto_issue_invoices": "on" if view["autoIssueInvoices"] else "",
        "tax_rate_id": tax_choice,
    }
    for index, phase in enumerate(view["phases"]):
        values.update(_phase_values(index, phase))
    return values


def _kept_note(phase: dict[str, Any]) -> str:
    """What of the phase the form does not show, and keeps."""
    counts = (
        (len(phase["discounts"][1:]), "more discount"),
        (len(phase["minimums"][1:]), "more minimum"),
        (len(phase.get("creditGrants", [])), "credit grant"),
    )
    parts = [f"{count} {noun}{'s' if count > 1 else ''}" for count, noun in counts if count]
    restricted = [
        item
        for item in (*phase["discounts"][:1], *phase["minimums"][:1])
        if item["restrictToPrices"]
    ]
    if restricted:
        parts.append("the prices its discount or minimum is restricted to")
    if phase.get("externalContractRef"):
        parts.append(f"contract reference {phase['externalContractRef']}")
    return ", ".join(parts)


# --- the form's fields as the API's update -----------------------------------------------------


_DISCOUNT = (
    "restrictToPrices",
    "type",
    "amount",
    "message",
    "separateLineItem",
    "seatDiscountType",
)
_MINIMUM = ("restrictToPrices", "amount")
_RESTRICTIONS = ("restrictToPrices", "seatDiscountType")


def _carry(phase: dict[str, Any], stored: dict[str, Any]) -> None:
    """Restate what the form does not show of the stored phase it edits."""
    for key in ("externalContractRef", "recurrencePreference"):
        if stored.get(key) is not None:
            phase[key] = stored[key]
    prices = set(phase["priceIds"])
    phase["phasePriceMetadata"] = [
        item for item in stored["phasePriceMetadata"] if item["priceId"] in prices
    ]
    phase["creditGrants"] = stored.get("creditGrants", [])  # with their ids: the same grants
    for key, names in (("discounts", _DISCOUNT), ("minimums", _MINIMUM)):
        kept = [{name: item[name] for name in names if name in item} for item in stored[key]]
        edited = phase.get(key, [])
        if edited and kept:  # the form shows the first one: it keeps its restrictions
            restrictions = {k: v for k, v in kept[0].items() if k in _RESTRICTIONS}
            edited[0] = {**restrictions, **edited[0]}
        phase[key] = edited + kept[1:]


def _tax_rates(
    choice: str, phases: list[dict[str, Any]], stored: dict[str, Any]
) -> list[dict[str, str]]:
    billed = _billed(phases)
    if choice == KEEP_TAX:
        return [ref for ref in stored["taxRates"] if ref["priceId"] in billed]
    return [{"priceId": price_id, "taxRateId": choice} for price_id in billed] if choice else []


def update_body(
    fields: dict[str, str], phase_count: int, stored: dict[str, Any]
) -> tuple[dict[str, Any], list[int]]:
    """The form as a `ScheduleUpdate` body, and the form's phase blocks it kept (in order)."""
    body, kept = _body(fields, phase_count)
    for create_only in ("customerId", "label", "isDraft"):
        body.pop(create_only, None)
    for name, key in (
        ("end_date", "endDate"),
        ("recurrence_day_of_month", "recurrenceDayOfMonth"),
        ("purchase_order_number", "purchaseOrderNumber"),
    ):
        body[key] = present(fields.get(name, ""))  # None clears it, as the API's null does
    stored_phases = {phase["id"]: phase for phase in stored["phases"]}
    for index, phase in zip(kept, body["phases"], strict=True):
        previous = stored_phases.get(fields.get(f"phase-{index}-id", ""))
        if previous is not None:
            _carry(phase, previous)
    body["taxRates"] = _tax_rates(fields.get("tax_rate_id", ""), body["phases"], stored)
    return body, kept


# --- pages -------------------------------------------------------------------------------------


def _edit_form(
    request: Request,
    session: Session,
    viewer: Viewer,
    view: dict[str, Any],
    values: dict[str, str],
    errors: Problems,
    phases: int,
    status: int = 200,
) -> HTMLResponse:
    names = customer_names(session, viewer.account_id, {view["customerId"]})
    edit = {
        "id": view["id"],
        "customer_name": names.get(view["customerId"], view["customerId"]),
        "customer_id": view["customerId"],
        "name": schedule_names(session, viewer.account_id, [view["id"]]).get(view["id"], ""),
        "label": view.get("label"),
        "status": view["status"],
        "price_ids": _billed(view["phases"]),
        "tax_options": (
            [(KEEP_TAX, "As now: each price keeps its own tax rate")] if view["taxRates"] else []
        ),
        "kept": {phase["id"]: _kept_note(phase) for phase in view["phases"]},
    }
    return _form(request, session, viewer, values, errors, phases, status, edit=edit)


def _too_many_phases(view: dict[str, Any]) -> DashboardPageError:
    return DashboardPageError(
        409,
        "Too many phases for this form",
        f"This billing schedule has {len(view['phases'])} phases, more than the dashboard's "
        f"form holds ({MAX_PHASES}). Change it through the API.",
    )


@router.get("/{schedule_id}/edit")
def edit_schedule_form(
    request: Request, schedule_id: str, viewer: SignedInViewer, session: DbSession
) -> Response:
    schedule = _editable(session, viewer.account_id, schedule_id)
    view = _view(session, viewer.account_id, schedule)
    if len(view["phases"]) > MAX_PHASES:
        raise _too_many_phases(view)
    values = schedule_values(view, _tax_choice(session, viewer.account_id, view))
    phases = max(len(view["phases"]), 1)
    return _edit_form(request, session, viewer, view, values, Problems(), phases)


@router.post("/{schedule_id}/edit")
def edit_schedule(
    request: Request, schedule_id: str, form: PostedForm, session: DbSession
) -> Response:
    viewer = form.viewer
    schedule = _editable(session, viewer.account_id, schedule_id)
    view = _view(session, viewer.account_id, schedule)
    phases = _phase_count(form.get("phase_count"))
    if form.get("add_phase"):  # "Add a phase": the same form again, longer; nothing saved
        phases = min(phases + 1, MAX_PHASES)
        return _edit_form(request, session, viewer, view, form.fields, Problems(), phases)
    body, kept = update_body(form.fields, phases, view)
    to_field = _to_field(kept)
    try:
        data = ScheduleUpdate.model_validate(body)
        schedule_service.update_schedule(session, viewer.account_id, schedule.id, data)
    except ValidationError as invalid:
        errors = from_validation(invalid, to_field)
        return _edit_form(request, session, viewer, view, form.fields, errors, phases, 422)
    except NotFound as missing:  # another account's price or tax rate
        raise DashboardPageError.not_found() from missing
    except (InvalidRequest, Conflict) as refused:
        session.rollback()
        status = 409 if isinstance(refused, Conflict) else 422
        errors = from_service(refused, to_field)
        return _edit_form(request, session, viewer, view, form.fields, errors, phases, status)
    return RedirectResponse(f"{SCHEDULES}/{schedule_id}?done=schedule-updated", status_code=303)
