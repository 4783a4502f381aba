"""Money and percentages as people read them, one rule each for every page, document and
email. Babel places symbols, separators and digits for the locale; the rounding is Tally's.

- `format_money`: rounded half up to the currency's minor unit (`core.money.round_money`,
  the rule invoice lines follow), then formatted: £0.125 reads "£0.13" (Babel alone rounds
  half to even: "£0.12"), JPY has no minor unit ("JP¥1,500"), never "-£0.00".
- `format_percent`: a fraction as a percentage with the places it has and no more: 0.2 reads
  "20%", 0.125 "12.5%", 0.005 "0.5%" (never "2E+1 %" nor "20.000%").

The API's wire format (decimal strings) is not made here: these are for people only.
"""

from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_currency
from babel.numbers import format_percent as babel_percent

from tally.core.money import round_money

# English's locale: what a customer reads when nothing says otherwise (`core.i18n` chooses
# each customer's), amounts in their own currency (a GBP invoice "£180.00", a JPY one
# "JP¥1,500").
DEFAULT_LOCALE = "en_GB"


@lru_cache(maxsize=8192)
def format_money(amount: Decimal, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """Cached: Babel applies its pattern on every call, and pages show the same few amounts
    over and over (equal Decimals, 0.1 and 0.10, round to the same money)."""
    rounded = round_money(amount, currency)
    # Already rounded: Babel's own (half-even) quantization has nothing left to round.
    return format_currency(rounded if rounded else abs(rounded), currency, locale=locale)


@lru_cache(maxsize=1024)
def format_percent(fraction: Decimal, locale: str = DEFAULT_LOCALE) -> str:
    """`fraction` (0.2 for 20%, as tax rates and percentage prices are stored) as a
    percentage, exact: every place it has, trailing zeros dropped."""
    unsigned_zero = fraction if fraction else abs(fraction)
    # In fixed point ("0.20", not "20E-2"): the pattern then never meets an exponent.
    plain = Decimal(f"{unsigned_zero:f}")
    return babel_percent(plain, locale=locale, decimal_quantization=False)
