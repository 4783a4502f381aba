"""The dashboard's webhook settings: the account's notification policies (webhooks and email
notifications), creating one, a policy's page (its signing secret, its recipients and event
types added and removed, a webhook policy's delivery log), and deleting it after a
confirmation.

Every change is the API's own: forms become `PolicyIn`, `RecipientsIn` and
`NotificationTypesIn` (`webhooks_forms`), handed to the `notifications.service` functions
behind /api/notifications/policies; policies and deliveries are shown through the API's
`PolicyOut` and `DeliveryOut`. A refused form answers 422 (409 when the policy no longer
holds what was removed) with the transaction rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Select
from sqlalchemy.orm import Session

from tally.api.deps import DbSession
from tally.api.pagination import PageParams, PageResult, RowT, paginate
from tally.dashboard.catalog_forms import Problems, from_service, from_validation
from tally.dashboard.sessions import Viewer
from tally.dashboard.web import (
    HOME,
    DashboardPageError,
    Form,
    PostedForm,
    SignedInViewer,
    render,
)
from tally.dashboard.webhooks_forms import (
    DONE,
    TYPE_FIELD,
    chosen_types,
    lines,
    notification_type,
    pager,
    policy_request,
)
from tally.exceptions import BadRequest, Conflict, InvalidRequest, NotFound
from tally.models import (
    DeliveryStatus,
    NotificationChannel,
    NotificationPolicy,
    WebhookDelivery,
)
from tally.notifications import queries as notification_queries
from tally.notifications import service
from tally.notifications.events import NotificationType
from tally.notifications.schemas import (
    DeliveryOut,
    NotificationTypesIn,
    PolicyOut,
    RecipientsIn,
)

SETTINGS = HOME + "/settings"
WEBHOOKS = SETTINGS + "/webhooks"
PAGE_SIZE = 20

router = APIRouter(prefix=WEBHOOKS, include_in_schema=False)


def _page(
    request: Request, template: str, viewer: Viewer, status: int = 200, **context: Any
) -> HTMLResponse:
    return render(
        request,
        f"dashboard/settings/{template}",
        viewer=viewer,
        active=SETTINGS,
        status_code=status,
        types=list(NotificationType),
        type_field=TYPE_FIELD,
        **context,
    )


def _one_page(
    request: Request, session: Session, query: Select[RowT], id_column: Any
) -> PageResult[RowT]:
    """A page of `query`, newest first, at the cursor the URL carries (as the API pages)."""
    params = request.query_params
    paging = PageParams(
        limit=PAGE_SIZE, after=params.get("after") or None, before=params.get("before") or None
    )
    try:
        if paging.after and paging.before:
            raise BadRequest("Give either `after` or `before`, not both.")
        page: PageResult[RowT] = paginate(session, query, id_column, paging)
    except BadRequest as wrong:
        raise DashboardPageError(400, "Bad request", wrong.message) from wrong
    return page


def _owned(session: Session, account_id: str, policy_id: str) -> NotificationPolicy:
    try:
        return service.get_policy(session, account_id, policy_id)
    except NotFound as missing:  # another account's, deleted, or never was
        raise DashboardPageError.not_found() from missing


# --- the list and the create form ------------------------------------------------------------


@router.get("")
def policy_list(
    request: Request, viewer: SignedInViewer, session: DbSession, done: str | None = None
) -> Response:
    query = service.policy_query(session, viewer.account_id)
    page = _one_page(request, session, query, NotificationPolicy.id)
    newer, older = pager(page.pagination, {})
    return _page(
        request,
        "webhooks.html",
        viewer,
        policies=[PolicyOut.build(policy) for policy in page.rows],
        newer=newer,
        older=older,
        done=DONE.get(done or ""),
    )


@router.get("/new")
def new_policy(request: Request, viewer: SignedInViewer) -> Response:
    values = {"channel": NotificationChannel.WEBHOOK.value}
    return _page(request, "webhooks_form.html", viewer, values=values, errors=Problems())


@router.post("")
def create_policy(request: Request, form: PostedForm, session: DbSession) -> Response:
    try:
        body = policy_request(form.fields)
        allowed = request.app.state.settings.webhook_allow_list
        policy = service.create_policy(session, form.viewer.account_id, body, allowed=allowed)
    except ValidationError as invalid:
        errors = from_validation(invalid)
    except InvalidRequest as refused:  # the service's own checks: URLs, addresses, secret
        session.rollback()
        errors = from_service(refused)
    else:
        return RedirectResponse(f"{WEBHOOKS}/{policy.id}?done=created", status_code=303)
    return _page(request, "webhooks_form.html", form.viewer, 422, values=form.fields, errors=errors)


# --- one policy ------------------------------------------------------------------------------


def _delivery_log(
    request: Request, session: Session, account_id: str, policy_id: str
) -> dict[str, Any]:
    """The API's delivery log of a webhook policy: a page of deliveries, newest first, with
    their events (one query for the page's events), filtered by status."""
    raw = request.query_params.get("status") or ""
    try:
        status = DeliveryStatus(raw) if raw else None
    except ValueError as unknown:
        raise DashboardPageError(
            400, "Bad request", f"{raw!r} is not a delivery status."
        ) from unknown
    query = service.delivery_query(account_id, policy_id, status)
    page = _one_page(request, session, query, WebhookDelivery.id)
    logged = service.with_events(session, account_id, page.rows)
    newer, older = pager(page.pagination, {"status": raw} if raw else {})
    return {
        "deliveries": [DeliveryOut.build(item.delivery, item.event) for item in logged],
        "status": raw,
        "statuses": list(DeliveryStatus),
        "total": page.pagination.total_result_size,
        "newer": newer,
        "older": older,
    }


def _policy_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    policy_id: str,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: Problems | None = None,
    error: str | None = None,
    done: str | None = None,
) -> HTMLResponse:
    policy = _owned(session, viewer.account_id, policy_id)
    shown = PolicyOut.build(policy)
    log = None
    if policy.channel is NotificationChannel.WEBHOOK:
        log = _delivery_log(request, session, viewer.account_id, policy.id)
    return _page(
        request,
        "webhooks_policy.html",
        viewer,
        status,
        policy=shown,
        # What the add form offers: the types not listed yet. A policy listing none
        # receives every type already: nothing to add.
        addable=[t for t in NotificationType if t not in shown.notification_types]
        if shown.notification_types
        else [],
        log=log,
        values=values or {},
        errors=errors or Problems(),
        error=error,
        done=DONE.get(done or ""),
    )


