"""What the Usage section's two pages share: its path, the account's time zone, the
customers and metrics their forms choose from, and the check that a chosen customer is the
account's."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import Request
from sqlalchemy.orm import Session

from tally.customers import queries as customer_queries
from tally.dashboard.web import HOME, DashboardPageError
from tally.metering import queries as metering_queries
from tally.models import UsageMetric
from tally.models.scoped import get_account

USAGE = HOME + "/usage"
METRIC_VALUES = USAGE + "/metrics"


def account_zone(session: Session, account_id: str) -> ZoneInfo:
    """The zone the account's periods (and the forms' times) are read in."""
    return ZoneInfo(get_account(session, account_id).timezone)


def customer_choices(session: Session, account_id: str) -> list[tuple[str, str]]:
    """(id, name) of every customer, archived ones too: their events stay explorable."""
    rows = customer_queries.customer_choices(session, account_id, archived=True)
    return [(id_, f"{name} (archived)" if archived else name) for id_, name, archived in rows]


def metric_choices(session: Session, account_id: str) -> list[UsageMetric]:
    return metering_queries.metrics(session, account_id)


def require_customer(session: Session, account_id: str, customer_id: str) -> None:
    """A 404 page for an id that is not one of the account's customers."""
    if not customer_queries.is_customer(session, account_id, customer_id):
        raise DashboardPageError.not_found()


def query_fields(request: Request) -> dict[str, str]:
    """The page's query parameters (the last of repeated ones). NUL characters are refused
    as the API refuses them (`api/guards.py`): PostgreSQL cannot compare them, SQLite can."""
    fields = dict(request.query_params.items())
    if any("\x00" in value for value in fields.values()):
        raise DashboardPageError(
            400, "Bad request", "The filters must not contain NUL characters (\\u0000)."
        )
    return fields
