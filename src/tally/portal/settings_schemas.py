"""`/api/portal-settings` bodies. Validation happens here, whole, before anything is saved:
an invalid body changes nothing.

- `logoUrl`: an http(s) URL or a `data:image/...` URL (at most 2,000 characters, the column's
  size, as the account's logo); empty: the account's logo.
- `brandColor`: `#rrggbb`, stored lower-case.
- `applicationUrl`: the "back to app" link, http(s) only (never `javascript:`).
- `tabs`: a non-empty subset of OVERVIEW, INVOICES, USAGE, CREDITS.
- `frameAncestors`: origins allowed to embed the portal, written into CSP `frame-ancestors`:
  `scheme://host[:port]` with scheme http or https, nothing else (no path, no keyword, no
  `*` alone, no `https:` scheme-only source); a `*.` wildcard only as the leftmost label of a
  host of at least two labels (`https://*.example.com`), as CSP defines it. Any character
  outside a host name (`;`, spaces, quotes) is refused, so a value can never add a directive.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from tally.api.schemas import Schema
from tally.models import PortalSettings, PortalTab
from tally.portal.settings import SettingsChange, ordered_tabs

MAX_URL = 2000
MAX_ORIGINS = 20

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ORIGIN = re.compile(
    rf"(?P<scheme>https?)://(?P<wildcard>\*\.)?(?P<host>{_LABEL}(?:\.{_LABEL})*)"
    r"(?::(?P<port>[0-9]{1,5}))?"
)
_DATA_IMAGE = re.compile(
    r"data:image/(?:png|jpeg|gif|webp|svg\+xml)(?:;[a-z0-9=.+-]+)*(?:;base64)?,[^\s\"'<>]*",
    re.IGNORECASE,
)
_UNSAFE = re.compile(r"[\s\"'<>\\`\x00-\x1f\x7f]")


def _http_url(value: str, what: str) -> str:
    if _UNSAFE.search(value):
        raise ValueError(f"{what} must not contain spaces, quotes or control characters")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an http:// or https:// URL")
    return value


def _logo(value: str | None) -> str | None:
    if not value:
        return None
    if value[:5].lower() == "data:":
        if not _DATA_IMAGE.fullmatch(value):
            raise ValueError(
                "a data: logo must be an image (png, jpeg, gif, webp or svg+xml) "
                "like data:image/png;base64,..."
            )
        return value
    return _http_url(value, "logoUrl")


def _application_url(value: str | None) -> str | None:
    return _http_url(value, "applicationUrl") if value else None


def _brand_color(value: str | None) -> str | None:
    if not value:
        return None
    if not _COLOR.fullmatch(value):
        raise ValueError("brandColor must be a hex colour like #1a2b3c")
    return value.lower()


def normalize_origin(value: str) -> str:
    """An origin as CSP's frame-ancestors takes it, or ValueError saying what is wrong."""
    origin = value.strip().lower().removesuffix("/")
    match = _ORIGIN.fullmatch(origin)
    if match is None:
        raise ValueError(
            f"{value!r} is not an origin: give scheme://host[:port] with http or https, "
            "no path (e.g. https://app.example.com)"
        )
    if match["wildcard"] and "." not in match["host"]:
        raise ValueError(f"{value!r}: a wildcard needs a domain of two labels (*.example.com)")
    if match["port"] is not None and not 0 < int(match["port"]) < 65536:
        raise ValueError(f"{value!r}: the port must be between 1 and 65535")
    return origin


def _origins(values: list[str]) -> list[str]:
    found: list[str] = []
    for value in values:
        origin = normalize_origin(value)
        if origin not in found:
            found.append(origin)
    return found


def _tabs(values: list[PortalTab]) -> list[PortalTab]:
    if not values:
        raise ValueError("show at least one tab")
    return list(ordered_tabs([tab.value for tab in values]))


class PortalSettingsIn(Schema):
    """A whole set of settings (PUT): omitted fields take their defaults."""

    enabled: bool = True
    logo_url: Annotated[str | None, Field(max_length=MAX_URL), AfterValidator(_logo)] = None
    brand_color: Annotated[str | None, Field(max_length=7), AfterValidator(_brand_color)] = None
    application_url: Annotated[
        str | None, Field(max_length=MAX_URL), AfterValidator(_application_url)
    ] = None
    tabs: Annotated[list[PortalTab], AfterValidator(_tabs)] = Field(
        default_factory=lambda: list(PortalTab)
    )
    frame_ancestors: Annotated[
        list[Annotated[str, Field(max_length=300)]],
        Field(max_length=MAX_ORIGINS),
        AfterValidator(_origins),
    ] = Field(default_factory=list)

    def change(self) -> SettingsChange:
        return SettingsChange(
            enabled=self.enabled,
            logo_url=self.logo_url,
            brand_color=self.brand_color,
            application_url=self.application_url,
            tabs=tuple(self.tabs),
            frame_ancestors=tuple(self.frame_ancestors),
        )


class PortalSettingsOut(Schema):
    """The settings as stored: `logoUrl` absent means the account's logo is used."""

    enabled: bool
    logo_url: str | None = None
    brand_color: str | None = None
    application_url: str | None = None
    tabs: list[PortalTab]
    frame_ancestors: list[str]

    @classmethod
    def build(cls, row: PortalSettings | None) -> PortalSettingsOut:
        if row is None:
            return cls(enabled=True, tabs=list(PortalTab), frame_ancestors=[])
        return cls(
            enabled=row.enabled,
            logo_url=row.logo_url,
            brand_color=row.brand_color,
            application_url=row.application_url,
            tabs=list(ordered_tabs(row.tabs)),
            frame_ancestors=[str(origin) for origin in row.frame_ancestors or ()],
        )
