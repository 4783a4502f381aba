"""Opening the portal: session tokens for merchants (API key), link rotation, and the
exchange of a token for a cookie (the customer's browser).

- `POST /api/customers/{id}/portal-sessions` and Flexprice's
  `GET /v1/customers/portal/{external_id}` answer `{token, url, expires_at}`.
- `POST /api/customers/{id}/portal-link/rotate` gives the customer a new portal secret.
- `GET /portal/session?token=...` sets the `tally_portal` cookie and redirects (303) to
  `/portal/s`, so the token leaves the address bar and the browser history.

The cookie is HttpOnly and SameSite=Lax. When the account lets other origins embed the portal
(`frame_ancestors`), it is `SameSite=None; Secure` instead: browsers do not send a Lax cookie
inside a cross-site iframe, so an embedded portal could not get past its first page. Secure
cookies need HTTPS (browsers treat http://localhost as secure too); embedding is a production
setup behind TLS.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from tally.api.auth import CurrentAccount, require_api_key
from tally.api.deps import DbSession, get_database
from tally.api.errors import ERROR_RESPONSES
from tally.api.guards import reject_nul_characters, reject_unknown_query_parameters
from tally.api.routing import api_router
from tally.core.clock import utcnow
from tally.customers import presenters
from tally.customers import service as customers
from tally.customers.schemas import CustomerOut
from tally.db import Database
from tally.portal import sessions
from tally.portal.access import COOKIE_NAME, SESSION_BASE_PATH, session_from_token
from tally.settings import Settings

router = api_router(tags=["Customer portal"])

# Flexprice's path lives outside /api; the same authentication as the rest of the API.
flexprice_router = APIRouter(
    prefix="/v1",
    tags=["Customer portal"],
    responses=ERROR_RESPONSES,
    dependencies=[
        Depends(reject_nul_characters),
        Depends(reject_unknown_query_parameters),
        Depends(require_api_key),
    ],
)

exchange_router = APIRouter(include_in_schema=False)


class PortalSessionOut(BaseModel):
    """Flexprice's portal session answer (snake_case, as its clients read it)."""

    token: str
    url: str
    expires_at: datetime


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _answer(issued: sessions.IssuedSession) -> PortalSessionOut:
    return PortalSessionOut(token=issued.token, url=issued.url, expires_at=issued.expires_at)


@router.post(
    "/customers/{id}/portal-sessions",
    summary="Create a customer portal session",
    status_code=201,
)
def create_portal_session(
    id: str, request: Request, account: CurrentAccount, session: DbSession
) -> PortalSessionOut:
    settings = _settings(request)
    issued = sessions.issue_session(
        session,
        account.account_id,
        id,
        base_url=settings.public_url,
        ttl_seconds=settings.portal_session_ttl_seconds,
    )
    return _answer(issued)


@flexprice_router.get(
    "/customers/portal/{external_id}", summary="Create a customer portal session (Flexprice)"
)
def flexprice_portal_session(
    external_id: str,
    request: Request,
    account: CurrentAccount,
    database: Annotated[Database, Depends(get_database)],
) -> PortalSessionOut:
    """A GET that writes (Flexprice's design): its own write transaction, since the request's
    unit of work is read-only for GETs (on SQLite a read cannot safely become a write)."""
    settings = _settings(request)
    with database.transaction() as session:
        issued = sessions.issue_session_by_alias(
            session,
            account.account_id,
            external_id,
            base_url=settings.public_url,
            ttl_seconds=settings.portal_session_ttl_seconds,
        )
    return _answer(issued)


@router.post("/customers/{id}/portal-link/rotate", summary="Rotate a customer's portal link")
def rotate_portal_link(
    id: str, request: Request, account: CurrentAccount, session: DbSession
) -> CustomerOut:
    """The old link and every session issued under it stop working at once."""
    sessions.rotate_secret(session, account.account_id, id)
    customer = customers.get_customer(session, account.account_id, id)
    views = presenters.customer_views(
        session, account.account_id, [customer], base_url=_settings(request).public_url
    )
    return views[0]


@exchange_router.get("/portal/session")
def open_portal_session(
    request: Request,
    session: DbSession,
    token: Annotated[str | None, Query()] = None,
) -> RedirectResponse:
    """Exchange a session token for the portal cookie, then drop the token from the URL."""
    found = session_from_token(request, session, token)
    request.state.portal_settings = found.settings
    response = RedirectResponse(SESSION_BASE_PATH, status_code=303)
    embeddable = found.settings.embeddable
    response.set_cookie(
        COOKIE_NAME,
        token or "",
        # The cookie ends with the token; the token's expiry is checked on every request anyway.
        max_age=max(1, int((found.expires_at - utcnow()).total_seconds())),
        path="/portal",
        httponly=True,
        secure=embeddable or request.url.scheme == "https",
        samesite="none" if embeddable else "lax",
    )
    return response
