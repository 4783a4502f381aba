"""The clock, and dates as an account sees them.

Every "now" in Tally is `utcnow()` (timezone-aware UTC, DESIGN.md: "timestamps are
timezone-aware UTC"); an account's "today" is that instant's calendar date in the account's
time zone (billing periods are local dates). Standard library only: the bottom layer."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

# Set only by `at`: the demo writes a year of history as it happened, each step on its day.
_moment: ContextVar[datetime | None] = ContextVar("tally_clock_moment", default=None)


def utcnow() -> datetime:
    moment = _moment.get()
    return moment if moment is not None else datetime.now(UTC)


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Within the block (this thread or task only), the clock reads `moment` (aware): every
    `utcnow()` and account's today is then. The demo's history is written this way."""
    if moment.tzinfo is None:
        raise ValueError("the clock is set to an aware moment")
    token = _moment.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _moment.reset(token)


def local_date(moment: datetime, timezone_name: str) -> date:
    """The calendar date of `moment` (aware) in `timezone_name` (an IANA name)."""
    return moment.astimezone(ZoneInfo(timezone_name)).date()


def local_today(timezone_name: str, now: datetime | None = None) -> date:
    """Today in `timezone_name`: the date of `now` (default: the clock) there."""
    return local_date(now or utcnow(), timezone_name)


def start_of_local_day(day: date, timezone_name: str) -> datetime:
    """The instant `day` begins in `timezone_name` (aware, in that zone)."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(timezone_name))


def midnight_utc(day: date) -> datetime:
    """`day`'s start in UTC, as the API writes a date where Sequence's schema has a date-time."""
    return datetime.combine(day, time(), tzinfo=UTC)
