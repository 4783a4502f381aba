"""`/api/portal-settings` bodies. Validation happens here, whole, before anything is saved:
an invalid body changes nothing.

- `logoUrl`: a web URL by the rule every URL a merchant sets follows (`core/urls.py`: https,
  or http on this machine; no credentials; no spaces, quotes, `;` or `,`; at most 2,000
  characters, the column's size), or a `data:image/...` URL; empty: the account's logo.
- `brandColor`: `#rrggbb`, stored lower-case.
- `applicationUrl`: the "back to app" link, a web URL by the same rule (never `javascript:`).
- `tabs`: a non-empty subset of OVERVIEW, INVOICES, USAGE, CREDITS.
- `frameAncestors`: origins allowed to embed the portal, written into CSP `frame-ancestors`:
  `scheme://host[:port]` by the same rule, nothing else (no path, no keyword, no `*` alone,
  no `https:` scheme-only source); a `*.` wildcard only as the leftmost label of a host of at
  least two labels (`https://*.example.com`), as CSP defines it (`core.urls.embedding_origin`).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from tally.api.schemas import Schema
from tally.api.types import data_image
from tally.core import urls
from tally.core.urls import MAX_URL
from tally.models import PortalSettings, PortalTab
from tally.portal.settings import SettingsChange, ordered_tabs

MAX_ORIGINS = 20

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def _logo(value: str | None) -> str | None:
    if not value:
        return None
    if value[:5].lower() == "data:":
        return data_image(value, "logoUrl")
    return urls.web_url(value, "logoUrl")


def _application_url(value: str | None) -> str | None:
    return urls.web_url(value, "applicationUrl") if value else None


def _brand_color(value: str | None) -> str | None:
    if not value:
        return None
    if not _COLOR.fullmatch(value):
        raise ValueError("brandColor must be a hex colour like #1a2b3c")
    return value.lower()


def _origins(values: list[str]) -> list[str]:
    found: list[str] = []
    for value in values:
        origin = urls.embedding_origin(value)
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
