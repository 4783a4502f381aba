"""`clock.at`: within the block the clock reads the moment given (utcnow and an account's
today), outside it the real time again; a naive moment is refused."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tally.core import clock


def test_the_clock_reads_the_moment_set_and_comes_back() -> None:
    moment = datetime(2024, 3, 31, 23, 30, tzinfo=ZoneInfo("Europe/London"))  # BST: 22:30 UTC
    with clock.at(moment):
        assert clock.utcnow() == datetime(2024, 3, 31, 22, 30, tzinfo=UTC)
        assert clock.utcnow().tzinfo is UTC
        assert clock.local_today("Europe/London") == date(2024, 3, 31)
        assert clock.local_today("Asia/Tokyo") == date(2024, 4, 1)
        with clock.at(moment + timedelta(days=1)):
            assert clock.local_today("Europe/London") == date(2024, 4, 1)
        assert clock.local_today("Europe/London") == date(2024, 3, 31)
    assert abs(clock.utcnow() - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"), clock.at(datetime(2024, 1, 1)):  # noqa: DTZ001
        pass
