"""What the Usage section's two pages share: its path, the account's time zone, the
customers and metrics their forms choose from, and the check that a chosen customer is the
account's."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.dashboard.web import HOME, DashboardPageError
from tally.metering.metrics import metric_query
from tally.models import Customer, UsageMetric
from tally.models.scoped import get_account

USAGE = HOME + "/usage"
METRIC_VALUES = USAGE + "/metrics"


def account_zone(session: Session, account_id: str) -> ZoneInfo:
    """The zone the account's periods (and the forms' times) are read in."""
    return ZoneInfo(get_account(session, account_id).timezone)


def customer_choices(session: Session, account_id: str) -> list[tuple[str, str]]:
    """(id, name) of every customer, archived ones too: their events stay explorable."""
    rows = session.execute(
        select(Customer.id, Customer.legal_name, Customer.archived_at)
        .where(Customer.account_id == account_id)
        .order_by(Customer.legal_name, Customer.id)
    )
    return [(id_, f"{name} (archived)" if archived_at else name) for id_, name, archived_at in rows]


def metric_choices(session: Session, account_id: str) -> list[UsageMetric]:
    return list(session.scalars(metric_query(account_id).order_by(UsageMetric.name)))


def require_customer(session: Session, account_id: str, customer_id: str) -> None:
    """A 404 page for an id that is not one of the account's customers."""
    found = session.scalar(
        select(Customer.id).where(Customer.account_id == account_id, Customer.id == customer_id)
    )
    if found is None:
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
