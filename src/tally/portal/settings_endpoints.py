"""/api/portal-settings: the merchant's portal (branding, tabs, on or off, embedding)."""

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession
from tally.api.routing import api_router
from tally.portal import settings as portal_settings
from tally.portal.settings_schemas import PortalSettingsIn, PortalSettingsOut

router = api_router(tags=["Customer portal"])


@router.get("/portal-settings", summary="Get the customer portal settings")
def get_portal_settings(account: CurrentAccount, session: DbSession) -> PortalSettingsOut:
    return PortalSettingsOut.build(portal_settings.stored_settings(session, account.account_id))


@router.put("/portal-settings", summary="Replace the customer portal settings")
def put_portal_settings(
    body: PortalSettingsIn, account: CurrentAccount, session: DbSession
) -> PortalSettingsOut:
    row = portal_settings.save_settings(session, account.account_id, body.change())
    return PortalSettingsOut.build(row)
