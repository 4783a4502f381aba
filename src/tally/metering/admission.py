"""Which usage events Tally takes: the checks that need the account's metrics or customers.

`wire.py` refuses what is wrong with an event on its own (shape, timestamps, nesting). Here,
with the account's live metrics read once per request and one query for archived customers
per batch, an event is refused when:
- a live SUM, MAX or LATEST metric of its event type would aggregate, from the property it
  reads, a number Tally cannot bill (`usage_limits.quantity_fault`: too large, too precise,
  or negative where the metric does not allow negative values);
- it names an archived customer, by id or by one of its live aliases (aliases no customer
  holds yet are taken: events may come before their customer).
UNIQUE metrics count distinct values, so a value's sign or size never reaches a bill; COUNT
reads no property.

A metric created or changed later meets events stored before it: `check_stored_values`
refuses the change while stored events it would aggregate hold such numbers, naming how many
and one of them, so billing never meets them either.
"""

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tally import usage_limits
from tally.exceptions import InvalidRequest
from tally.metering.rollups import NUMERIC_AGGREGATIONS, MetricDefinition, matches_filters
from tally.metering.sql import metering_sql
from tally.models import UsageMetric
from tally.models.metering import USAGE_EVENTS


class Refusal(msgspec.Struct, frozen=True):
    """Why an event was not stored, answered at its index (400 for a single event)."""

    field: str
    message: str


@dataclass(frozen=True)
class NumericRead:
    """A live SUM, MAX or LATEST metric's reading of one property of its events."""

    metric_id: str
    name: str
    property: str
    allow_negative: bool
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    negated: frozenset[str]
    case_sensitive: bool

    @classmethod
    def of(cls, metric: UsageMetric) -> "NumericRead":
        definition = MetricDefinition.of(metric)
        assert definition.aggregation_property is not None
        return cls(
            metric_id=metric.id,
            name=metric.name,
            property=definition.aggregation_property,
            allow_negative=bool(metric.allow_negative_values),
            filters=definition.filters,
            negated=definition.negated,
            case_sensitive=definition.case_sensitive,
        )


def numeric_reads(metrics: Iterable[UsageMetric]) -> dict[str, list[NumericRead]]:
    """Per event type, the properties live metrics aggregate as numbers."""
    reads: dict[str, list[NumericRead]] = {}
    for metric in metrics:
        if metric.aggregation_type in NUMERIC_AGGREGATIONS and metric.aggregation_property:
            reads.setdefault(metric.event_type, []).append(NumericRead.of(metric))
    return reads


_properties_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_string_decoder = msgspec.json.Decoder(str)
# A JSON number that is billable whatever the metric: not negative, below 10^15, at most six
# decimal places. Most values are; only the others are parsed.
_PLAIN_BILLABLE = re.compile(rb"(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,6})?")
# A JSON number both databases spell as sent when compared as text (PostgreSQL prints
# jsonb numbers without exponent, and -0 as 0).
_PLAIN_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_NEGATIVE_ZERO = re.compile(rb"-0(?:\.0+)?")


@functools.lru_cache(maxsize=1024)
def _spelled(key: str) -> bytes:
    return msgspec.json.encode(key)


def _occurrences(properties_json: bytes, key: str) -> int:
    """How often `key` is a top-level key of the properties (0, 1, or more: PostgreSQL keeps
    a repeated key's last value, SQLite reads its first)."""
    seen = properties_json.count(_spelled(key))
    if seen <= 1 and b"\\" not in properties_json:
        return seen  # without escapes, a key is spelled only so
    pairs = json.loads(
        properties_json,
        object_pairs_hook=lambda pairs: pairs,  # the last call is the top-level object
        parse_int=str,
        parse_float=str,
    )
    return sum(1 for name, _ in pairs if name == key)


def _number(raw: bytes) -> Decimal | None:
    """The number a metric would aggregate from a property's JSON, or None (skipped)."""
    if raw[:1] == b'"':
        return usage_limits.parse_number_text(_string_decoder.decode(raw))
    if raw[:1] == b"-" or raw[:1].isdigit():
        return Decimal(raw.decode())  # JSON's number grammar is a subset of Decimal's
    return None


class _Unknown(Enum):
    """A property whose text the two databases may spell differently (an object, a number
    with an exponent): a filter on it may or may not match."""

    TOKEN = 0


_UNKNOWN = _Unknown.TOKEN


def _compared_text(raw: bytes | None, case_sensitive: bool) -> str | _Unknown | None:
    """A property as `rollups.matches_filters` compares it (`MeteringSQL.property_text`)."""
    if raw is None or raw == b"null":
        return None
    if raw[:1] == b'"':
        text = _string_decoder.decode(raw)
    elif raw in (b"true", b"false") or (
        _PLAIN_NUMBER.fullmatch(raw) and not _NEGATIVE_ZERO.fullmatch(raw)
    ):
        text = raw.decode()
    else:
        return _UNKNOWN
    if case_sensitive:
        return text
    # SQLite lowers ASCII letters only, PostgreSQL by its locale: agree on ASCII alone.
    return text.lower() if text.isascii() else _UNKNOWN


