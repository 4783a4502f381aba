"""Response headers for everything under /portal: the portal shows billing data and its URLs
carry secrets, so it is locked down by default.

- `Content-Security-Policy`: `default-src 'self'`; scripts and styles from this server or
  inline with the request's nonce (`csp_nonce(request)`, put it on `<script nonce=...>` and
  `<style nonce=...>`; `style="..."` attributes are refused); images from this server, `data:`
  URLs and the origin of the merchant's logo; `frame-ancestors 'none'` unless the account
  lists origins allowed to embed the portal (`PortalSettings.frame_ancestors`). Origins are
  rebuilt from their parsed parts (`core.urls`), never copied from what was stored.
- `X-Frame-Options: DENY` for browsers without CSP, only when nothing may embed the portal
  (it cannot list origins, so it would contradict an allowed one).
- `Referrer-Policy: no-referrer`: a portal URL is a credential; it must not leak to the
  logo's host or to the merchant's application through `Referer`.
- `X-Content-Type-Options: nosniff`.
- `Cache-Control: no-store` on every portal response except static assets, since pages carry
  a customer's data and must not stay in shared or browser caches.

The per-account parts come from `request.state.portal_settings`, which the access
dependencies (`tally.portal.access`) set once they know the account; before that (an unknown
link, a bad token) the strictest policy applies.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tally.core import urls
from tally.portal.settings import PortalSettingsView

PORTAL_PREFIX = "/portal"
STATIC_MARKER = "/static/"


def csp_nonce(request: Request) -> str:
    """This response's CSP nonce, made on first use: the value of `nonce=` on inline
    `<script>` and `<style>` elements."""
    nonce: str | None = getattr(request.state, "csp_nonce", None)
    if nonce is None:
        nonce = secrets.token_urlsafe(16)
        request.state.csp_nonce = nonce
    return nonce


def _ancestors(settings: PortalSettingsView | None) -> list[str]:
    """The origins that may embed the portal, each rebuilt by the rule it was saved under:
    one stored before that rule (or written around it) is left out, never copied."""
    if not (settings and settings.embeddable):
        return []
    found = []
    for value in settings.frame_ancestors:
        try:
            found.append(urls.embedding_origin(value))
        except ValueError:
            continue
    return found


def content_security_policy(settings: PortalSettingsView | None, nonce: str | None) -> str:
    """Built from parsed parts only (`core.urls`): no text a merchant typed reaches the header
    as it was typed, so a value cannot add a directive."""
    inline = f" 'nonce-{nonce}'" if nonce else ""
    images = ["'self'", "data:"]
    logo_origin = urls.origin(settings.logo_url) if settings else None
    if logo_origin:
        images.append(logo_origin)
    ancestors = " ".join(_ancestors(settings))
    directives = [
        "default-src 'self'",
        f"script-src 'self'{inline}",
        f"style-src 'self'{inline}",
        f"img-src {' '.join(images)}",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {ancestors or chr(39) + 'none' + chr(39)}",
    ]
    return "; ".join(directives)


def security_headers(
    path: str, settings: PortalSettingsView | None, nonce: str | None
) -> dict[str, str]:
    """The headers a portal response carries (see the module docstring)."""
    headers = {
        "Content-Security-Policy": content_security_policy(settings, nonce),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if not (settings and settings.embeddable):
        headers["X-Frame-Options"] = "DENY"
    if STATIC_MARKER not in path:
        headers["Cache-Control"] = "no-store"
    return headers


class PortalSecurityMiddleware:
    """Adds `security_headers` to every response under /portal (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not (
            path == PORTAL_PREFIX or path.startswith(PORTAL_PREFIX + "/")
        ):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state") or {}
                settings = state.get("portal_settings")
                view = settings if isinstance(settings, PortalSettingsView) else None
                headers = MutableHeaders(scope=message)
                for name, value in security_headers(path, view, state.get("csp_nonce")).items():
                    headers[name] = value
                if view is not None and view.embeddable:
                    del headers["X-Frame-Options"]
            await send(message)

        await self.app(scope, receive, send_with_headers)
