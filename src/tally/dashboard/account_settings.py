"""The dashboard's Settings: the account, the portal's branding, and the portal itself.

- Account (`/dashboard/settings`): `AccountUpdate` from the form, saved by
  `workflows.account_settings.update_account`, as `PUT /api/sequence-accounts/{id}` does.
- Branding (`/settings/branding`) and Customer portal (`/settings/portal`): each builds the
  whole `PortalSettingsIn` the `PUT /api/portal-settings` takes, from the stored settings with
  only its own fields changed, saved by `portal.settings.save_settings`.

Bodies come from `account_settings_forms`; the models' validation is the API's, shown next
to the fields with a 422, and nothing is saved then. A saved form redirects back (303) with
`?saved=1`. Every page is the signed-in account's: no id in any path, so no other account's
settings can be asked for. Webhooks (`/settings/webhooks`) are `webhooks.py`'s.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tally.accounts.schemas import AccountOut, iana_time_zones
from tally.api.deps import DbSession
from tally.api.types import Currency
from tally.core.i18n import language_choices
from tally.dashboard import sessions
from tally.dashboard.account_settings_forms import (
    HEX_COLOR,
    FormErrors,
    account_form,
    account_request,
    branding_form,
    branding_request,
    picker_color,
    portal_form,
    portal_request,
    posted_account_form,
    posted_branding_form,
    posted_portal_form,
)
from tally.dashboard.web import HOME, PostedForm, SignedInViewer, render
from tally.models import PortalTab
from tally.models.scoped import get_account
from tally.portal import settings as portal_settings
from tally.portal.settings_schemas import PortalSettingsOut
from tally.workflows import account_settings as settings_workflow

SETTINGS = HOME + "/settings"
BRANDING = SETTINGS + "/branding"
PORTAL = SETTINGS + "/portal"
TAB_LABELS = {
    PortalTab.OVERVIEW: "Overview",
    PortalTab.INVOICES: "Invoices",
    PortalTab.USAGE: "Usage",
    PortalTab.CREDITS: "Credits (only to customers who have credits)",
}

router = APIRouter(prefix=SETTINGS, include_in_schema=False)


def _page(
    request: Request,
    viewer: sessions.Viewer,
    template: str,
    *,
    form: dict[str, Any],
    errors: dict[str, str] | None = None,
    saved: bool = False,
    **context: Any,
) -> HTMLResponse:
    return render(
        request,
        f"dashboard/settings/{template}",
        viewer=viewer,
        active=SETTINGS,
        status_code=422 if errors else 200,
        form=form,
        errors=errors or {},
        saved=saved,
        **context,
    )


def _stored_portal(session: Session, account_id: str) -> PortalSettingsOut:
    return PortalSettingsOut.build(portal_settings.stored_settings(session, account_id))


# --- account ---------------------------------------------------------------------------------


def _account_page(
    request: Request, viewer: sessions.Viewer, form: dict[str, Any], **context: Any
) -> HTMLResponse:
    return _page(
        request,
        viewer,
        "account.html",
        form=form,
        time_zones=iana_time_zones(),
        currencies=[currency.value for currency in Currency],
        languages=language_choices(),
        **context,
    )


@router.get("")
def account_settings(
    request: Request, viewer: SignedInViewer, session: DbSession, saved: str | None = None
) -> Response:
    account = AccountOut.build(get_account(session, viewer.account_id))
    return _account_page(request, viewer, account_form(account), saved=saved == "1")


@router.post("")
def save_account_settings(request: Request, posted: PostedForm, session: DbSession) -> Response:
    viewer = posted.viewer
    account = get_account(session, viewer.account_id)
    try:
        body = account_request(posted.fields, had_logo=bool(account.logo_url))
    except FormErrors as invalid:
        form = posted_account_form(posted.fields)
        return _account_page(request, viewer, form, errors=invalid.errors)
    settings_workflow.update_account(session, viewer.account_id, body)
    return RedirectResponse(f"{SETTINGS}?saved=1", status_code=303)


# --- branding --------------------------------------------------------------------------------


def _branding_page(
    request: Request,
    session: Session,
    viewer: sessions.Viewer,
    form: dict[str, Any],
    **context: Any,
) -> HTMLResponse:
    # The preview shows what the portal shows now: the saved colour (preview.css), the
    # account's logo when the portal has none. Only a data: logo can show here: the
    # dashboard's CSP loads images from this server alone.
    shown = portal_settings.load_settings(session, viewer.account_id)
    logo = shown.logo_url if (shown.logo_url or "")[:5].lower() == "data:" else None
    return _page(
        request,
        viewer,
        "branding.html",
        form=form,
        picker=picker_color(form["brandColor"]),
        preview=shown,
        preview_logo=logo,
        **context,
    )


@router.get("/branding")
def branding_settings(
    request: Request, viewer: SignedInViewer, session: DbSession, saved: str | None = None
) -> Response:
    stored = _stored_portal(session, viewer.account_id)
    return _branding_page(request, session, viewer, branding_form(stored), saved=saved == "1")


@router.post("/branding")
def save_branding(request: Request, posted: PostedForm, session: DbSession) -> Response:
    viewer = posted.viewer
    stored = _stored_portal(session, viewer.account_id)
    try:
        body = branding_request(posted.fields, stored)
    except FormErrors as invalid:
        form = posted_branding_form(posted.fields)
        return _branding_page(request, session, viewer, form, errors=invalid.errors)
    portal_settings.save_settings(session, viewer.account_id, body.change())
    return RedirectResponse(f"{BRANDING}?saved=1", status_code=303)


@router.get("/branding/preview.css")
def branding_preview_css(viewer: SignedInViewer, session: DbSession) -> Response:
    """The saved brand colour for the preview: a stylesheet, as the CSP allows no inline
    style. The colour was validated as #rrggbb when saved, and is checked again here, as
    it is printed into CSS."""
    color = _stored_portal(session, viewer.account_id).brand_color
    css = (
        f".brand-preview {{ --brand: {color}; }}\n" if color and HEX_COLOR.fullmatch(color) else ""
    )
    return Response(css, media_type="text/css")


# --- the customer portal ---------------------------------------------------------------------


def _portal_page(
    request: Request, viewer: sessions.Viewer, form: dict[str, Any], **context: Any
) -> HTMLResponse:
    return _page(
        request,
        viewer,
        "portal.html",
        form=form,
        tab_labels=[(tab.value, label) for tab, label in TAB_LABELS.items()],
        **context,
    )


@router.get("/portal")
def portal_settings_page(
    request: Request, viewer: SignedInViewer, session: DbSession, saved: str | None = None
) -> Response:
    stored = _stored_portal(session, viewer.account_id)
    return _portal_page(request, viewer, portal_form(stored), saved=saved == "1")


@router.post("/portal")
def save_portal_settings(request: Request, posted: PostedForm, session: DbSession) -> Response:
    viewer = posted.viewer
    stored = _stored_portal(session, viewer.account_id)
    try:
        body = portal_request(posted.fields, stored)
    except FormErrors as invalid:
        form = posted_portal_form(posted.fields)
        return _portal_page(request, viewer, form, errors=invalid.errors)
    portal_settings.save_settings(session, viewer.account_id, body.change())
    return RedirectResponse(f"{PORTAL}?saved=1", status_code=303)
