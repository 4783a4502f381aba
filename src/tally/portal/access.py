"""Who is looking at the portal: the three ways in, each a FastAPI dependency giving a `Viewer`.

Interface (portal pages and the portal's JSON API build on it):

- `Viewer`: frozen; `account` and `customer` (ORM rows loaded in the request's own database
  session, so a page using `DbSession` shares that session and transaction), `settings` (a
  `PortalSettingsView`, defaults filled in), `base_path` (prefix of every link a page prints:
  `/portal/c/{portalKey}` or `/portal/s`), `via` (`"link"`, `"session"` or `"token"`),
  `has_grants` (the customer has credit grants: the Credits tab shows only then),
  `has_alerts` (the account has alerts: the Overview's alerts card reads them), `closed`
  (the customer is archived: its portal shows its sent invoices only, read-only).
  `viewer.url("/invoices")` joins a path onto `base_path`.
- `LinkViewer` (`link_viewer(portal_key)`): the permanent link `/portal/c/{portal_key}...`;
  declare the route with a `{portal_key}` path parameter.
- `SessionViewer` (`session_viewer`): the `tally_portal` cookie set by `GET /portal/session`,
  for `/portal/s...` pages.
- `TokenViewer` (`token_viewer`): the `X-Session-Token` header, for the JSON API.

Failures never show data:
- pages (`LinkViewer`, `SessionViewer`) raise `PortalPageError`, rendered as a small HTML page
  (`templates/portal/error.html`) by the handler `install_portal_errors` installs: 404 when the
  account's portal is off or the key is unknown (the two look the same); 401 "this link has
  expired, ask for a new one" for an expired, tampered, revoked or rotated-away session. An
  archived customer's link and sessions still open its invoices (`Viewer.closed`): the links
  its invoice emails carry must keep working while it owes them. Pages may raise
  `PortalPageError.not_found()` themselves (an invoice that is not the viewer's).
- the JSON API (`TokenViewer`) raises the API's JSON errors: 404 as above, 401
  `SessionExpired` for a bad token.

Bad credentials are throttled per client address (`app.state.limits`, the `portal` budget of
`TALLY_AUTH_FAILURE_LIMIT`, counted apart from bad API keys and sign-ins, so portal failures
never close the API to that address): every refused link, cookie or token counts a failure (a
missing one does not), and past the limit every portal request from that address answers 429
with `Retry-After` before any lookup, good credentials included (an HTML page for pages, the
API's JSON error for the JSON API).

Every lookup is one query joining the customer, its account and the account's settings.
Portal pages and the JSON API run their whole request through `as_viewer(request, resolve,
work)` (`resolve` one of `link_viewer_of`, `session_viewer`, `token_viewer_of`): the same
lookup and the same one-transaction rule as the dependencies, on one worker thread. A GET
may run on the read replica (`Database.replica_session`, keyed by the hashed credential); a
refusal there is confirmed on the primary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tally.api.deps import DbSession
from tally.core.clock import utcnow
from tally.core.hashing import hash_token
from tally.db import Database
from tally.exceptions import NotFound, Unauthorized
from tally.models import (
    Account,
    Alert,
    CreditAutoRecharge,
    CreditGrant,
    CreditTopUp,
    Customer,
    PortalSession,
    PortalSettings,
)
from tally.ops.limits import Limits, TooManyRequests
from tally.portal.security import csp_nonce
from tally.portal.sessions import is_live
from tally.portal.settings import PortalSettingsView, settings_view
from tally.portal.versions import version_columns

COOKIE_NAME = "tally_portal"
SESSION_BASE_PATH = "/portal/s"
LINK_PREFIX = "/portal/c/"

Via = Literal["link", "session", "token"]
_T = TypeVar("_T")


@dataclass(frozen=True)
class Viewer:
    account: Account
    customer: Customer
    settings: PortalSettingsView
    base_path: str
    via: Via
    has_grants: bool = False  # the customer has credit grants: the Credits tab may show
    # What the customer's pages show, read with the lookup (`versions.version_columns`).
    data_version: tuple[Any, ...] = ()
    has_alerts: bool = True  # the account has alerts (any state): the alerts card reads them

    def url(self, path: str = "") -> str:
        """A portal URL for this viewer: `viewer.url("/invoices")`."""
        return self.base_path + path

    @property
    def closed(self) -> bool:
        """The customer is archived: its account is closed, its sent invoices still shown."""
        return self.customer.archived_at is not None


class PortalPageError(Exception):
    """A portal page that cannot be shown; rendered as HTML with no customer data."""

    def __init__(
        self, status_code: int, title: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.title = title
        self.message = message
        self.headers = headers

    @classmethod
    def not_found(cls) -> PortalPageError:
        return cls(
            404,
            "Page not found",
            "There is no billing portal at this address. Check the link you were given, or "
            "ask the company that bills you for a new one.",
        )

    @classmethod
    def expired(cls) -> PortalPageError:
        return cls(
            401,
            "This link has expired",
            "Portal links given for a session are valid for a limited time, and this one is "
            "no longer valid. Ask the company that bills you for a new link.",
        )

    @classmethod
    def throttled(cls, refused: TooManyRequests) -> PortalPageError:
        return cls(
            429,
            "Too many attempts",
            "Too many portal links that do not work were opened from your network. Wait a few "
            "minutes, then try your link again.",
            refused.headers,
        )


class SessionExpired(Unauthorized):
    """401 for the JSON API: no Basic challenge, the token is the credential."""

    headers = {}  # noqa: RUF012 - never mutated

    def __init__(self) -> None:
        super().__init__(
            "The session token has expired or is not valid; ask for a new portal session."
        )


def _portal_not_found() -> NotFound:
    return NotFound("No customer portal for this token.")


# -- throttling ------------------------------------------------------------------------------


def _limits(request: Request) -> tuple[Limits | None, str]:
    """The app's limiter and the client address it counts by (as the API's auth does)."""
    limits: Limits | None = getattr(request.app.state, "limits", None)
    return limits, request.client.host if request.client else "unknown"


@contextmanager
def _throttled(request: Request, *, page: bool) -> Iterator[None]:
    """Refuse an address that failed too often, then count a failure if the credential is
    refused. A portal secret or token is 256 random bits: this is about load and noise (the
    same lookups hammered from one place), not about guessing."""
    limits, client = _limits(request)
    if limits is None:
        yield
        return
    try:
        limits.check_failures("portal", client)
    except TooManyRequests as refused:
        if page:
            raise PortalPageError.throttled(refused) from None
        raise
    try:
        yield
    except (PortalPageError, SessionExpired, NotFound):
        if not getattr(request.state, "portal_on_replica", False):  # confirmed on the primary
            limits.failed("portal", client)
        raise


# -- lookups ---------------------------------------------------------------------------------


# Built once: every portal request runs one of them, and a statement built per call costs
# more Python than its round trip (SQLAlchemy memoizes the cache key of a statement object).
def _has_grants() -> Any:
    """Whether the looked-up customer has credit grants, top-ups or an auto-recharge
    (correlated EXISTS, so the Credits tab costs no query of its own)."""
    return or_(
        exists().where(
            CreditGrant.account_id == Customer.account_id, CreditGrant.customer_id == Customer.id
        ),
        exists().where(
            CreditTopUp.account_id == Customer.account_id, CreditTopUp.customer_id == Customer.id
        ),
        exists().where(
            CreditAutoRecharge.account_id == Customer.account_id,
            CreditAutoRecharge.customer_id == Customer.id,
            CreditAutoRecharge.deleted_at.is_(None),
        ),
    ).label("has_grants")


def _has_alerts() -> Any:
    """Whether the account has alerts at all (deleted ones count: then they are read and
    found not to apply): an account without any skips the Overview card's queries."""
    return exists().where(Alert.account_id == Customer.account_id).label("has_alerts")


