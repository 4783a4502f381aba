"""Amounts of money: exact decimals, rounded only to a currency's minor unit, half up. The
rule itself lives in the bottom layer (`tally.core.money`), where formatting for people uses
it too; the engine names it here."""

from decimal import Decimal

from tally.core.money import minor_unit, round_money

__all__ = ["ZERO", "minor_unit", "round_money"]

ZERO = Decimal(0)
