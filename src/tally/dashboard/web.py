"""What every dashboard page shares: templates, navigation, who is signed in, posted forms
and their CSRF check, error pages.

Interface for the dashboard's sections (built on this):
- `SignedInViewer`: a dependency giving the session's `sessions.Viewer`; without a live
  session a GET is redirected to the sign-in form (then back), anything else too.
- `PostedForm`: for every POST handler: the viewer plus the form's fields, once the form's
  `csrf_token` field (or an `X-CSRF-Token` header) matched the session's; else a 403 page and
  the handler never runs. Templates print `{{ csrf_field(viewer) }}` inside each form.
- `render(request, "dashboard/x.html", viewer=..., active="/dashboard/x", ...)`: a page in
  `templates/dashboard/` extending `base.html`.
- `DashboardPageError(status, title, message)`: raise it for an HTML error page.
- Navigation (`SECTIONS`) lists every section's path; an entry shows once the app serves a
  GET route at that path, so a new section appears by registering its page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_time
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import iter_route_contexts
from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from tally.api.deps import get_database
from tally.core.formatting import DEFAULT_LOCALE, format_percent
from tally.dashboard import form_choices, sessions
from tally.dashboard.labels import label
from tally.dashboard.security import SESSION_COOKIE
from tally.db import Database

HOME = "/dashboard"
SIGN_IN = "/dashboard/sign-in"
SECTIONS = (
    ("Customers", "/dashboard/customers"),
    ("Catalog", "/dashboard/catalog"),
    ("Billing schedules", "/dashboard/billing-schedules"),
    ("Invoices", "/dashboard/invoices"),
    ("Receivables", "/dashboard/receivables"),
    ("Credits", "/dashboard/credits"),
    ("Usage", "/dashboard/usage"),
    ("Alerts", "/dashboard/alerts"),
    ("Settings", "/dashboard/settings"),
    ("API keys", "/dashboard/api-keys"),
)
MAX_FORM_FIELDS = 100


class DashboardPageError(Exception):
    def __init__(
        self, status_code: int, title: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.title = title
        self.message = message
        self.headers = headers

    @classmethod
    def not_found(cls) -> DashboardPageError:
        return cls(404, "Not found", "There is nothing here, or it belongs to another account.")


class SignInRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


# --- templates and navigation ----------------------------------------------------------------


# --- dates, times and codes as the account reads them -----------------------------------------
# One format per account: its locale's medium date ("7 Dec 2026" en_GB, "Dec 7, 2026" en_US,
# "07.12.2026" de_DE), moments in its time zone with the locale's short time. The viewer
# (`sessions.Viewer`) carries both; pages without one (sign-in, errors) read en_GB in UTC.


def _reader(context: Context) -> tuple[str, str]:
    viewer = context.get("viewer")
    if isinstance(viewer, sessions.Viewer):
        return viewer.locale, viewer.timezone
    return DEFAULT_LOCALE, "UTC"


def _moment(value: datetime, zone: str) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return aware.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return aware


def format_day(value: date | datetime | str | None, locale: str, zone: str = "UTC") -> str:
    """A day as the account reads it; a moment's day in its time zone; ISO text parsed."""
    if value is None or value == "":
        return "\u2014"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = _moment(value, zone).date()
    return format_date(value, "medium", locale=locale)


def format_when(
    value: datetime | None, locale: str, zone: str = "UTC", *, seconds: bool = False
) -> str:
    """A moment as the account reads it: its day and time in the account's time zone (to
    the second for `seconds`: usage events)."""
    if value is None:
        return "\u2014"
    local = _moment(value, zone)
    day = format_date(local, "medium", locale=locale)
    return f"{day}, {format_time(local, 'medium' if seconds else 'short', locale=locale)}"


@pass_context
def _day(context: Context, value: date | datetime | str | None) -> str:
    return format_day(value, *_reader(context))


@pass_context
def _when(context: Context, value: datetime | None) -> str:
    return format_when(value, *_reader(context))


@pass_context
def _instant(context: Context, value: datetime | None) -> str:
    return format_when(value, *_reader(context), seconds=True)