_BY_KEY = (
    select(Customer, Account, PortalSettings, _has_grants(), _has_alerts(), *version_columns())
    .join(Account, Account.id == Customer.account_id)
    .outerjoin(PortalSettings, PortalSettings.account_id == Customer.account_id)
    .where(Customer.portal_secret == bindparam("portal_key"))
)
_BY_TOKEN = (
    select(
        PortalSession,
        Customer,
        Account,
        PortalSettings,
        _has_grants(),
        _has_alerts(),
        *version_columns(),
    )
    .join(
        Customer,
        (Customer.id == PortalSession.customer_id)
        & (Customer.account_id == PortalSession.account_id),
    )
    .join(Account, Account.id == PortalSession.account_id)
    .outerjoin(PortalSettings, PortalSettings.account_id == PortalSession.account_id)
    .where(PortalSession.token_hash == bindparam("token_hash"))
)


def _by_key(
    session: Session, portal_key: str
) -> tuple[Customer, Account, PortalSettingsView, bool, bool, tuple[Any, ...]]:
    row = session.execute(_BY_KEY, {"portal_key": portal_key}).one_or_none()
    if row is None:
        raise PortalPageError.not_found()
    customer, account, stored, has_grants, has_alerts, *version = row
    settings = settings_view(stored, account)
    if not settings.enabled:
        raise PortalPageError.not_found()
    return customer, account, settings, bool(has_grants), bool(has_alerts), tuple(version)