def _reads(read: NumericRead, properties_json: bytes, properties: dict[str, msgspec.Raw]) -> bool:
    """Whether the metric's filters let it read the event (`rollups.matches_filters`); when
    that cannot be known here, assume it does: a refusal is the safe side."""
    for key, allowed in read.filters:
        raw = properties.get(key)
        text = _compared_text(None if raw is None else bytes(raw), read.case_sensitive)
        if text is _UNKNOWN or _occurrences(properties_json, key) > 1:
            continue
        values = allowed if read.case_sensitive else tuple(v.lower() for v in allowed)
        matches = text is not None and text in values
        if key in read.negated:
            matches = text is None or not matches
        if not matches:
            return False
    return True


def _shown(raw: bytes) -> str:
    text = raw.decode(errors="replace")
    return text if len(text) <= 40 else text[:37] + "..."


def _refusal(read: NumericRead, raw: bytes, fault: str) -> Refusal:
    field = f"eventProperties.{read.property}"
    metric = f"usage metric {read.name!r} ({read.metric_id})"
    if fault == usage_limits.NEGATIVE:
        message = (
            f"{_shown(raw)} is negative and {metric} does not take negative values: correct "
            "the value (an event with the same customerEventId replaces a stored one), or set "
            "allowNegativeValues to true on the metric to bill negative quantities"
        )
    else:
        message = (
            f"{_shown(raw)} cannot be billed by {metric}: usage values must be "
            f"{usage_limits.QUANTITY_RANGE}; send it in another unit or correct it"
        )
    return Refusal(field, f"{field}: {message}")


def quantity_refusal(
    reads: dict[str, list[NumericRead]], event_type: str, properties_json: bytes
) -> Refusal | None:
    """Why a live metric of the event's type could not bill what it reads from it."""
    wanted = reads.get(event_type)
    if not wanted:
        return None
    properties = _properties_decoder.decode(properties_json)
    for read in wanted:
        value = properties.get(read.property)
        if value is None:
            continue
        if _occurrences(properties_json, read.property) > 1:
            field = f"eventProperties.{read.property}"
            return Refusal(
                field,
                f"{field}: given more than once, which the databases read differently; send "
                f"it once (usage metric {read.name!r} aggregates it)",
            )
        if _PLAIN_BILLABLE.fullmatch(value):  # msgspec.Raw is a buffer: no copy
            continue
        raw = bytes(value)
        number = _number(raw)
        if number is None:
            continue
        fault = usage_limits.quantity_fault(number, read.allow_negative)
        if fault is not None and _reads(read, properties_json, properties):
            return _refusal(read, raw, fault)
    return None


def archived_refusal(alias: str, customer_id: str) -> Refusal:
    return Refusal(
        "customerAlias",
        f"customerAlias: {alias!r} names customer {customer_id}, which is archived: archived "
        "customers take no new usage",
    )


def retired_refusal(retired_until: date) -> Refusal:
    """Usage before the months retention dropped: their raw events are gone, so an event
    there could not be replaced or recomputed exactly."""
    return Refusal(
        "eventTimestamp",
        f"eventTimestamp: usage events before {retired_until.isoformat()} were exported and "
        "removed by retention; that usage can no longer change",
    )


# --- metrics meeting stored events ------------------------------------------------------------


def check_stored_values(session: Session, metric: UsageMetric) -> None:
    """Refuse a metric definition under which stored events would be billed a number Tally
    cannot bill (negative while the metric does not allow it, too large, too precise)."""
    if metric.aggregation_type not in NUMERIC_AGGREGATIONS or not metric.aggregation_property:
        return
    sql = metering_sql(session)
    events = USAGE_EVENTS
    definition = MetricDefinition.of(metric)
    number = sql.property_number(events.c.properties, metric.aggregation_property)
    fault = sql.quantity_fault(number, bool(metric.allow_negative_values))
    found = (
        select(fault.label("fault"), events.c.customer_event_id)
        .where(
            events.c.account_id == metric.account_id,
            events.c.event_type == metric.event_type,
            *matches_filters(sql, events.c.properties, definition),
        )
        .subquery("found")
    )
    faults: list[tuple[str, int, str]] = [
        (row[0], row[1], row[2])
        for row in session.execute(
            select(found.c.fault, func.count(), func.min(found.c.customer_event_id))
            .where(found.c.fault.is_not(None))
            .group_by(found.c.fault)
            .order_by(found.c.fault)
        )
    ]
    if not faults:
        return
    field = (
        "allowNegativeValues" if faults[0][0] == usage_limits.NEGATIVE else "aggregationProperty"
    )
    parts = []
    for kind, count, example in faults:
        what = {
            usage_limits.NEGATIVE: "a negative value",
            usage_limits.TOO_LARGE: "a value of 10^15 or more",
            usage_limits.TOO_PRECISE: "a value with more than 6 decimal places",
        }[kind]
        parts.append(f"{count} with {what} (customerEventId {example!r} among them)")
    advice = (
        "allow negative values to bill them as negative quantities, or "
        if any(kind == usage_limits.NEGATIVE for kind, _, _ in faults)
        else ""
    )
    raise InvalidRequest(
        f"Stored {metric.event_type!r} events hold a {metric.aggregation_property!r} this "
        f"metric could not bill: {'; '.join(parts)}. Usage values must be "
        f"{usage_limits.QUANTITY_RANGE}; {advice}replace those events (send them again with "
        "their customerEventId and a corrected value) before defining the metric so",
        details=[{"field": field, "message": "; ".join(parts)}],
    )
