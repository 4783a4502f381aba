"""The clock, and dates as an account sees them.

Every "now" in Tally is `utcnow()` (timezone-aware UTC, DESIGN.md: "timestamps are
timezone-aware UTC"); an account's "today" is that instant's calendar date in the account's
time zone (billing periods are local dates). Standard library only: the bottom layer."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


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
