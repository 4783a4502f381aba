"""The webhook settings' forms as the API's request bodies, and the notices after a change.

Only the shape changes here (lines into lists, ticked boxes into types); every rule is
`PolicyIn`'s and `notifications.service`'s.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from pydantic import TypeAdapter

from tally.api.schemas import Pagination
from tally.notifications.events import NotificationType
from tally.notifications.schemas import PolicyIn

# A field name posts once (`web.form_fields` keeps the first), so each type's checkbox is a
# field of its own: "notification_type.INVOICE_ISSUED=on".
TYPE_FIELD = "notification_type."

DONE = {
    "created": "Policy created.",
    "recipients-added": "Recipients added.",
    "recipient-removed": "Recipient removed: nothing more is sent to it.",
    "types-added": "Event types added.",
    "type-removed": "Event type removed: nothing more of it is sent.",
    "deleted": "Policy deleted: nothing more is sent to its recipients.",
}

_TYPE = TypeAdapter(NotificationType)


def lines(text: str) -> list[str]:
    """A textarea's non-blank lines: one recipient per line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def chosen_types(fields: dict[str, str]) -> list[str]:
    """The ticked types, as posted (the API's model says which ones exist)."""
    return [
        name.removeprefix(TYPE_FIELD)
        for name, value in fields.items()
        if name.startswith(TYPE_FIELD) and value == "on"
    ]


def notification_type(value: str) -> NotificationType:
    """A type as the API's path parameter reads it (ValidationError when it is none)."""
    return _TYPE.validate_python(value)


def policy_request(fields: dict[str, str]) -> PolicyIn:
    """`PolicyIn` from the create form: blank optional fields left out, as a client would.
    No type ticked means every type, as an empty list does for the API."""
    data: dict[str, Any] = {
        "name": fields.get("name", "").strip(),
        "recipients": lines(fields.get("recipients", "")),
        "notificationTypes": chosen_types(fields),
    }
    for name, key in (("channel", "channel"), ("webhook_secret", "webhookSecret")):
        value = fields.get(name, "").strip()
        if value:
            data[key] = value
    return PolicyIn.model_validate(data)


def pager(pagination: Pagination, kept: dict[str, str]) -> tuple[str | None, str | None]:
    """Links to the newer and older pages, keeping the filters."""
    newer = older = None
    if pagination.before:
        newer = "?" + urlencode({**kept, "before": pagination.before})
    if pagination.after:
        older = "?" + urlencode({**kept, "after": pagination.after})
    return newer, older
