"""What Tally can bill: the bounds usage and seat events stay within.

Events are checked against them when they arrive (`metering/wire.py`, `metering/admission.py`,
`seats/schemas.py`), and the SQL that aggregates stored events reads numbers by the same rule
(`metering/sql.py`, and on SQLite the functions of `tally.sqlite_functions`), so whether a
property is a number, and a billable one, is decided alike everywhere.

Why these bounds: billing prices usage with Python's default decimal context (28 significant
digits; rounding a line to the currency's minor unit fails past 10^26), and SQLite sums
decimals in that context too. A value below 10^15 with at most 6 decimal places has at most
21 digits, which leaves 7 digits of headroom: ten million maximal events sum exactly on
either database, and a large total priced at a large rate still rounds to a line.
Timestamps stay within 1970..2999, the years billing schedules may span, so any local day of
any time zone exists on both databases.

Standard library only: `tally.sqlite_functions`, below everything else, imports it.
"""

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

EARLIEST_EVENT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_EVENT = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)
TIMESTAMP_RANGE = "between 1970-01-01T00:00:00Z and 2999-12-31T23:59:59Z"

# eventProperties is level 1; deeper documents are refused (PostgreSQL's and SQLite's JSON
# functions, and the decoder, have limits of their own far above this).
MAX_PROPERTY_DEPTH = 32

QUANTITY_LIMIT = Decimal("1E15")  # |value| < 10^15
QUANTITY_DECIMALS = 6  # decimal places, trailing zeros aside
QUANTITY_RANGE = "less than 10^15 in absolute value, with at most 6 decimal places"

# A property string that spells a number counts as that number: optional spaces and sign,
# digits with an optional point, an exponent of at most three digits, 100 characters at
# most. Longer or stranger strings are text (so PostgreSQL never casts what it cannot hold).
NUMBER_TEXT_LENGTH = 100
_SPACE = r"[ \t\n\r\f\v]"
NUMERIC_TEXT = _SPACE + r"*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,3})?" + _SPACE + "*"
_NUMERIC_TEXT = re.compile(NUMERIC_TEXT)
_SPACES = " \t\n\r\f\v"

# Why a quantity cannot be billed (None: it can).
TOO_LARGE = "too_large"
TOO_PRECISE = "too_precise"
NEGATIVE = "negative"


def in_event_range(moment: datetime) -> bool:
    """Whether an aware timestamp is one usage may carry (comparing never overflows, even
    at 9999-12-31T23:00:00-14:00, which has no UTC equivalent)."""
    return EARLIEST_EVENT <= moment <= LATEST_EVENT


def number_text(text: str) -> str | None:
    """The number a property string spells, trimmed; None when it is text."""
    if len(text) > NUMBER_TEXT_LENGTH or _NUMERIC_TEXT.fullmatch(text) is None:
        return None
    return text.strip(_SPACES)


def parse_number_text(text: str) -> Decimal | None:
    spelled = number_text(text)
    return None if spelled is None else Decimal(spelled)


def quantity_fault(number: Decimal, allow_negative: bool) -> str | None:
    """Why `number` cannot be aggregated into a bill, or None when it can."""
    if not number.is_finite() or number.copy_abs() >= QUANTITY_LIMIT:  # exact: no context
        return TOO_LARGE
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    beyond = -exponent - QUANTITY_DECIMALS  # digits past the sixth decimal place
    if beyond > 0 and any(digits[-beyond:]):
        return TOO_PRECISE
    if not allow_negative and number < 0:  # -0 is not negative
        return NEGATIVE
    return None


def quantity_text_fault(text: str, allow_negative: bool) -> str | None:
    """`quantity_fault` of an exact decimal given as text (SQLite stores them so)."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return quantity_fault(number, allow_negative)
