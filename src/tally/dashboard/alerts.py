"""The dashboard's alerts (`/dashboard/alerts`): every alert of the account (a customer's
own and the price defaults), one alert's page with its firings, the create form and the
archive button, and the edit form (the same form, as `PUT /api/alerts/{id}`: the whole alert).
The form builds the API's `AlertIn`, so its validation is the API's, and
writes through `alerts.service` as `POST /api/alerts` does; a refused form answers 422 with
each error next to its field and nothing written."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tally.alerts import queries, service
from tally.alerts.schemas import AlertIn
from tally.api.deps import DbSession
from tally.api.pagination import PageParams, paginate
from tally.api.types import Currency
from tally.catalog import queries as catalog
from tally.core.wire import plain
from tally.customers import queries as customers
from tally.dashboard import alerts_view, sessions
from tally.dashboard.form_errors import NUMBER, from_service, from_validation, said
from tally.dashboard.web import HOME, DashboardPageError, PostedForm, SignedInViewer, render
from tally.exceptions import BadRequest, NotFound, TallyError
from tally.metering import queries as metering
from tally.models import Alert, AlertType

ALERTS = HOME + "/alerts"
router = APIRouter(prefix=ALERTS, include_in_schema=False)

FIELDS = (
    "name", "type", "scope", "customerId", "priceId", "metricId", "threshold", "currency",
    "includeTax", "emailAddresses", "notifyCustomer",
)  # fmt: skip
LABELS = {
    "name": "Name",
    "type": "Alert on",
    "customerId": "Customer",
    "priceId": "Price",
    "metricId": "Usage metric",
    "threshold": "Threshold",
    "currency": "Currency",
    "includeTax": "Include tax",
    "emailAddresses": "Email addresses",
    "notifyCustomer": "Email the customer",
}
DONE = {
    "created": "Alert created.",
    "updated": "Alert saved.",
    "archived": "Alert archived: it no longer fires.",
}
CHOICE_LIMIT = 500
PAGE_SIZE = 50
FIRINGS_SHOWN = 100


class FormErrors(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def _field(loc: Sequence[str | int]) -> str:
    return str(loc[0]) if loc else ""


def alert_request(fields: dict[str, str]) -> AlertIn:
    """The API's body from the form: the scope's one id, empty fields left out, the
    threshold exact, addresses one per line or comma."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in ("name", "type", "metricId", "currency"):
        if raw := fields.get(name, "").strip():
            data[name] = raw
    scope = fields.get("scope", "customer")
    target = "priceId" if scope == "price" else "customerId"
    if raw := fields.get(target, "").strip():
        data[target] = raw
    else:
        errors[target] = said(LABELS[target], "choose one")
    if raw := fields.get("threshold", "").strip():
        try:
            data["threshold"] = Decimal(raw)
        except InvalidOperation:
            errors["threshold"] = said(LABELS["threshold"], NUMBER)
    else:
        errors["threshold"] = said(LABELS["threshold"], "enter a number")
    addresses = fields.get("emailAddresses", "").replace(",", "\n").split()
    data["emailAddresses"] = [a for a in addresses if a]
    data["includeTax"] = fields.get("includeTax") == "on"
    data["notifyCustomer"] = fields.get("notifyCustomer") == "on"
    try:
        body = AlertIn.model_validate(data)
    except ValidationError as invalid:
        for name, message in from_validation(invalid, _field, LABELS).by_field(FIELDS).items():
            errors.setdefault(name, message)
    if errors:
        raise FormErrors(errors)
    return body


def _choices(session: Session, account_id: str) -> dict[str, Any]:
    return {
        "customers": customers.customer_choices(session, account_id, limit=CHOICE_LIMIT),
        "prices": catalog.price_choices(session, account_id, CHOICE_LIMIT),
        "metrics": metering.metrics(session, account_id),
        "currencies": [c.value for c in Currency],
        "types": list(AlertType),
    }


@router.get("")
def alert_list(
    request: Request,
    viewer: SignedInViewer,
    session: DbSession,
    done: str | None = None,
    after: str | None = None,
    before: str | None = None,
) -> Response:
    """A page of the account's alerts, live and archived, as `GET /api/alerts` pages them."""
    paging = PageParams(limit=PAGE_SIZE, after=after or None, before=before or None)
    try:
        page = paginate(session, queries.alert_query(viewer.account_id), Alert.id, paging)
    except BadRequest as wrong:  # a cursor naming no alert of this account
        raise DashboardPageError(400, "Bad request", wrong.message) from wrong
    cursors = page.pagination
    return render(
        request,
        "dashboard/alerts/list.html",
        viewer=viewer,
        active=ALERTS,
        alerts=alerts_view.rows(session, viewer.account_id, page.rows),
        done=DONE.get(done or ""),
        older=f"?after={cursors.after}" if cursors.after else None,
        newer=f"?before={cursors.before}" if cursors.before else None,
    )