@dataclass(frozen=True)
class _TokenLookup:
    customer: Customer
    account: Account
    settings: PortalSettingsView
    expires_at: datetime
    live: bool
    has_grants: bool
    has_alerts: bool
    data_version: tuple[Any, ...]


def _by_token(session: Session, token: str | None) -> _TokenLookup | None:
    """The session a token names, or None when no session has that token."""
    if not token or len(token) > 200:
        return None
    row = session.execute(_BY_TOKEN, {"token_hash": hash_token(token)}).one_or_none()
    if row is None:
        return None
    record, customer, account, stored, has_grants, has_alerts, *version = row
    return _TokenLookup(
        customer,
        account,
        settings_view(stored, account),
        record.expires_at,
        is_live(record, customer, utcnow()),
        bool(has_grants),
        bool(has_alerts),
        tuple(version),
    )


def _remember(request: Request, viewer: Viewer) -> Viewer:
    # The security middleware reads the settings to answer with the account's frame-ancestors.
    request.state.portal_settings = viewer.settings
    request.state.portal_viewer = viewer
    return viewer


# -- dependencies ----------------------------------------------------------------------------


def link_viewer(portal_key: str, request: Request, session: DbSession) -> Viewer:
    """The permanent link `/portal/c/{portal_key}`: the key is the customer's portal secret."""
    with _throttled(request, page=True):
        customer, account, settings, has_grants, has_alerts, version = _by_key(session, portal_key)
    viewer = Viewer(
        account,
        customer,
        settings,
        LINK_PREFIX + portal_key,
        "link",
        has_grants,
        version,
        has_alerts,
    )
    return _remember(request, viewer)


def session_from_token(request: Request, session: Session, token: str | None) -> _TokenLookup:
    """A token's session for a page: PortalPageError unless it opens the portal now."""
    if not token:  # no cookie (a bookmark, a cookie the browser let expire): not a failure
        raise PortalPageError.expired()
    with _throttled(request, page=True):
        found = _by_token(session, token)
        if found is None:
            raise PortalPageError.expired()
        if not found.settings.enabled:
            raise PortalPageError.not_found()
        if not found.live:
            raise PortalPageError.expired()
    return found


def session_viewer(request: Request, session: DbSession) -> Viewer:
    """`/portal/s...` pages: the `tally_portal` cookie `GET /portal/session` set."""
    found = session_from_token(request, session, request.cookies.get(COOKIE_NAME))
    return _remember(
        request,
        Viewer(
            found.account,
            found.customer,
            found.settings,
            SESSION_BASE_PATH,
            "session",
            found.has_grants,
            found.data_version,
            found.has_alerts,
        ),
    )


