"""Money and percentages for people (`tally.core.formatting`): half-up rounding to the
currency's minor unit, then Babel; percentages with the places they have and no more."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from babel.numbers import format_currency
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tally.api.types import Currency
from tally.core.formatting import format_money, format_percent

D = Decimal
# Minor units per ISO 4217, written out here so the property does not lean on the code's own
# lookup: every currency the API takes, and a few with 3 and 4 places formatters may meet.
NO_MINOR_UNIT = ("CLP", "ISK", "JPY", "KRW")
PLACES = {c.value: 0 if c.value in NO_MINOR_UNIT else 2 for c in Currency}
PLACES.update({"KWD": 3, "BHD": 3, "CLF": 4})


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("0.125", "GBP", "£0.13"),  # half up; Babel alone rounds half to even: £0.12
        ("0.135", "GBP", "£0.14"),
        ("-0.125", "GBP", "-£0.13"),  # half away from zero, as invoice lines round
        ("2.5", "JPY", "JP¥3"),  # no minor unit (Babel alone: JP¥2)
        ("1500", "JPY", "JP¥1,500"),
        ("1234567.005", "EUR", "€1,234,567.01"),
        ("0.0005", "KWD", "KWD0.001"),
        ("-0.004", "GBP", "£0.00"),  # rounds to nothing: never "-£0.00"
        ("180", "GBP", "£180.00"),
        ("1E+3", "USD", "US$1,000.00"),
    ],
)
def test_money_rounds_half_up_to_the_minor_unit(amount: str, currency: str, shown: str) -> None:
    assert format_money(D(amount), currency) == shown


def test_babel_alone_rounds_half_to_even_which_is_why_the_formatter_rounds_first() -> None:
    assert format_currency(D("0.125"), "GBP", locale="en_GB") == "£0.12"
    assert format_money(D("0.125"), "GBP") == "£0.13"


def test_money_follows_the_locale() -> None:
    assert format_money(D("1234.565"), "EUR", "de_DE") == "1.234,57\xa0€"


@pytest.mark.parametrize(
    ("fraction", "shown"),
    [
        ("0.2", "20%"),
        ("0.20000", "20%"),  # never "20.000%"
        ("2E-1", "20%"),  # never "2E+1 %"
        ("0.125", "12.5%"),
        ("0.175", "17.5%"),
        ("0.005", "0.5%"),
        ("1", "100%"),
        ("0", "0%"),
        ("-0", "0%"),
        ("0.0825", "8.25%"),
        ("0.333333", "33.3333%"),  # every place it has: a rate is never rounded for show
        # exponent forms of the same numbers, as Decimal arithmetic makes them
        ("0.2E0", "20%"),
        ("1E-1", "10%"),
        ("12.5E-2", "12.5%"),
        ("1E+0", "100%"),
        ("0E-5", "0%"),
        ("-0E+2", "0%"),
        ("2E+1", "2,000%"),  # 20 as a fraction is 2,000 %, never "2E+1 %"
    ],
)
def test_percentages_read_as_people_write_them(fraction: str, shown: str) -> None:
    assert format_percent(D(fraction)) == shown


def test_percentages_follow_the_locale() -> None:
    assert format_percent(D("0.125"), "de_DE") == "12,5\xa0%"


def _half_up_digits(amount: Decimal, places: int) -> tuple[str, bool]:
    """The digits of `amount` rounded half up (away from zero) to `places`, with at least one
    before the point, and whether it is negative, by exact rational arithmetic."""
    scaled = abs(Fraction(amount)) * 10**places
    units = floor(scaled + Fraction(1, 2))
    return str(units).rjust(places + 1, "0"), units != 0 and amount < 0


@settings(max_examples=500)
@given(
    amount=st.decimals(
        min_value=D("-1e12"), max_value=D("1e12"), places=6, allow_nan=False, allow_infinity=False
    ),
    currency=st.sampled_from(sorted(PLACES)),
)
@example(amount=D("0.125"), currency="GBP")
@example(amount=D("-2.5"), currency="JPY")
@example(amount=D("0.00005"), currency="CLF")
def test_the_digits_shown_are_the_amount_rounded_half_up(amount: Decimal, currency: str) -> None:
    text = format_money(amount, currency)
    digits, negative = _half_up_digits(amount, PLACES[currency])
    assert re.sub(r"\D", "", text) == digits, text
    assert text.startswith("-") == negative, text
