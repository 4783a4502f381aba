"""Money and numbers as the API writes them (decimal strings), one rule for every domain.

- `money`: an amount with its currency's minor-unit places, rounded half up
  (`core.money.round_money`): "150.00" in GBP, "1500" in JPY, never "-0.00".
- `plain`: a quantity or rate without trailing zeros or exponent: 10.000 reads "10".
- `rate_text`: a line's rate, money when absolute (at least to the minor unit, keeping finer
  places), a plain number when a percentage.

Formatting for people (symbols, separators, the locale) is `core.formatting`'s."""

from decimal import Decimal

from tally.core.money import minor_unit, round_money

# A line's `rateDisplay` (`invoices.schemas.RateDisplay.ABSOLUTE`): the rate is money.
ABSOLUTE = "ABSOLUTE"


def money(amount: Decimal, currency: str) -> str:
    """An amount with the currency's minor-unit places: "150.00" in GBP, "1500" in JPY."""
    rounded = round_money(amount, currency)
    return format(rounded if rounded else abs(rounded), "f")  # never "-0.00"


def plain(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent: 10.000 -> "10", 0.20 -> "0.2".

    Not `Decimal.normalize`, which rounds to the context's 28 digits."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def rate_text(rate: Decimal, currency: str, rate_display: str) -> str:
    """An absolute rate is money, at least to the minor unit ("15.00"), and keeps any finer
    places it has ("0.0125"); a percentage rate is a plain number."""
    if rate_display == ABSOLUTE:
        places = minor_unit(currency)
        if rate == rate.quantize(places):
            return money(rate, currency)
    return plain(rate)
