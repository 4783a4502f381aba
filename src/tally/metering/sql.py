"""SQL expressions that differ between PostgreSQL and SQLite, for aggregating usage events.

Everything here builds expressions that the database evaluates: JSON property extraction,
exact decimal parsing and arithmetic, and the calendar day of a timestamp in the account's
time zone. On SQLite the decimal and time zone parts call the functions registered by
`tally.sqlite_functions`.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, Numeric, Text, and_, case, cast, func, literal, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from tally import usage_limits
from tally.core.sql import Bind, is_postgres
from tally.db import ExactDecimal

# A JSON number, or a string spelling one ("12.5"): what SUM, MAX and LATEST aggregate. The
# string's rule is `usage_limits.number_text`'s, so every cast to NUMERIC succeeds.
_NUMERIC_TEXT = "^" + usage_limits.NUMERIC_TEXT + "$"

Expression = ColumnElement[Any]


@dataclass(frozen=True)
class MeteringSQL:
    postgres: bool

    def property_text(self, properties: Expression, key: str) -> ColumnElement[str | None]:
        """The property as text (numbers and booleans spelled as in JSON), NULL if absent."""
        if self.postgres:
            text: ColumnElement[str | None] = type_coerce(properties, JSONB)[key].astext
            return text
        path = _sqlite_path(key)
        kind = func.json_type(properties, path)
        return case(
            (kind == "text", properties.op("->>")(path)),
            (
                kind.in_(["integer", "real", "true", "false", "object", "array"]),
                properties.op("->")(path),
            ),
            else_=None,
        )

    def property_number(self, properties: Expression, key: str) -> ColumnElement[Decimal | None]:
        """The property as an exact decimal, NULL when absent or not numeric."""
        if self.postgres:
            value = type_coerce(properties, JSONB)[key]
            kind = func.jsonb_typeof(value)
            text = value.astext
            spelled = and_(
                kind == "string",
                func.length(text) <= usage_limits.NUMBER_TEXT_LENGTH,
                text.regexp_match(_NUMERIC_TEXT),
            )
            return case(
                (kind == "number", cast(text, Numeric)),
                (spelled, cast(text, Numeric)),
                else_=None,
            )
        path = _sqlite_path(key)
        kind = func.json_type(properties, path)
        raw = case(
            (kind.in_(["integer", "real"]), properties.op("->")(path)),
            (kind == "text", func.tally_number_text(properties.op("->>")(path))),
            else_=None,
        )
        return type_coerce(func.tally_decimal(raw), ExactDecimal())

    def quantity_fault(self, number: Expression, allow_negative: bool) -> ColumnElement[str | None]:
        """Why a number `property_number` read cannot be billed (`usage_limits`), or NULL."""
        if not self.postgres:
            return func.tally_quantity_fault(number, allow_negative)
        limit = literal(usage_limits.QUANTITY_LIMIT, Numeric)
        faults = [
            (func.abs(number) >= limit, usage_limits.TOO_LARGE),
            (
                number != func.round(number, usage_limits.QUANTITY_DECIMALS),
                usage_limits.TOO_PRECISE,
            ),
        ]
        if not allow_negative:
            faults.append((number < literal(Decimal(0), Numeric), usage_limits.NEGATIVE))
        return case(*faults, else_=None)

    def local_day(self, timestamp: Expression, zone: str) -> ColumnElement[date]:
        if self.postgres:
            return cast(func.timezone(literal(zone, Text), timestamp), Date)
        return type_coerce(func.tally_local_day(timestamp, zone), Date)

    def json_distinct(self, left: Expression, right: Expression) -> ColumnElement[bool]:
        """Whether two JSON documents differ as values (jsonb semantics on both backends)."""
        if self.postgres:
            return left.is_distinct_from(right)
        return type_coerce(func.tally_json_distinct(left, right), Boolean)

    def decimal_sum(self, value: Expression) -> ColumnElement[Decimal | None]:
        return (
            func.sum(value)
            if self.postgres
            else type_coerce(func.tally_decimal_sum(value), ExactDecimal())
        )

    def decimal_max(self, value: Expression) -> ColumnElement[Decimal | None]:
        return (
            func.max(value)
            if self.postgres
            else type_coerce(func.tally_decimal_max(value), ExactDecimal())
        )

    def decimal_mul(self, left: Expression, right: Expression) -> ColumnElement[Decimal | None]:
        if self.postgres:
            return type_coerce(left, Numeric) * type_coerce(right, Numeric)
        return type_coerce(func.tally_decimal_mul(left, right), ExactDecimal())

    def decimal_clamp(
        self, value: Expression, low: Decimal | None, high: Decimal | None
    ) -> ColumnElement[Decimal | None]:
        """`value` raised to `low` and lowered to `high` (either may be absent)."""
        if self.postgres:
            clamped: ColumnElement[Any] = value
            if low is not None:
                clamped = func.greatest(clamped, literal(low, Numeric))
            if high is not None:
                clamped = func.least(clamped, literal(high, Numeric))
            return clamped
        return type_coerce(
            func.tally_decimal_clamp(
                value,
                None if low is None else str(low),
                None if high is None else str(high),
            ),
            ExactDecimal(),
        )

    def decimal_add(self, left: Expression, right: Expression) -> ColumnElement[Decimal | None]:
        if self.postgres:
            return func.coalesce(left, 0) + func.coalesce(right, 0)
        return type_coerce(func.tally_decimal_add(left, right), ExactDecimal())

    def decimal_greatest(
        self, left: Expression, right: Expression
    ) -> ColumnElement[Decimal | None]:
        if self.postgres:
            return func.greatest(left, right)
        return type_coerce(func.tally_decimal_greatest(left, right), ExactDecimal())


def _sqlite_path(key: str) -> str:
    # Quoted, so keys with dots or brackets address one property rather than a path.
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def metering_sql(bind: Bind) -> MeteringSQL:
    return MeteringSQL(postgres=is_postgres(bind))
