"""What the catalog and schedule pages share: turning the API's validation errors into
messages next to the form's fields, the catalog pages' frame, and the notices shown after a
redirect.

Forms are validated by the API's own request models (built from the form's fields) and the
services' own rules; this module only says where each error belongs on the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tally.dashboard.labels import label
from tally.dashboard.sessions import Viewer
from tally.dashboard.web import HOME, render
from tally.exceptions import Conflict, TallyError

CATALOG = HOME + "/catalog"

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")

Location = Sequence[str | int]


def snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def default_field(loc: Location) -> str:
    """The form field of an error's location: `structure.pricePerUnit` -> `price_per_unit`."""
    parts = [part for part in loc if isinstance(part, str)]
    return snake(parts[-1]) if parts else ""


@dataclass
class Problems:
    """Errors of one posted form: all of them listed on top, each also by its field."""

    messages: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.messages)

    def add(self, where: str, message: str, form_field: str = "") -> None:
        self.messages.append(f"{where}: {message}" if where else message)
        if form_field:
            self.fields.setdefault(form_field, message)


def _path(loc: Location) -> str:
    return ".".join(str(part) for part in loc)


def from_validation(
    error: ValidationError, to_field: Callable[[Location], str] = default_field
) -> Problems:
    problems = Problems()
    for item in error.errors():
        loc = tuple(item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.add(_path(loc), message, to_field(loc))
    return problems


def from_service(
    error: TallyError, to_field: Callable[[Location], str] = default_field
) -> Problems:
    problems = Problems()
    details: list[dict[str, Any]] = error.details or []
    if not details:
        problems.add("", error.message)
    for detail in details:
        where = str(detail.get("field", ""))
        loc: list[str | int] = [int(p) if p.isdecimal() else p for p in where.split(".") if p]
        problems.add(where, str(detail.get("message", "")), to_field(loc))
    return problems


# --- the pages' frame --------------------------------------------------------------------------


def options(values: list[str]) -> list[tuple[str, str]]:
    """(code, words) for a <select>: `labels`' words where the code reads one way."""
    return [(value, _words(value)) for value in values]


def _words(code: str) -> str:
    words = label(code)
    return words if words != code else code.replace("_", " ").capitalize()


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """Blank fields left out, so the API model says what is missing or uses its default."""
    return {key: value for key, value in data.items() if value is not None}


def catalog_page(
    request: Request, template: str, viewer: Viewer, status: int = 200, **context: Any
) -> HTMLResponse:
    return render(
        request,
        f"dashboard/catalog/{template}",
        viewer=viewer,
        active=CATALOG,
        status_code=status,
        **context,
    )


def failed(session: Session, error: TallyError) -> int:
    """A service refused: undo whatever it began; the status the form answers with."""
    session.rollback()
    return 409 if isinstance(error, Conflict) else 422


def present(value: str) -> str | None:
    """A text field: None when left blank (the API model's default applies)."""
    value = value.strip()
    return value or None


def checked(value: str) -> bool:
    return value in ("on", "true", "1", "yes")


NOTICES = {
    "product-created": "Product created.",
    "price-created": "Price created.",
    "usage-metric-created": "Usage metric created.",
    "seat-metric-created": "Seat metric created.",
    "tax-rate-created": "Tax rate created.",
    "tax-rate-updated": "Tax rate updated: a new version was added.",
    "schedule-created": "Billing schedule created.",
    "schedule-activated": "Billing schedule activated.",
    "schedule-archived": "Billing schedule archived.",
    "product-updated": "Product saved.",
    "product-archived": "Product archived: it takes no new prices.",
    "price-updated": "Price saved.",
    "price-replaced": "Price replaced: its pricing changed, so a new price took its place.",
    "schedule-updated": "Billing schedule saved. Its open invoices follow at the next billing run.",
}


def notice(key: str | None) -> str | None:
    return NOTICES.get(key or "")
