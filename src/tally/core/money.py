"""Amounts of money: exact decimals, rounded only to a currency's minor unit, half up
(DESIGN.md: "round each line's net amount to the currency's minor unit, half-up")."""

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from babel.numbers import get_currency_precision


@cache
def minor_unit(currency: str) -> Decimal:
    """The smallest amount of a currency: 0.01 for GBP, 1 for JPY (ISO 4217, via Babel)."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
