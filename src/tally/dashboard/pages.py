"""The dashboard's own pages: sign in and out, home, password change, API keys.

Server-rendered (Jinja2, autoescaped), usable without JavaScript, styled by the portal's
stylesheet plus a small one of the dashboard's. Every POST is a CSRF-checked form
(`web.PostedForm`; the sign-in form by double submit, as no session exists yet) answered by
a redirect, except the new API key's page, which is the only place its secret is shown.
API keys are created and revoked by `tally.accounts.service`, as for the CLI and the API.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from tally.accounts import service as accounts
from tally.api.deps import DbSession, get_database
from tally.dashboard import overview, sessions, users
from tally.dashboard.security import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    DashboardSecurityMiddleware,
    clear_cookie,
    set_cookie,
)
from tally.dashboard.web import (
    HOME,
    SIGN_IN,
    DashboardPageError,
    Fields,
    PostedForm,
    SignedInViewer,
    install_errors,
    refused_csrf,
    render,
    safe_next,
    session_token,
)
from tally.db import Database
from tally.exceptions import InvalidRequest, NotFound
from tally.models.scoped import get_account
from tally.ops.limits import Door, Limits, TooManyRequests
from tally.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"
API_KEYS = "/dashboard/api-keys"
CSRF_TOKEN_LENGTH = len(secrets.token_urlsafe(32))

router = APIRouter(prefix=HOME, include_in_schema=False)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# --- signing in and out ----------------------------------------------------------------------


def _sign_in_page(
    request: Request, next_path: str, *, email: str = "", error: str | None = None, status: int
) -> HTMLResponse:
    # Reuse the browser's pre-session token: sign-in forms open in several tabs all work.
    token = request.cookies.get(CSRF_COOKIE, "")
    if len(token) != CSRF_TOKEN_LENGTH:
        token = secrets.token_urlsafe(32)
    response = render(
        request,
        "dashboard/sign_in.html",
        status_code=status,
        csrf_token=token,
        next_path=next_path,
        email=email,
        error=error,
    )
    set_cookie(response, _settings(request), CSRF_COOKIE, token)
    return response


@router.get("/sign-in")
def sign_in_form(
    request: Request,
    db: Annotated[Database, Depends(get_database)],
    next_path: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    if token := session_token(request):
        with db.session(write=False) as session:
            if sessions.viewer(session, token) is not None:  # signed in already
                return RedirectResponse(safe_next(next_path), status_code=303)
    return _sign_in_page(request, safe_next(next_path), status=200)


def _throttle_keys(request: Request, email: str) -> list[tuple[Door, str]]:
    # Per address (one guesser, many emails) and per email from that address (one guesser,
    # one user): never per email alone, or anyone could lock any user out from anywhere.
    client = request.client.host if request.client else "unknown"
    return [("sign_in", client), ("sign_in_email", f"{email.strip().lower()[:254]} {client}")]


@router.post("/sign-in")
def sign_in(request: Request, fields: Fields) -> Response:
    if not sessions.csrf_matches(request.cookies.get(CSRF_COOKIE, ""), fields.get("csrf_token")):
        raise refused_csrf()
    email, password = fields.get("email", ""), fields.get("password", "")
    next_path = safe_next(fields.get("next"))
    limits: Limits | None = getattr(request.app.state, "limits", None)
    keys = _throttle_keys(request, email)
    if limits is not None:
        try:
            for door, key in keys:
                limits.check_failures(door, key)
        except TooManyRequests as refused:
            raise DashboardPageError(
                429,
                "Too many attempts",
                "Too many failed sign-ins from here. Wait a few minutes, then try again.",
                headers=refused.headers,
            ) from refused
    db: Database = request.app.state.db
    # The password check (slow on purpose) runs outside the write transaction.
    with db.session(write=False) as session:
        check = users.check_password(session, email, password)
    if check is None:
        if limits is not None:
            for door, key in keys:
                limits.failed(door, key)
        return _sign_in_page(
            request, next_path, email=email, error="Wrong email or password.", status=401
        )
    settings = _settings(request)
    with db.transaction() as session:
        if previous := session_token(request):
            sessions.sign_out(session, previous)  # a new sign-in never keeps an old token
        signed_in = sessions.sign_in(
            session, check, ttl_seconds=settings.dashboard_session_ttl_seconds
        )
    response = RedirectResponse(next_path, status_code=303)
    set_cookie(
        response,
        settings,
        SESSION_COOKIE,
        signed_in.token,
        max_age=settings.dashboard_session_ttl_seconds,
    )
    clear_cookie(response, settings, CSRF_COOKIE)
    return response


@router.post("/sign-out")
def sign_out(request: Request, form: PostedForm, session: DbSession) -> Response:
    sessions.sign_out(session, session_token(request))
    response = RedirectResponse(SIGN_IN, status_code=303)
    clear_cookie(response, _settings(request), SESSION_COOKIE)
    return response


# --- home and password -----------------------------------------------------------------------


@router.get("")
def home(request: Request, viewer: SignedInViewer, session: DbSession) -> Response:
    settings = _settings(request)
    return render(
        request,
        "dashboard/home.html",
        viewer=viewer,
        active=HOME,
        cards=overview.invoice_cards(session, viewer.account_id),
        seller_missing=overview.seller_missing(session, viewer.account_id),
        figures=overview.analytics_figures(session, viewer.account_id),
        api_base=settings.public_url.rstrip("/") + "/api",
    )


@router.get("/password")
def password_form(request: Request, viewer: SignedInViewer) -> Response:
    return render(request, "dashboard/password.html", viewer=viewer, error=None, changed=False)


@router.post("/password")
def change_password(request: Request, form: PostedForm, session: DbSession) -> Response:
    viewer = form.viewer
    error = None
    if form.get("new_password") != form.get("confirm_password"):
        error = "The new password and its confirmation differ."
    else:
        try:
            users.change_password(
                session,
                viewer.account_id,
                viewer.user_id,
                form.get("current_password"),
                form.get("new_password"),
            )
        except InvalidRequest as invalid:
            error = _sentence(invalid)
    if error is not None:
        return render(
            request,
            "dashboard/password.html",
            viewer=viewer,
            error=error,
            changed=False,
            status_code=422,
        )
    # A changed password ends every other sign-in of the user: the reason to change it may
    # be someone else holding it.
    sessions.revoke_other_sessions(session, viewer)
    return render(request, "dashboard/password.html", viewer=viewer, error=None, changed=True)


def _sentence(invalid: InvalidRequest) -> str:
    field, _, message = invalid.message.partition(": ")
    names = {"currentPassword": "Current password", "password": "New password"}
    return f"{names.get(field, field)} {message}." if message else invalid.message


# --- API keys --------------------------------------------------------------------------------


def _api_keys_page(
    request: Request,
    session: DbSession,
    viewer: sessions.Viewer,
    *,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "dashboard/api_keys.html",
        viewer=viewer,
        active=API_KEYS,
        keys=accounts.api_keys(session, viewer.account_id),
        error=error,
        status_code=status,
    )


@router.get("/api-keys")
def api_keys(request: Request, viewer: SignedInViewer, session: DbSession) -> Response:
    return _api_keys_page(request, session, viewer)


@router.post("/api-keys")
def create_api_key(request: Request, form: PostedForm, session: DbSession) -> Response:
    viewer = form.viewer
    name = form.get("name").strip()
    if len(name) > 200:
        return _api_keys_page(
            request, session, viewer, status=422, error="A key's name is at most 200 characters."
        )
    account = get_account(session, viewer.account_id)
    credentials = accounts.issue_api_key(session, account, name=name)
    settings = _settings(request)
    return render(
        request,
        "dashboard/api_key_created.html",
        viewer=viewer,
        active=API_KEYS,
        name=name,
        credentials=credentials,
        api_base=settings.public_url.rstrip("/") + "/api",
        status_code=201,
    )


@router.get("/api-keys/{api_key_id}/revoke")
def confirm_revoke(
    request: Request, api_key_id: str, viewer: SignedInViewer, session: DbSession
) -> Response:
    try:
        api_key = accounts.get_api_key(session, viewer.account_id, api_key_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    return render(
        request, "dashboard/api_key_revoke.html", viewer=viewer, active=API_KEYS, api_key=api_key
    )


@router.post("/api-keys/{api_key_id}/revoke")
def revoke_api_key(form: PostedForm, api_key_id: str, session: DbSession) -> Response:
    try:
        accounts.revoke_api_key(session, form.viewer.account_id, api_key_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    return RedirectResponse(API_KEYS, status_code=303)


def install_dashboard(app: FastAPI) -> None:
    """The dashboard's pages, static files, headers and error pages."""
    app.add_middleware(DashboardSecurityMiddleware)
    install_errors(app)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
    app.include_router(router)
    # Imported here: each section imports `web`, and `pages` is imported by `tally.app`.
    from tally.dashboard import (  # noqa: PLC0415
        account_settings,
        alerts,
        analytics,
        catalog,
        catalog_edit,
        catalog_metrics,
        catalog_tax_rates,
        collection,
        credits,
        credits_top_ups,
        customers,
        invoices,
        payment_settings,
        payments,
        reminders,
        schedules,
        schedules_edit,
        usage,
        webhooks,
    )

    for section in (
        alerts,
        analytics,
        collection,
        invoices,
        payments,
        reminders,
        credits,
        credits_top_ups,
        customers,
        catalog_edit,  # before catalog: its fixed paths must win over catalog's {id} paths
        catalog,
        catalog_metrics,
        catalog_tax_rates,
        schedules_edit,
        schedules,
        usage,
        webhooks,  # before account_settings, for the same reason
        payment_settings,
        account_settings,
    ):
        app.include_router(section.router)
