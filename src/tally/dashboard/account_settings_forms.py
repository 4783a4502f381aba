"""The Settings forms' fields, and the API request bodies they make.

Each form is read into the body its API endpoint takes (`AccountUpdate` for
`PUT /api/sequence-accounts/{id}`, `PortalSettingsIn` for `PUT /api/portal-settings`), given as
the API's JSON would be, so every rule (time zones, prefixes, colours, http(s) URLs, tabs,
CSP-safe origins) is the API's own. Field names are the API's (camelCase); the address's are
`address_<name>`, as on the customer form.

The portal settings are replaced whole by their PUT: the branding and portal forms each start
from the stored settings and change only their own fields, so one never resets the other's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from tally.accounts.schemas import AccountOut, AccountUpdate
from tally.dashboard.form_errors import from_validation
from tally.models import PortalTab
from tally.portal.settings_schemas import PortalSettingsIn, PortalSettingsOut

ADDRESS_FIELDS = ("line1", "line2", "town", "state", "postcode", "country")
ACCOUNT_FIELDS = (
    "companyName",
    "companyNumber",
    "country",
    "timezone",
    "currency",
    "invoiceNumberPrefix",
    "paymentTermsDays",
    "language",
    "sendCustomerNotifications",
    "alertEmailAddresses",
    "logoUrl",
    *(f"address_{name}" for name in ADDRESS_FIELDS),
)
BRANDING_FIELDS = ("logoUrl", "brandColor", "applicationUrl")
PORTAL_FIELDS = ("enabled", "tabs", "frameAncestors")
# The portal's own colour when none is set (portal.css's --brand): what the picker shows.
DEFAULT_BRAND_COLOR = "#2f5bea"
HEX_COLOR = re.compile(r"#[0-9a-f]{6}")


class FormErrors(Exception):
    """A form's messages by field name ("form" for those no field of the form shows)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# The Settings forms' labels, for the messages ("Country: choose a country").
LABELS = {
    "companyName": "Company name",
    "companyNumber": "Company number",
    "paymentTermsDays": "Payment terms",
    "sendCustomerNotifications": "Customer notifications",
    "address": "Address",
    "address.line1": "Address line 1",
    "address.line2": "Address line 2",
    "address.country": "Address country",
    "address.state": "State",
    "logoUrl": "Logo URL",
    "brandColor": "Brand colour",
    "applicationUrl": "Application URL",
    "frameAncestors": "Embedding origins",
}


def _form_field(loc: Sequence[str | int]) -> str:
    where = [str(part) for part in loc]
    if not where:
        return ""
    if where[0] == "address":
        return f"address_{where[1]}" if len(where) > 1 else ""
    return where[0]


def _field_errors(invalid: ValidationError, fields: tuple[str, ...]) -> dict[str, str]:
    """The model's messages, said for people, by the form field they are about (the first
    one each); those of no field of the form under "form"."""
    return from_validation(invalid, _form_field, LABELS).by_field(fields)


# --- account ---------------------------------------------------------------------------------


def account_form(account: AccountOut) -> dict[str, Any]:
    """The form's values for the account as the API answers it."""
    address = account.address.model_dump() if account.address else {}
    return {
        "companyName": account.company_name,
        "companyNumber": account.company_number,
        "country": account.country,
        "timezone": account.timezone,
        "currency": account.currency.value,
        "invoiceNumberPrefix": account.invoice_number_prefix,
        "paymentTermsDays": str(account.payment_terms_days),
        "language": account.language,
        "sendCustomerNotifications": account.send_customer_notifications,
        "alertEmailAddresses": "\n".join(account.alert_email_addresses),
        "logoUrl": account.logo_url or "",
        **{f"address_{name}": str(address.get(name) or "") for name in ADDRESS_FIELDS},
    }


def posted_account_form(fields: dict[str, str]) -> dict[str, Any]:
    """The posted values, to show the form again as it was sent."""
    form: dict[str, Any] = {name: fields.get(name, "") for name in ACCOUNT_FIELDS}
    form["sendCustomerNotifications"] = fields.get("sendCustomerNotifications") == "true"
    return form