def token_viewer(
    request: Request,
    session: DbSession,
    x_session_token: Annotated[str | None, Header(alias="X-Session-Token")] = None,
) -> Viewer:
    """The portal's JSON API: the `X-Session-Token` header; JSON errors."""
    if not x_session_token:  # as the API's auth: a missing credential is no failed attempt
        raise SessionExpired()
    with _throttled(request, page=False):
        found = _by_token(session, x_session_token)
        if found is None:
            raise SessionExpired()
        if not found.settings.enabled:
            raise _portal_not_found()
        if not found.live:
            raise SessionExpired()
    return _remember(
        request,
        Viewer(
            found.account,
            found.customer,
            found.settings,
            SESSION_BASE_PATH,
            "token",
            found.has_grants,
            found.data_version,
            found.has_alerts,
        ),
    )


def link_viewer_of(request: Request, session: Session) -> Viewer:
    """`link_viewer` for a request routed with a `{portal_key}` path parameter."""
    return link_viewer(request.path_params["portal_key"], request, session)


def token_viewer_of(request: Request, session: Session) -> Viewer:
    """`token_viewer` reading the header itself."""
    return token_viewer(request, session, request.headers.get("X-Session-Token"))


Resolve = Callable[[Request, Session], Viewer]


async def as_viewer(
    request: Request, resolve: Resolve, work: Callable[[Session, Viewer], _T]
) -> _T:
    """Run `work` for the viewer `resolve` finds, in one transaction on one worker thread.

    What the `DbSession` and viewer dependencies do, without their three extra hops to the
    thread pool (session opened, viewer looked up, session closed): a portal page is a few
    milliseconds of work, and every hop costs a wake-up and a GIL hand-over under load.
    Failures propagate as the dependencies' do (`PortalPageError`, the API's errors)."""
    return await run_in_threadpool(_in_transaction, request, resolve, work)


def _in_transaction(
    request: Request, resolve: Resolve, work: Callable[[Session, Viewer], _T]
) -> _T:
    database: Database = request.app.state.db
    client = _read_client(request)
    request.state.read_client = client  # a payment started here moves this client's fence
    if request.method == "GET":
        session = database.replica_session(client, lookup=True)
        if database.on_replica(session):
            # A refusal read on the replica is confirmed on the primary: a session or an
            # invoice made a moment ago may not be replayed yet. Counted as a failure there.
            request.state.portal_on_replica = True
            try:
                return _run(session, request, resolve, work)
            except (PortalPageError, SessionExpired, NotFound):
                pass
            finally:
                request.state.portal_on_replica = False
        else:
            return _run(session, request, resolve, work)
    return _run(database.lookup_session(), request, resolve, work)


def _run(
    session: Session, request: Request, resolve: Resolve, work: Callable[[Session, Viewer], _T]
) -> _T:
    with session:
        try:
            result = work(session, resolve(request, session))
            session.commit()
        except BaseException:
            session.rollback()
            raise
    return result


def _read_client(request: Request) -> str | None:
    """Whose writes this portal request's reads follow: its credential (hashed: the fence
    table holds no secret), as the viewer's resolver reads it."""
    credential = (
        request.path_params.get("portal_key")
        or request.headers.get("X-Session-Token")
        or request.cookies.get(COOKIE_NAME)
    )
    return f"portal:{hash_token(credential)}" if credential else None


LinkViewer = Annotated[Viewer, Depends(link_viewer)]
SessionViewer = Annotated[Viewer, Depends(session_viewer)]
TokenViewer = Annotated[Viewer, Depends(token_viewer)]


# -- the error page --------------------------------------------------------------------------

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    auto_reload=False,
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def error_page(request: Request, error: PortalPageError) -> Response:
    """The HTML page of a portal failure: what happened and what to do, nothing else."""
    body = _templates.get_template("portal/error.html").render(
        title=error.title, message=error.message, nonce=csp_nonce(request)
    )
    return HTMLResponse(body, status_code=error.status_code, headers=error.headers)


async def _portal_page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PortalPageError)
    return error_page(request, exc)


def install_portal_errors(app: FastAPI) -> None:
    app.add_exception_handler(PortalPageError, _portal_page_error)
