"""Decoding and encoding usage events with msgspec: the ingestion hot path.

msgspec validates events in C. Event properties stay raw JSON text, stored as sent, so a
number like 0.10000000000000000001 keeps every digit; only bodies that could hold absurd
numbers, or nest deeper than `usage_limits.MAX_PROPERTY_DEPTH`, are parsed to check them.
Timestamps must lie within `usage_limits`' range. What a metric reads from the properties is
checked later, against the account's metrics (`admission.py`).
"""

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from tally import usage_limits
from tally.api.unknown import unknown_message
from tally.metering.ingest import IncomingEvent

MAX_BATCH = 1000
OUT_OF_RANGE = "eventProperties: a number is out of range"
TOO_DEEP = f"eventProperties: nested more than {usage_limits.MAX_PROPERTY_DEPTH} levels deep"
# A body nested beyond what the decoder follows cannot even be split into its events.
TOO_DEEP_BODY = (
    f"events: nested more than {usage_limits.MAX_PROPERTY_DEPTH} levels deep, too deep to "
    "tell the events apart; nothing was stored"
)
TIMESTAMP_OUT_OF_RANGE = (
    f"eventTimestamp: must be {usage_limits.TIMESTAMP_RANGE} (once its offset is applied)"
)
# PostgreSQL's NUMERIC holds about 131,000 digits; anything near that is not a usage figure.
_MAX_DIGITS = 1000
_SUSPICIOUS_NUMBER = re.compile(rb"[0-9][eE][-+]?[0-9]{4,}|[0-9]{300,}")
# A JSON string (escapes included), or a bracket: what nesting depth is counted from.
_STRING_OR_BRACKET = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class _Batch(msgspec.Struct, forbid_unknown_fields=True):
    events: list[IncomingEvent]


class _RawBatch(msgspec.Struct, forbid_unknown_fields=True):
    events: list[msgspec.Raw]


_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `([^`]*)`")
_EVENT_FIELDS = tuple(field.encode_name for field in msgspec.structs.fields(IncomingEvent))


def _invalid(message: str, known: tuple[str, ...], default_field: str = "") -> "InvalidEvent":
    """msgspec's complaint as ours: an unknown field named with the one it probably meant."""
    unknown = _UNKNOWN_FIELD.match(message)
    if unknown is not None:
        name = unknown.group(1)
        return InvalidEvent(unknown_message("field", name, known), name)
    return InvalidEvent(message, _field_of(message) or default_field)


class EventOut(msgspec.Struct, rename="camel"):
    id: str
    customer_event_id: str
    customer_alias: str
    event_type: str
    sequence_account_id: str
    event_timestamp: datetime
    event_properties: msgspec.Raw


class EventError(msgspec.Struct, omit_defaults=True):
    type: str
    message: str
    details: list[dict[str, str]] | None = None


class EventResult(msgspec.Struct, rename="camel", omit_defaults=True):
    index: int
    status: str
    id: str | None = None
    customer_event_id: str | None = None
    duplicate: bool = False
    error: EventError | None = None


class BatchOut(msgspec.Struct):
    accepted: int
    replaced: int
    rejected: int
    results: list[EventResult]


class InvalidEvent(ValueError):
    def __init__(self, message: str, field: str = "", *, malformed: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.malformed = malformed  # not JSON at all, rather than JSON of the wrong shape


def _bounded_decimal(text: str) -> Decimal:
    number = Decimal(text)
    if number.is_finite() and abs(number.adjusted()) > _MAX_DIGITS:
        raise ValueError("number out of range")
    return number


_event_decoder = msgspec.json.Decoder(IncomingEvent)
_batch_decoder = msgspec.json.Decoder(_Batch)
_raw_batch_decoder = msgspec.json.Decoder(_RawBatch)
_properties_decoder = msgspec.json.Decoder(Any, float_hook=_bounded_decimal)


def _field_of(message: str) -> str:
    # msgspec ends its messages with "- at `$.eventType`" or names a missing field.
    if "- at `$." in message:
        path = message.rsplit("- at `$.", 1)[1].rstrip("`")
        return re.split(r"[.\[]", path)[-1] if path.startswith("events") else path.split(".")[0]
    missing = re.search(r"missing required field `([^`]+)`", message)
    return missing.group(1) if missing else ""