def account_request(fields: dict[str, str], had_logo: bool) -> AccountUpdate:
    """`AccountUpdate` from the form. Every field is sent, so an emptied one meets the API's
    rule for it; the address only when any of its fields is filled (the API keeps the stored
    one when none is given); an empty logo only to remove one (as the API would be told)."""
    data: dict[str, Any] = {
        name: fields.get(name, "").strip()
        for name in (
            "companyName",
            "companyNumber",
            "country",
            "timezone",
            "currency",
            "invoiceNumberPrefix",
            "paymentTermsDays",
        )
    }
    if language := fields.get("language", "").strip():  # the select always posts one
        data["language"] = language
    data["sendCustomerNotifications"] = fields.get("sendCustomerNotifications") == "true"
    data["alertEmailAddresses"] = _lines(fields.get("alertEmailAddresses", ""))
    if (logo := fields.get("logoUrl", "").strip()) or had_logo:
        data["logoUrl"] = logo
    address = {name: fields.get(f"address_{name}", "").strip() for name in ADDRESS_FIELDS}
    if any(address.values()):
        data["address"] = {name: value for name, value in address.items() if value}
    try:
        return AccountUpdate.model_validate(data)
    except ValidationError as invalid:
        raise FormErrors(_field_errors(invalid, ACCOUNT_FIELDS)) from invalid


# --- branding and the portal -----------------------------------------------------------------


def picker_color(value: str) -> str:
    """What `<input type=color>` can show for a value: a lower-case #rrggbb, else the
    portal's default colour."""
    value = value.strip().lower()
    return value if HEX_COLOR.fullmatch(value) else DEFAULT_BRAND_COLOR


def branding_form(stored: PortalSettingsOut) -> dict[str, str]:
    return {
        "logoUrl": stored.logo_url or "",
        "brandColor": stored.brand_color or "",
        "applicationUrl": stored.application_url or "",
    }


def posted_branding_form(fields: dict[str, str]) -> dict[str, str]:
    """The posted values, the colour as `branding_request` reads it."""
    form = {name: fields.get(name, "").strip() for name in BRANDING_FIELDS}
    form["brandColor"] = _brand_color(fields)
    return form


def _brand_color(fields: dict[str, str]) -> str:
    """The colour sent: the text field when it was edited, else the picker when it was (the
    page works without a script keeping the two in step). `brandColorShown` is what both
    showed when the page was made."""
    shown = fields.get("brandColorShown", "").strip()
    text = fields.get("brandColor", "").strip()
    picked = fields.get("brandColorPicker", "").strip().lower()
    if text.lower() == shown.lower() and picked and picked != picker_color(shown):
        return picked
    return text


def portal_form(stored: PortalSettingsOut) -> dict[str, Any]:
    return {
        "enabled": stored.enabled,
        "tabs": [tab.value for tab in stored.tabs],
        "frameAncestors": "\n".join(stored.frame_ancestors),
    }


def posted_portal_form(fields: dict[str, str]) -> dict[str, Any]:
    return {
        "enabled": fields.get("enabled") == "true",
        "tabs": [tab.value for tab in PortalTab if fields.get(f"tab_{tab.value}") == "true"],
        "frameAncestors": fields.get("frameAncestors", ""),
    }


def _portal_settings(
    stored: PortalSettingsOut, changes: dict[str, Any], fields: tuple[str, ...]
) -> PortalSettingsIn:
    """The whole body the PUT takes: the stored settings with this form's fields changed."""
    data = stored.model_dump(by_alias=True, mode="json")
    data.update(changes)
    try:
        return PortalSettingsIn.model_validate(data)
    except ValidationError as invalid:
        raise FormErrors(_field_errors(invalid, fields)) from invalid


def branding_request(fields: dict[str, str], stored: PortalSettingsOut) -> PortalSettingsIn:
    changes = {name: value or None for name, value in posted_branding_form(fields).items()}
    return _portal_settings(stored, changes, BRANDING_FIELDS)


def portal_request(fields: dict[str, str], stored: PortalSettingsOut) -> PortalSettingsIn:
    posted = posted_portal_form(fields)
    changes = {
        "enabled": posted["enabled"],
        "tabs": posted["tabs"],
        "frameAncestors": _lines(posted["frameAncestors"]),
    }
    return _portal_settings(stored, changes, PORTAL_FIELDS)
