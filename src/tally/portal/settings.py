"""An account's portal settings: read with the defaults filled in, and replaced whole.

No `portal_settings` row means the defaults (portal on, every tab, the account's logo, not
embeddable), so an account never has to configure anything to have a portal.
Values are validated by `settings_schemas` before they reach `save_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.core import urls
from tally.core.clock import utcnow
from tally.models import Account, PortalSettings, PortalTab

EVERY_TAB: tuple[PortalTab, ...] = tuple(PortalTab)


@dataclass(frozen=True)
class PortalSettingsView:
    """What the portal needs of an account's settings, defaults applied.

    `logo_url` falls back to the account's logo, and is one a browser can load (a `file:`
    logo is left to the PDFs); `tabs` keeps the canonical order (OVERVIEW, INVOICES, USAGE,
    CREDITS) whatever order the merchant sent.
    """

    enabled: bool = True
    logo_url: str | None = None
    brand_color: str | None = None
    application_url: str | None = None
    tabs: tuple[PortalTab, ...] = EVERY_TAB
    frame_ancestors: tuple[str, ...] = ()

    def shows(self, tab: PortalTab) -> bool:
        return tab in self.tabs

    @property
    def embeddable(self) -> bool:
        """Some origin may frame the portal: its cookie must then be SameSite=None."""
        return bool(self.frame_ancestors)


def ordered_tabs(tabs: object) -> tuple[PortalTab, ...]:
    """Known tabs in canonical order; unknown stored values are ignored."""
    chosen = {str(tab) for tab in tabs} if isinstance(tabs, list | tuple | set) else set()
    return tuple(tab for tab in PortalTab if tab.value in chosen)


def settings_view(row: PortalSettings | None, account: Account) -> PortalSettingsView:
    """The effective settings of an account, from its row (or None) and the account."""
    if row is None:
        return PortalSettingsView(logo_url=urls.page_image(account.logo_url))
    return PortalSettingsView(
        enabled=row.enabled,
        logo_url=urls.page_image(row.logo_url or account.logo_url),
        brand_color=row.brand_color,
        application_url=row.application_url,
        tabs=ordered_tabs(row.tabs),
        frame_ancestors=tuple(str(origin) for origin in row.frame_ancestors or ()),
    )


def stored_settings(session: Session, account_id: str) -> PortalSettings | None:
    return session.scalar(select(PortalSettings).where(PortalSettings.account_id == account_id))


def load_settings(session: Session, account_id: str) -> PortalSettingsView:
    account = session.get_one(Account, account_id)
    return settings_view(stored_settings(session, account_id), account)


@dataclass(frozen=True)
class SettingsChange:
    """A whole new set of settings (PUT semantics), already validated."""

    enabled: bool
    logo_url: str | None
    brand_color: str | None
    application_url: str | None
    tabs: tuple[PortalTab, ...]
    frame_ancestors: tuple[str, ...]


def save_settings(session: Session, account_id: str, change: SettingsChange) -> PortalSettings:
    """Replace the account's settings, creating the row on first use."""
    row = stored_settings(session, account_id)
    before = _audited(row)
    if row is None:
        row = PortalSettings(account_id=account_id)
        session.add(row)
    row.enabled = change.enabled
    row.logo_url = change.logo_url
    row.brand_color = change.brand_color
    row.application_url = change.application_url
    row.tabs = [tab.value for tab in ordered_tabs([tab.value for tab in change.tabs])]
    row.frame_ancestors = list(change.frame_ancestors)
    # The portal's page cache compares this stamp (`portal/versions.py`), and the flush hook
    # stamps only `RecordMixin` rows: this keyless-by-id row is stamped here.
    row.updated_at = utcnow()
    session.flush()
    if changes := activity.changed(before, _audited(row)):
        activity.record(
            session,
            account_id,
            verb="UPDATED",
            object_type="PORTAL_SETTINGS",
            object_id=account_id,
            name="Portal settings changed",
            summary="Customer portal: " + ", ".join(change["field"] for change in changes),
            changes=changes,
        )
    return row


def _audited(row: PortalSettings | None) -> dict[str, Any]:
    """The stored settings as the activity log compares them; no row is the defaults."""
    if row is None:
        defaults = PortalSettingsView()
        return {"enabled": defaults.enabled, "tabs": [tab.value for tab in defaults.tabs]}
    return {
        "enabled": row.enabled,
        "logoUrl": row.logo_url,
        "brandColor": row.brand_color,
        "applicationUrl": row.application_url,
        "tabs": list(row.tabs),
        "frameAncestors": list(row.frame_ancestors or ()),
    }
