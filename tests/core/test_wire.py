"""The API's decimal strings: money to the currency's minor unit, half up; numbers plain."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tally.core.clock import midnight_utc
from tally.core.wire import money, plain, rate_text


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("150", "GBP", "150.00"),
        ("0.125", "GBP", "0.13"),  # half up, where Decimal's default (half even) gives 0.12
        ("0.135", "GBP", "0.14"),
        ("-0.125", "GBP", "-0.13"),
        ("-0.001", "GBP", "0.00"),  # never "-0.00"
        ("1499.5", "JPY", "1500"),
        ("12345678901234567.895", "EUR", "12345678901234567.90"),
    ],
)
def test_money_has_the_minor_unit_places_rounded_half_up(
    amount: str, currency: str, text: str
) -> None:
    assert money(Decimal(amount), currency) == text


def test_plain_numbers_lose_trailing_zeros_and_never_use_exponents() -> None:
    assert [plain(Decimal(v)) for v in ("10.000", "0.20", "1E+3", "-0.0")] == [
        "10",
        "0.2",
        "1000",
        "0",
    ]


def test_an_absolute_rate_is_money_unless_it_has_finer_places() -> None:
    assert rate_text(Decimal("15"), "GBP", "ABSOLUTE") == "15.00"
    assert rate_text(Decimal("0.0125"), "GBP", "ABSOLUTE") == "0.0125"
    assert rate_text(Decimal("0.20"), "GBP", "PERCENTAGE") == "0.2"


def test_a_date_is_written_as_its_midnight_in_utc() -> None:
    assert midnight_utc(date(2026, 3, 1)) == datetime(2026, 3, 1, tzinfo=UTC)
