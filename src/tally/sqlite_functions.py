"""SQL functions SQLite lacks, registered on every SQLite connection.

SQLite has no exact decimal type and no time zone database. These functions let the same
aggregation SQL run there as on PostgreSQL (which has NUMERIC and AT TIME ZONE built in), inside
the database engine, with exact results. PostgreSQL never uses them.
"""

import functools
import json
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

from tally import usage_limits


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _text(number: Decimal | None) -> str | None:
    return None if number is None else str(number)


def decimal_or_null(value: object) -> str | None:
    """The value as an exact decimal string, or NULL when it is not a finite number."""
    return _text(_decimal(value))


def decimal_add(left: object, right: object) -> str | None:
    a, b = _decimal(left), _decimal(right)
    if a is None or b is None:
        return _text(a if b is None else b)
    return _text(a + b)


def decimal_mul(left: object, right: object) -> str | None:
    a, b = _decimal(left), _decimal(right)
    return None if a is None or b is None else _text(a * b)


def decimal_clamp(value: object, low: object, high: object) -> str | None:
    number = _decimal(value)
    if number is None:
        return None
    floor, ceiling = _decimal(low), _decimal(high)
    if floor is not None:
        number = max(number, floor)
    if ceiling is not None:
        number = min(number, ceiling)
    return _text(number)


def decimal_greatest(left: object, right: object) -> str | None:
    a, b = _decimal(left), _decimal(right)
    if a is None or b is None:
        return _text(a if b is None else b)
    return _text(max(a, b))


def decimal_cmp(left: object, right: object) -> int | None:
    """-1, 0 or 1 as `left` is below, equal to or above `right`; NULL when either is not a
    number (as SQL's own comparisons answer NULL)."""
    a, b = _decimal(left), _decimal(right)
    if a is None or b is None:
        return None
    return (a > b) - (a < b)


def decimal_sort_key(value: object) -> str | None:
    """Text that sorts as the number does (NULL when not a number): "1" for zero; "2", the
    exponent and the digits for a positive number; "0", the exponent and the digits
    complemented (then ":", above every digit) for a negative one, so larger magnitudes sort
    first."""
    number = _decimal(value)
    if number is None:
        return None
    if number.is_zero():
        return "1"
    sign, digits, _ = number.normalize().as_tuple()
    exponent = number.adjusted() + 50_000
    text = "".join(str(digit) for digit in digits)
    if not sign:
        return f"2{exponent:06d}{text}"
    complement = "".join(str(9 - digit) for digit in digits)
    return f"0{100_000 - exponent:06d}{complement}:"


class DecimalSum:
    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: object) -> None:
        number = _decimal(value)
        if number is not None:
            self.total = number if self.total is None else self.total + number

    def finalize(self) -> str | None:
        return _text(self.total)


class DecimalMax:
    def __init__(self) -> None:
        self.best: Decimal | None = None

    def step(self, value: object) -> None:
        number = _decimal(value)
        if number is not None and (self.best is None or number > self.best):
            self.best = number

    def finalize(self) -> str | None:
        return _text(self.best)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(timestamp: str | None, zone: str) -> str | None:
    """The calendar date of a stored UTC timestamp in the given IANA time zone."""
    if timestamp is None:
        return None
    moment = datetime.fromisoformat(timestamp).replace(tzinfo=UTC)
    return moment.astimezone(_zone(zone)).date().isoformat()


def number_text(value: object) -> str | None:
    """A property string's number, when it spells one (`usage_limits.number_text`)."""
    return usage_limits.number_text(value) if isinstance(value, str) else None


def quantity_fault(value: object, allow_negative: object) -> str | None:
    """Why an exact decimal (as text) cannot be billed, or NULL (`usage_limits`)."""
    if not isinstance(value, str):
        return None
    return usage_limits.quantity_text_fault(value, bool(allow_negative))


def json_distinct(left: str | None, right: str | None) -> bool:
    """Whether two JSON texts hold different values, as PostgreSQL compares jsonb: key order,
    spacing and the spelling of equal numbers (1.0, 1.00) do not matter."""
    if left is None or right is None:
        return left is not right
    loads = functools.partial(json.loads, parse_float=Decimal, parse_int=Decimal)
    return bool(loads(left) != loads(right))


def register(connection: sqlite3.Connection) -> None:
    connection.create_function("tally_decimal", 1, decimal_or_null, deterministic=True)
    connection.create_function("tally_decimal_add", 2, decimal_add, deterministic=True)
    connection.create_function("tally_decimal_greatest", 2, decimal_greatest, deterministic=True)
    connection.create_function("tally_decimal_mul", 2, decimal_mul, deterministic=True)
    connection.create_function("tally_decimal_clamp", 3, decimal_clamp, deterministic=True)
    connection.create_function("tally_decimal_cmp", 2, decimal_cmp, deterministic=True)
    connection.create_function("tally_decimal_sort_key", 1, decimal_sort_key, deterministic=True)
    connection.create_function("tally_local_day", 2, local_day, deterministic=True)
    connection.create_function("tally_json_distinct", 2, json_distinct, deterministic=True)
    connection.create_function("tally_number_text", 1, number_text, deterministic=True)
    connection.create_function("tally_quantity_fault", 2, quantity_fault, deterministic=True)
    connection.create_aggregate("tally_decimal_sum", 1, DecimalSum)  # type: ignore[arg-type]
    connection.create_aggregate("tally_decimal_max", 1, DecimalMax)  # type: ignore[arg-type]
