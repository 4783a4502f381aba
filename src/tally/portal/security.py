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

Pages with a Pay form (an owed invoice of an account that takes card payments) also admit
Stripe's script, and nothing else does: `script-src`, `frame-src` and `connect-src` for what
Stripe.js needs (`payment_sources`: Stripe's documented origins when it is loaded from
js.stripe.com; else the origin of `TALLY_STRIPE_JS_URL`, such as the tests' localstripe).
The page says so by setting `request.state.portal_payment_sources` (`allow_payments`).

The per-account parts come from `request.state.portal_settings`, which the access
dependencies (`tally.portal.access`) set once they know the account; before that (an unknown
link, a bad token) the strictest policy applies.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tally.core import urls
from tally.portal.settings import PortalSettingsView

PORTAL_PREFIX = "/portal"
STATIC_MARKER = "/static/"


STRIPE_JS_ORIGIN = "https://js.stripe.com"


@dataclass(frozen=True)
class PaymentSources:
    """What a payment provider's script loads, frames and calls, by CSP directive."""

    script: tuple[str, ...]
    frame: tuple[str, ...]
    connect: tuple[str, ...]


# Stripe's documented policy for Stripe.js and Elements (docs.stripe.com/security/guide,
# "Content Security Policy"): the script and its frames from js.stripe.com (and its
# subdomains), 3-D Secure pages from hooks.stripe.com, API calls to api.stripe.com. Left out:
# maps.googleapis.com, which only the Address Element needs.
STRIPE = PaymentSources(
    script=(STRIPE_JS_ORIGIN, "https://*.js.stripe.com"),
    frame=(STRIPE_JS_ORIGIN, "https://*.js.stripe.com", "https://hooks.stripe.com"),
    connect=("https://api.stripe.com",),
)


def payment_sources(stripe_js_url: str) -> PaymentSources | None:
    """What the portal admits for Stripe.js loaded from `stripe_js_url`: Stripe's own
    origins, or that one origin for a stand-in (localstripe serves its script and its API
    from one origin); None for a URL that is no web URL."""
    origin = urls.origin(stripe_js_url)
    if origin is None:
        return None
    if origin == STRIPE_JS_ORIGIN:
        return STRIPE
    return PaymentSources(script=(origin,), frame=(origin,), connect=(origin,))


def allow_payments(request: Request, sources: PaymentSources | None) -> None:
    """This response's page holds a Pay form: its CSP admits the provider's script."""
    request.state.portal_payment_sources = sources


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


def content_security_policy(
    settings: PortalSettingsView | None,
    nonce: str | None,
    payments: PaymentSources | None = None,
) -> str:
    """Built from parsed parts only (`core.urls`): no text a merchant typed reaches the header
    as it was typed, so a value cannot add a directive."""
    inline = f" 'nonce-{nonce}'" if nonce else ""
    scripts = "".join(f" {origin}" for origin in payments.script) if payments else ""
    images = ["'self'", "data:"]
    logo_origin = urls.origin(settings.logo_url) if settings else None
    if logo_origin:
        images.append(logo_origin)
    ancestors = " ".join(_ancestors(settings))
    directives = [
        "default-src 'self'",
        f"script-src 'self'{inline}{scripts}",
        f"style-src 'self'{inline}",
        f"img-src {' '.join(images)}",
        *(
            [
                f"frame-src {' '.join(payments.frame)}",
                f"connect-src 'self' {' '.join(payments.connect)}",
            ]
            if payments
            else []
        ),
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {ancestors or chr(39) + 'none' + chr(39)}",
    ]
    return "; ".join(directives)


def security_headers(
    path: str,
    settings: PortalSettingsView | None,
    nonce: str | None,
    payments: PaymentSources | None = None,
) -> dict[str, str]:
    """The headers a portal response carries (see the module docstring)."""
    headers = {
        "Content-Security-Policy": content_security_policy(settings, nonce, payments),
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
                sources = state.get("portal_payment_sources")
                payments = sources if isinstance(sources, PaymentSources) else None
                nonce = state.get("csp_nonce")
                for name, value in security_headers(path, view, nonce, payments).items():
                    headers[name] = value
                if view is not None and view.embeddable:
                    del headers["X-Frame-Options"]
            await send(message)

        await self.app(scope, receive, send_with_headers)
