"""What the catalog and schedule pages share: the catalog pages' frame, and the notices shown
after a redirect. Their errors are said by `form_errors` (re-exported here for the forms that
import them from this module).

Forms are validated by the API's own request models (built from the form's fields) and the
services' own rules; `form_errors` says each error for people, next to its field.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from tally.dashboard.form_errors import (
    Location,
    Problems,
    default_field,
    from_service,
    from_validation,
    snake,
)
from tally.dashboard.labels import label
from tally.dashboard.sessions import Viewer
from tally.dashboard.web import HOME, render
from tally.exceptions import Conflict, TallyError

CATALOG = HOME + "/catalog"

__all__ = ["Location", "Problems", "default_field", "from_service", "from_validation", "snake"]


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
