"""Cookies and response headers of the merchant dashboard (everything under /dashboard).

Cookies are HttpOnly, SameSite=Lax and scoped to /dashboard (the API and the portal never
see them), and Secure as `secure_cookies` decides:
- `tally_dashboard`: the session token (`sessions.py`), for as long as the session lives;
- `tally_dashboard_csrf`: before anyone signs in, the sign-in form's CSRF token. The form
  carries the same value in a field (double submit): another site can make a browser post
  the form, but can neither read this cookie nor set it, so it cannot forge the pair.

Headers: the portal's Content-Security-Policy (`tally.portal.security`, no per-account
parts: scripts and styles from this server only), `X-Frame-Options: DENY`,
`X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`, and `Cache-Control:
no-store` on pages (an API secret is on one of them) but not on static files.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tally.portal.security import content_security_policy
from tally.settings import Settings

DASHBOARD_PREFIX = "/dashboard"
STATIC_PREFIX = "/dashboard/static/"
SESSION_COOKIE = "tally_dashboard"
CSRF_COOKIE = "tally_dashboard_csrf"


def secure_cookies(settings: Settings) -> bool:
    """Secure unless configured otherwise, or unset and serving plain http on a loopback
    address: there a Secure cookie would not come back, and nothing crosses a network."""
    if settings.dashboard_secure_cookies is not None:
        return settings.dashboard_secure_cookies
    parts = urlsplit(settings.public_url)
    if parts.scheme != "http":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def set_cookie(
    response: Response, settings: Settings, name: str, value: str, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=DASHBOARD_PREFIX,
        secure=secure_cookies(settings),
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(
        name, path=DASHBOARD_PREFIX, secure=secure_cookies(settings), httponly=True, samesite="lax"
    )


def security_headers(path: str) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": content_security_policy(None, None),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    if not path.startswith(STATIC_PREFIX):
        headers["Cache-Control"] = "no-store"
    return headers


class DashboardSecurityMiddleware:
    """Adds `security_headers` to every response under /dashboard, error pages included
    (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not (
            path == DASHBOARD_PREFIX or path.startswith(DASHBOARD_PREFIX + "/")
        ):
            await self.app(scope, receive, send)
            return
        headers = security_headers(path)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                mutable = MutableHeaders(scope=message)
                for name, value in headers.items():
                    mutable[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