def _check_properties(event: IncomingEvent) -> IncomingEvent:
    raw = bytes(event.event_properties)
    if raw[:1] != b"{":
        raise InvalidEvent("eventProperties must be a JSON object", "eventProperties")
    if event.event_timestamp is not None and not usage_limits.in_event_range(event.event_timestamp):
        raise InvalidEvent(TIMESTAMP_OUT_OF_RANGE, "eventTimestamp")
    # Fewer brackets than the limit cannot nest deeper than it: the usual case, in C.
    if raw.count(b"{") + raw.count(b"[") > usage_limits.MAX_PROPERTY_DEPTH and _too_deep(raw):
        raise InvalidEvent(TOO_DEEP, "eventProperties")
    if _SUSPICIOUS_NUMBER.search(raw):  # rare: parse to tell a huge number from a string
        try:
            _check_integers(_properties_decoder.decode(raw))
        except msgspec.ValidationError as exc:
            raise InvalidEvent(OUT_OF_RANGE, "eventProperties") from exc
    return event


def _too_deep(raw: bytes) -> bool:
    depth = 0
    for token in _STRING_OR_BRACKET.findall(raw):
        if token in (b"{", b"["):
            depth += 1
            if depth > usage_limits.MAX_PROPERTY_DEPTH:
                return True
        elif token in (b"}", b"]"):
            depth -= 1
    return False


def _check_integers(value: Any) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int) and len(str(abs(value))) > _MAX_DIGITS:
        raise InvalidEvent(OUT_OF_RANGE, "eventProperties")
    if isinstance(value, dict):
        for item in value.values():
            _check_integers(item)
    elif isinstance(value, list):
        for item in value:
            _check_integers(item)


def decode_event(raw: bytes) -> IncomingEvent:
    """One event from its JSON, or InvalidEvent saying what is wrong with it."""
    try:
        event = _event_decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc), _EVENT_FIELDS) from exc
    except msgspec.DecodeError as exc:
        raise InvalidEvent(f"Not valid JSON: {exc}", malformed=True) from exc
    except RecursionError as exc:  # nested beyond what the decoder follows
        raise InvalidEvent(TOO_DEEP, "eventProperties") from exc
    return _check_properties(event)


def decode_batch(body: bytes) -> list[IncomingEvent | InvalidEvent]:
    """Every event of a batch body, or why it is invalid; InvalidEvent for a bad body."""
    try:
        events = _batch_decoder.decode(body).events  # fast path: the whole batch at once
    except msgspec.ValidationError:
        events = None
    except msgspec.DecodeError as exc:
        raise InvalidEvent(f"Not valid JSON: {exc}", malformed=True) from exc
    except RecursionError as exc:
        raise InvalidEvent(TOO_DEEP_BODY, "events") from exc
    if events is None:
        try:
            raw_events = _raw_batch_decoder.decode(body).events
        except msgspec.ValidationError as exc:
            raise _invalid(str(exc), ("events",), "events") from exc
        except RecursionError as exc:
            raise InvalidEvent(TOO_DEEP_BODY, "events") from exc
        _check_size(len(raw_events))
        return [_decoded_or_error(raw) for raw in raw_events]
    _check_size(len(events))
    return [_checked_or_error(event) for event in events]


def _check_size(count: int) -> None:
    if count > MAX_BATCH:
        raise InvalidEvent(
            f"At most {MAX_BATCH} events per batch ({count} given); split it.", "events"
        )


def _decoded_or_error(raw: msgspec.Raw) -> IncomingEvent | InvalidEvent:
    try:
        return decode_event(bytes(raw))
    except InvalidEvent as error:
        return error


def _checked_or_error(event: IncomingEvent) -> IncomingEvent | InvalidEvent:
    try:
        return _check_properties(event)
    except InvalidEvent as error:
        return error