def csrf_field(viewer: sessions.Viewer) -> Markup:
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(viewer.csrf_token)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("tally.dashboard", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["when"] = _when  # a moment: "7 Dec 2026, 15:04" (en_GB), in the account's zone
    env.filters["instant"] = _instant  # to the second: "7 Dec 2026, 15:04:05"
    env.filters["day"] = _day  # a day: "7 Dec 2026" (en_GB), "07.12.2026" (de_DE)
    env.filters["label"] = label  # a code in words: IN_PROGRESS -> "In progress"
    env.filters["percent"] = format_percent  # a fraction (0.2) as people read it ("20%")
    env.globals["csrf_field"] = csrf_field
    env.globals["countries"] = form_choices.countries  # the country pickers (_country.html)
    env.globals["states"] = form_choices.states
    env.filters["country"] = form_choices.country_name  # GB -> "United Kingdom"
    return env


@dataclass(frozen=True)
class NavEntry:
    label: str
    url: str
    active: bool


def _served_sections(app: FastAPI) -> tuple[tuple[str, str], ...]:
    served: tuple[tuple[str, str], ...] | None = getattr(app.state, "dashboard_sections", None)
    if served is None:  # every route is registered by the first request
        pages = {
            context.path
            for context in iter_route_contexts(app.routes)
            if "GET" in (context.methods or ())
        }
        served = tuple((label, path) for label, path in SECTIONS if path in pages)
        app.state.dashboard_sections = served
    return served


def navigation(request: Request, active: str | None) -> list[NavEntry]:
    entries = [NavEntry("Home", HOME, active == HOME)]
    sections = _served_sections(request.app)
    return entries + [NavEntry(label, path, active == path) for label, path in sections]


def render(
    request: Request,
    template: str,
    *,
    viewer: sessions.Viewer | None = None,
    active: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    body = (
        environment()
        .get_template(template)
        .render(
            viewer=viewer,
            nav=navigation(request, active) if viewer else [],
            **context,
        )
    )
    return HTMLResponse(body, status_code=status_code, headers=headers)


# --- who is signed in, and what they posted --------------------------------------------------


def session_token(request: Request) -> str:
    return request.cookies.get(SESSION_COOKIE, "")


def refused_nul() -> DashboardPageError:
    # As the API's guard (`api/guards.py`): PostgreSQL refuses NUL in text, SQLite keeps it.
    return DashboardPageError(
        400, "Bad request", "Text must not contain NUL characters (\\u0000). Nothing was changed."
    )


def current_viewer(
    request: Request, db: Annotated[Database, Depends(get_database)]
) -> sessions.Viewer:
    if "%00" in request.url.query or "\x00" in request.url.path:
        raise refused_nul()
    # Its own short read, like API authentication: a write transaction the page opens later
    # (SQLite's lock) never waits on it.
    with db.session(write=False) as session:
        viewer = sessions.viewer(session, session_token(request))
    if viewer is None:
        path = request.url.path if request.method == "GET" else HOME
        raise SignInRequired(path)
    request.state.dashboard_viewer = viewer  # who acts, for the activity log
    return viewer


SignedInViewer = Annotated[sessions.Viewer, Depends(current_viewer)]


async def form_fields(request: Request) -> dict[str, str]:
    """An url-encoded form's fields (the first of repeated ones). Anything else posts no
    fields, so it fails the CSRF check: the dashboard's forms are all url-encoded."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    fields: dict[str, str] = {}
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as error:  # more fields than any dashboard form has
        raise DashboardPageError(400, "Bad request", "The form had too many fields.") from error
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise refused_nul()
        fields.setdefault(name, value)
    return fields


Fields = Annotated[dict[str, str], Depends(form_fields)]


def refused_csrf() -> DashboardPageError:
    return DashboardPageError(
        403,
        "Form expired",
        "This form could not be verified (it may be from an older page or another site). "
        "Nothing was changed. Go back, reload the page and try again.",
    )


@dataclass(frozen=True)
class Form:
    viewer: sessions.Viewer
    fields: dict[str, str]

    def get(self, name: str) -> str:
        return self.fields.get(name, "")


def posted_form(request: Request, viewer: SignedInViewer, fields: Fields) -> Form:
    token = fields.get("csrf_token") or request.headers.get("x-csrf-token")
    if not sessions.csrf_matches(viewer.csrf_token, token):
        raise refused_csrf()
    return Form(viewer=viewer, fields=fields)


PostedForm = Annotated[Form, Depends(posted_form)]


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a dashboard path of this site only, never elsewhere."""
    if not path or "\\" in path or path.startswith("//"):
        return HOME
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        return HOME
    if parts.path != HOME and not parts.path.startswith(HOME + "/"):
        return HOME
    return path


# --- errors ----------------------------------------------------------------------------------


async def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DashboardPageError)
    return render(
        request,
        "dashboard/error.html",
        status_code=exc.status_code,
        headers=exc.headers,
        title=exc.title,
        message=exc.message,
    )


async def _sign_in_required(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = SIGN_IN if exc.next_path == HOME else f"{SIGN_IN}?next={quote(exc.next_path)}"
    return RedirectResponse(target, status_code=303)


def install_errors(app: FastAPI) -> None:
    app.add_exception_handler(DashboardPageError, _page_error)
    app.add_exception_handler(SignInRequired, _sign_in_required)