@router.get("/{policy_id}")
def policy_page(
    request: Request,
    policy_id: str,
    viewer: SignedInViewer,
    session: DbSession,
    done: str | None = None,
) -> Response:
    return _policy_page(request, session, viewer, policy_id, done=done)


def _change(
    request: Request,
    form: Form,
    session: Session,
    policy_id: str,
    done: str,
    change: Callable[[str], object],
) -> Response:
    """Run `change(account_id)` (it builds the API's request model and calls the service),
    then back to the policy's page; refused: the page with the errors, nothing changed."""
    viewer = form.viewer
    _owned(session, viewer.account_id, policy_id)  # another account's id: 404, whatever posted
    try:
        change(viewer.account_id)
    except ValidationError as invalid:
        errors, status, error = from_validation(invalid), 422, None
    except InvalidRequest as refused:
        errors, status, error = from_service(refused), 422, None
    except (Conflict, NotFound) as stale:  # the last type, or a page older than the policy
        errors, status, error = Problems(), 409, stale.message
    else:
        return RedirectResponse(f"{WEBHOOKS}/{policy_id}?done={done}", status_code=303)
    session.rollback()
    return _policy_page(
        request,
        session,
        viewer,
        policy_id,
        status=status,
        values=form.fields,
        errors=errors,
        error=error,
    )


@router.post("/{policy_id}/recipients")
def add_recipients(
    request: Request, policy_id: str, form: PostedForm, session: DbSession
) -> Response:
    def change(account_id: str) -> object:
        body = RecipientsIn.model_validate({"recipients": lines(form.get("recipients"))})
        allowed = request.app.state.settings.webhook_allow_list
        return service.add_recipients(
            session, account_id, policy_id, body.recipients, allowed=allowed
        )

    return _change(request, form, session, policy_id, "recipients-added", change)


@router.post("/{policy_id}/recipients/remove")
def remove_recipient(
    request: Request, policy_id: str, form: PostedForm, session: DbSession
) -> Response:
    def change(account_id: str) -> object:
        return service.remove_recipient(session, account_id, policy_id, form.get("recipient"))

    return _change(request, form, session, policy_id, "recipient-removed", change)


@router.post("/{policy_id}/notification-types")
def add_notification_types(
    request: Request, policy_id: str, form: PostedForm, session: DbSession
) -> Response:
    def change(account_id: str) -> object:
        body = NotificationTypesIn.model_validate({"notificationTypes": chosen_types(form.fields)})
        return service.add_notification_types(
            session, account_id, policy_id, body.notification_types
        )

    return _change(request, form, session, policy_id, "types-added", change)


@router.post("/{policy_id}/notification-types/remove")
def remove_notification_type(
    request: Request, policy_id: str, form: PostedForm, session: DbSession
) -> Response:
    def change(account_id: str) -> object:
        removed = notification_type(form.get("notification_type"))
        return service.remove_notification_type(session, account_id, policy_id, removed)

    return _change(request, form, session, policy_id, "type-removed", change)


# --- deleting --------------------------------------------------------------------------------


@router.get("/{policy_id}/delete")
def confirm_delete(
    request: Request, policy_id: str, viewer: SignedInViewer, session: DbSession
) -> Response:
    policy = _owned(session, viewer.account_id, policy_id)
    pending = notification_queries.pending_deliveries(session, viewer.account_id, policy.id)
    return _page(
        request, "webhooks_delete.html", viewer, policy=PolicyOut.build(policy), pending=pending
    )


@router.post("/{policy_id}/delete")
def delete_policy(policy_id: str, form: PostedForm, session: DbSession) -> Response:
    try:
        service.delete_policy(session, form.viewer.account_id, policy_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    return RedirectResponse(f"{WEBHOOKS}?done=deleted", status_code=303)