def _form_page(
    request: Request,
    session: Session,
    viewer: sessions.Viewer,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
    editing: str | None = None,
) -> HTMLResponse:
    """The create form, or with `editing` (an alert's id) its edit form."""
    return render(
        request,
        "dashboard/alerts/form.html",
        viewer=viewer,
        active=ALERTS,
        status_code=status,
        values=values,
        errors=errors or {},
        labels=LABELS,
        editing=editing,
        **_choices(session, viewer.account_id),
    )


def form_values(alert: Alert) -> dict[str, str]:
    """An alert as its form's fields (what `alert_request` reads back)."""
    values = {
        "name": alert.name,
        "type": alert.type.value,
        "scope": "price" if alert.price_id else "customer",
        "customerId": alert.customer_id or "",
        "priceId": alert.price_id or "",
        "metricId": alert.metric_id or "",
        "threshold": plain(alert.threshold),
        "currency": alert.currency or "",
        "emailAddresses": "\n".join(alert.email_addresses),
    }
    if alert.include_tax:
        values["includeTax"] = "on"
    if alert.notify_customer:
        values["notifyCustomer"] = "on"
    return values


@router.get("/new")
def new_alert(
    request: Request, viewer: SignedInViewer, session: DbSession, customerId: str = ""
) -> Response:
    # No currency preset: the default type (USAGE) takes none, and the API refuses one.
    values = {"scope": "customer", "customerId": customerId, "type": AlertType.USAGE.value}
    return _form_page(request, session, viewer, values)


@router.post("")
def create_alert(request: Request, form: PostedForm, session: DbSession) -> Response:
    viewer = form.viewer
    try:
        alert = service.create_alert(session, viewer.account_id, alert_request(form.fields))
    except FormErrors as invalid:
        errors = invalid.errors
    except TallyError as refused:  # the service's own checks (another account's id too)
        session.rollback()
        errors = from_service(refused, _field, LABELS).by_field(FIELDS)
    else:
        return RedirectResponse(f"{ALERTS}/{alert.id}?done=created", status_code=303)
    return _form_page(request, session, viewer, form.fields, errors, 422)


@router.get("/{alert_id}")
def alert_page(
    request: Request,
    alert_id: str,
    viewer: SignedInViewer,
    session: DbSession,
    done: str | None = None,
) -> Response:
    try:
        alert = service.get_alert(session, viewer.account_id, alert_id)
    except NotFound as missing:  # another account's, or never was
        raise DashboardPageError.not_found() from missing
    firings = queries.alert_firings(session, viewer.account_id, alert.id, FIRINGS_SHOWN)
    names = customers.customer_names(session, viewer.account_id, {f.customer_id for f in firings})
    return render(
        request,
        "dashboard/alerts/detail.html",
        viewer=viewer,
        active=ALERTS,
        alert=alerts_view.rows(session, viewer.account_id, [alert])[0],
        firings=alerts_view.firing_rows(firings, {alert.id: alert.name}),
        customer_names=names,
        done=DONE.get(done or ""),
    )


def _live_alert(session: Session, account_id: str, alert_id: str) -> Alert:
    try:
        alert = service.get_alert(session, account_id, alert_id)
    except NotFound as missing:  # another account's, or never was
        raise DashboardPageError.not_found() from missing
    if alert.archived_at is not None:
        raise DashboardPageError(400, "Archived", "An archived alert cannot be changed.")
    return alert


@router.get("/{alert_id}/edit")
def edit_alert(
    request: Request, alert_id: str, viewer: SignedInViewer, session: DbSession
) -> Response:
    alert = _live_alert(session, viewer.account_id, alert_id)
    return _form_page(request, session, viewer, form_values(alert), editing=alert.id)


@router.post("/{alert_id}")
def update_alert(alert_id: str, request: Request, form: PostedForm, session: DbSession) -> Response:
    viewer = form.viewer
    alert = _live_alert(session, viewer.account_id, alert_id)
    try:
        service.update_alert(session, viewer.account_id, alert.id, alert_request(form.fields))
    except FormErrors as invalid:
        errors = invalid.errors
    except TallyError as refused:
        session.rollback()
        errors = from_service(refused, _field, LABELS).by_field(FIELDS)
    else:
        return RedirectResponse(f"{ALERTS}/{alert_id}?done=updated", status_code=303)
    return _form_page(request, session, viewer, form.fields, errors, 422, editing=alert_id)


@router.post("/{alert_id}/archive")
def archive_alert(alert_id: str, form: PostedForm, session: DbSession) -> Response:
    try:
        service.archive_alert(session, form.viewer.account_id, alert_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    except TallyError as refused:  # archived already
        raise DashboardPageError(400, "Not archived", refused.message) from refused
    return RedirectResponse(f"{ALERTS}/{alert_id}?done=archived", status_code=303)
