"""The seat timeline the billing engine reads (service level, on the real database).

A billing period is local dates [start, endInclusive] in the account's timezone. The timeline
gives the total in force at the period's first local midnight and every change up to the
local midnight after its last day, in one or two queries however many events there are.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event

from tally.accounts.service import create_account
from tally.customers import aliases
from tally.customers.schemas import CustomerIn
from tally.customers.service import create_customer, get_customer
from tally.db import Database
from tally.exceptions import InvalidRequest, NotFound
from tally.seats import service
from tally.seats.schemas import SeatEventIn, SeatMetricIn
from tally.seats.service import SeatChange, SeatTimeline
from tests.factories import customer_body


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@contextmanager
def counting_queries(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


@dataclass
class Merchant:
    """One account of the test database, with the seat types `editor` and `viewer`."""

    database: Database
    account_id: str

    @classmethod
    def create(cls, database: Database, timezone: str = "UTC") -> "Merchant":
        with database.transaction() as session:
            account, _ = create_account(session, "Seats merchant", timezone=timezone)
            for seat_type in ("editor", "viewer"):
                service.create_seat_metric(
                    session, account.id, SeatMetricIn(seat_type=seat_type, label=seat_type)
                )
        return cls(database, account.id)

    def customer(self, *alias_values: str) -> str:
        with self.database.transaction() as session:
            body = CustomerIn.model_validate(customer_body(customerAliases=list(alias_values)))
            return create_customer(session, self.account_id, body).id

    def add_alias(self, customer_id: str, value: str) -> None:
        with self.database.transaction() as session:
            aliases.add_aliases(
                session, get_customer(session, self.account_id, customer_id), [value]
            )

    def event(
        self,
        alias: str,
        total: int,
        at: str,
        seat_type: str = "editor",
        event_id: str | None = None,
    ) -> None:
        data = SeatEventIn(
            customer_alias=alias,
            seat_type=seat_type,
            event_timestamp=datetime.fromisoformat(at),
            total=total,
            customer_event_id=event_id,
        )
        with self.database.transaction() as session:
            service.record_seat_event(session, self.account_id, data)

    def timeline(
        self, customer_id: str, start: date, end_inclusive: date, seat_type: str = "editor"
    ) -> SeatTimeline:
        with self.database.session(write=False) as session, counting_queries(self.database) as sql:
            timeline = service.seat_timeline(
                session, self.account_id, customer_id, seat_type, start, end_inclusive
            )
        assert 1 <= len(sql) <= 2, sql
        return timeline


def changes(timeline: SeatTimeline) -> list[tuple[str, int]]:
    return [(c.timestamp.isoformat(), c.total) for c in timeline.changes]


# --- periods in the account's timezone -------------------------------------------------------


def test_a_non_utc_account_bills_by_its_local_dates(database: Database) -> None:
    merchant = Merchant.create(database, "America/New_York")
    customer = merchant.customer()
    merchant.event(customer, 3, "2024-01-10T15:00:00Z")
    # 22:00 on January 31 in New York: January's, not February's.
    merchant.event(customer, 7, "2024-02-01T03:00:00Z")

    january = merchant.timeline(customer, date(2024, 1, 1), date(2024, 1, 31))
    assert january == SeatTimeline(
        customer_id=customer,
        seat_type="editor",
        period_start=date(2024, 1, 1),
        period_end_inclusive=date(2024, 1, 31),
        starts_at=utc("2024-01-01T05:00:00"),
        ends_at=utc("2024-02-01T05:00:00"),
        opening_total=0,
        changes=(
            SeatChange(utc("2024-01-10T15:00:00"), 3),
            SeatChange(utc("2024-02-01T03:00:00"), 7),
        ),
    )
    assert january.closing_total == 7

    february = merchant.timeline(customer, date(2024, 2, 1), date(2024, 2, 29))
    assert february.starts_at == utc("2024-02-01T05:00:00")
    assert february.ends_at == utc("2024-03-01T05:00:00")
    assert february.opening_total == 7
    assert february.changes == ()
    assert february.closing_total == 7


def test_the_same_event_in_a_utc_account_belongs_to_february(database: Database) -> None:
    merchant = Merchant.create(database)
    customer = merchant.customer()
    merchant.event(customer, 7, "2024-02-01T03:00:00Z")
    january = merchant.timeline(customer, date(2024, 1, 1), date(2024, 1, 31))
    assert (january.starts_at, january.ends_at) == (
        utc("2024-01-01T00:00:00"),
        utc("2024-02-01T00:00:00"),
    )
    assert (january.opening_total, january.changes) == (0, ())
    february = merchant.timeline(customer, date(2024, 2, 1), date(2024, 2, 29))
    assert february.opening_total == 0
    assert changes(february) == [("2024-02-01T03:00:00+00:00", 7)]


def test_period_boundaries_follow_daylight_saving_time(database: Database) -> None:
    merchant = Merchant.create(database, "America/New_York")
    customer = merchant.customer()
    march = merchant.timeline(customer, date(2024, 3, 1), date(2024, 3, 31))
    assert march.starts_at == utc("2024-03-01T05:00:00")  # EST, UTC-5
    assert march.ends_at == utc("2024-04-01T04:00:00")  # EDT, UTC-4

    tokyo = Merchant.create(database, "Asia/Tokyo")
    one_day = tokyo.timeline(tokyo.customer(), date(2024, 6, 15), date(2024, 6, 15))
    assert (one_day.starts_at, one_day.ends_at) == (
        utc("2024-06-14T15:00:00"),
        utc("2024-06-15T15:00:00"),
    )


def test_events_on_both_sides_of_each_boundary(database: Database) -> None:
    merchant = Merchant.create(database, "America/New_York")
    customer = merchant.customer()
    start, end = "2024-01-01T05:00:00Z", "2024-02-01T05:00:00Z"  # local midnights
    merchant.event(customer, 2, "2023-12-15T12:00:00Z")
    merchant.event(customer, 4, "2024-01-01T04:59:59.999999Z")  # last instant of December
    merchant.event(customer, 5, start)  # first instant of January
    merchant.event(customer, 6, "2024-01-31T23:00:00Z")
    merchant.event(customer, 8, "2024-02-01T04:59:59.999999Z")  # last instant of January
    merchant.event(customer, 9, end)  # first instant of February
    merchant.event(customer, 1, "2024-03-10T12:00:00Z")

    january = merchant.timeline(customer, date(2024, 1, 1), date(2024, 1, 31))
    assert january.opening_total == 4
    assert changes(january) == [
        ("2024-01-01T05:00:00+00:00", 5),
        ("2024-01-31T23:00:00+00:00", 6),
        ("2024-02-01T04:59:59.999999+00:00", 8),
    ]
    february = merchant.timeline(customer, date(2024, 2, 1), date(2024, 2, 29))
    assert february.opening_total == 8
    assert changes(february) == [("2024-02-01T05:00:00+00:00", 9)]

    one_day = merchant.timeline(customer, date(2024, 1, 31), date(2024, 1, 31))
    assert one_day.opening_total == 5
    assert changes(one_day) == [
        ("2024-01-31T23:00:00+00:00", 6),
        ("2024-02-01T04:59:59.999999+00:00", 8),
    ]


def test_nothing_before_the_period_opens_at_zero(database: Database) -> None:
    merchant = Merchant.create(database)
    customer = merchant.customer()
    empty = merchant.timeline(customer, date(2024, 1, 1), date(2024, 1, 31))
    assert (empty.opening_total, empty.changes, empty.closing_total) == (0, (), 0)
    merchant.event(customer, 3, "2024-02-10T00:00:00Z")  # after the period: not January's
    assert merchant.timeline(customer, date(2024, 1, 1), date(2024, 1, 31)) == empty


# --- which events count ----------------------------------------------------------------------


def test_the_opening_total_is_the_latest_event_by_time_not_by_arrival(database: Database) -> None:
    merchant = Merchant.create(database)
    customer = merchant.customer()
    merchant.event(customer, 10, "2023-12-20T00:00:00Z")
    merchant.event(customer, 3, "2023-11-01T00:00:00Z")  # arrives later, happened earlier
    timeline = merchant.timeline(customer, date(2024, 1, 1), date(2024, 1, 31))
    assert timeline.opening_total == 10


def test_at_one_instant_the_event_received_last_wins(database: Database) -> None:
    merchant = Merchant.create(database)
    customer = merchant.customer("crm-1")
    merchant.event(customer, 4, "2023-12-31T00:00:00Z")
    merchant.event("crm-1", 6, "2023-12-31T00:00:00Z")
    merchant.event("crm-1", 9, "2024-01-15T00:00:00Z")
    merchant.event(customer, 5, "2024-01-15T00:00:00Z")
    timeline = merchant.timeline(customer, date(2024, 1, 1), date(2024, 1, 31))
    assert timeline.opening_total == 6
    assert changes(timeline) == [("2024-01-15T00:00:00+00:00", 5)]


def test_restating_the_total_in_force_is_no_change(database: Database) -> None:
    merchant = Merchant.create(database)
    customer = merchant.customer()
    merchant.event(customer, 3, "2023-12-01T00:00:00Z")
    merchant.event(customer, 3, "2024-01-05T00:00:00Z")
    merchant.event(customer, 5, "2024-01-10T00:00:00Z")
    merchant.event(customer, 5, "2024-01-12T00:00:00Z")
    merchant.event(customer, 0, "2024-01-20T00:00:00Z")
    merchant.event(customer, 3, "2024-01-25T00:00:00Z")
    timeline = merchant.timeline(customer, date(2024, 1, 1), date(2024, 1, 31))
    assert timeline.opening_total == 3
    assert changes(timeline) == [
        ("2024-01-10T00:00:00+00:00", 5),
        ("2024-01-20T00:00:00+00:00", 0),
        ("2024-01-25T00:00:00+00:00", 3),
    ]
    assert timeline.closing_total == 3


def test_every_alias_of_the_customer_counts_even_one_created_later(database: Database) -> None:
    merchant = Merchant.create(database)
    customer = merchant.customer("crm-1")
    other = merchant.customer("other-crm")
    merchant.event("crm-1", 2, "2023-12-01T00:00:00Z")
    merchant.event(customer, 4, "2024-01-03T00:00:00Z")
    merchant.event("crm-later", 6, "2024-01-06T00:00:00Z")  # no customer has it yet
    merchant.event("other-crm", 50, "2024-01-04T00:00:00Z")
    merchant.event(other, 60, "2024-01-05T00:00:00Z")
    merchant.event(customer, 70, "2024-01-07T00:00:00Z", seat_type="viewer")

    before = merchant.timeline(customer, date(2024, 1, 1), date(2024, 1, 31))
    assert before.opening_total == 2
    assert changes(before) == [("2024-01-03T00:00:00+00:00", 4)]

    merchant.add_alias(customer, "crm-later")
    after = merchant.timeline(customer, date(2024, 1, 1), date(2024, 1, 31))
    assert changes(after) == [("2024-01-03T00:00:00+00:00", 4), ("2024-01-06T00:00:00+00:00", 6)]

    viewer = merchant.timeline(customer, date(2024, 1, 1), date(2024, 1, 31), seat_type="viewer")
    assert (viewer.seat_type, viewer.opening_total) == ("viewer", 0)
    assert changes(viewer) == [("2024-01-07T00:00:00+00:00", 70)]
    assert changes(merchant.timeline(other, date(2024, 1, 1), date(2024, 1, 31))) == [
        ("2024-01-04T00:00:00+00:00", 50),
        ("2024-01-05T00:00:00+00:00", 60),
    ]


def test_a_replaced_event_counts_only_where_it_now_is(database: Database) -> None:
    merchant = Merchant.create(database)
    customer = merchant.customer()
    merchant.event(customer, 8, "2024-01-10T00:00:00Z", event_id="evt-1")
    assert changes(merchant.timeline(customer, date(2024, 1, 1), date(2024, 1, 31))) == [
        ("2024-01-10T00:00:00+00:00", 8)
    ]
    merchant.event(customer, 8, "2023-12-10T00:00:00Z", event_id="evt-1")
    moved = merchant.timeline(customer, date(2024, 1, 1), date(2024, 1, 31))
    assert (moved.opening_total, moved.changes) == (8, ())


def test_another_accounts_events_never_count(database: Database) -> None:
    merchant = Merchant.create(database)
    stranger = Merchant.create(database)
    customer = merchant.customer("shared")
    stranger.customer("shared")
    stranger.event("shared", 5, "2024-01-10T00:00:00Z")
    stranger.event(customer, 6, "2024-01-11T00:00:00Z")  # my customer's id as their alias
    timeline = merchant.timeline(customer, date(2024, 1, 1), date(2024, 1, 31))
    assert (timeline.opening_total, timeline.changes) == (0, ())
    # Neither does my customer's id in the stranger's account name anything there.
    theirs = stranger.timeline(customer, date(2024, 1, 1), date(2024, 1, 31))
    assert (theirs.opening_total, theirs.changes) == (0, ())


def test_many_events_still_take_two_queries(database: Database) -> None:
    merchant = Merchant.create(database)
    customer = merchant.customer()
    with database.transaction() as session:
        for day in range(1, 29):
            data = SeatEventIn(
                customer_alias=customer,
                seat_type="editor",
                event_timestamp=datetime(2024, 2, day, 12, tzinfo=UTC),
                total=day,
            )
            service.record_seat_event(session, merchant.account_id, data)
    timeline = merchant.timeline(customer, date(2024, 2, 1), date(2024, 2, 29))  # counts queries
    assert [c.total for c in timeline.changes] == list(range(1, 29))


# --- bad input -------------------------------------------------------------------------------


def test_a_period_ending_before_it_starts_is_refused(database: Database) -> None:
    merchant = Merchant.create(database)
    with database.session(write=False) as session, pytest.raises(InvalidRequest):
        service.seat_timeline(
            session, merchant.account_id, "any", "editor", date(2024, 2, 1), date(2024, 1, 31)
        )


def test_an_unknown_account_is_not_found(database: Database) -> None:
    with database.session(write=False) as session, pytest.raises(NotFound):
        service.seat_timeline(
            session, "no-such-account", "any", "editor", date(2024, 1, 1), date(2024, 1, 31)
        )
