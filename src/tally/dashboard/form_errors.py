"""Errors of a posted dashboard form, said for people: "Country: choose a country", next to
the field they are about (and listed above the form), never "address.country: Value error, ...".

One translator for every form. A form is validated by the API's own request model and the
services' own rules; this module turns what they say into words: an error's location becomes
the field's label (`address.country` -> "Country", `contacts.1.email` -> "Contact 2 email"),
pydantic's error type becomes a phrase ("enter a number, e.g. 12.50"), and a service's
refusal keeps its own message under the field's label. A form may name its own labels (those
its page shows) and say which form field a location belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from tally.exceptions import TallyError

Location = Sequence[str | int]

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_WORDS = re.compile(r"[_\s]+")

# Labels of the API's field names (snake case) where the words of the name are not the label.
LABELS: dict[str, str] = {
    "line1": "Address line 1",
    "line2": "Address line 2",
    "postcode": "Postcode",
    "url": "Website",
    "logo_url": "Logo URL",
    "application_url": "Application URL",
    "payment_terms_days": "Payment terms",
    "tax_rate": "Tax rate",
    "group_id": "Group",
    "price_id": "Price",
    "product_id": "Product",
    "customer_id": "Customer",
    "metric_id": "Usage metric",
    "usage_metric_id": "Usage metric",
    "seat_metric_id": "Seat metric",
    "tax_category_id": "Tax category",
    "parent_id": "Parent",
    "credit_grant_id": "Credit grant",
    "legal_name": "Legal name",
    "timezone": "Time zone",
    "brand_color": "Brand colour",
    "frame_ancestors": "Embedding origins",
    "alert_email_addresses": "Alert email addresses",
    "customer_aliases": "Aliases",
    "integration_ids": "Integration ids",
    "custom_properties": "Custom properties",
}

# What kind of value a field takes decides how its errors are said.
COUNTRY_FIELDS = frozenset({"country"})
EMAIL_FIELDS = frozenset({"email", "alert_email_addresses", "billing_emails", "emails"})
TIMEZONE_FIELDS = frozenset({"timezone"})
CURRENCY_FIELDS = frozenset({"currency"})
# Some fields' own rule, said as what to do.
FIELD_PHRASES: dict[str, str] = {
    "invoice_number_prefix": "use letters, digits and dashes only",
    "state": "choose a state of the country",
}

NUMBER = "enter a number, e.g. 12.50"
WHOLE_NUMBER = "enter a whole number, e.g. 30"
DATE = "enter a date like 2026-01-31"


def snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def _name(loc: Location) -> str:
    """The field a location is about, in snake case: its last name (`address.country` ->
    `country`); a dashboard form's `address_country` is the address's `country`."""
    parts = [snake(part) for part in loc if isinstance(part, str) and part != "body"]
    name = parts[-1] if parts else ""
    return name.removeprefix("address_")


def _words(name: str) -> str:
    text = _WORDS.sub(" ", snake(name)).strip()
    return text[:1].upper() + text[1:]


def label(loc: Location, labels: Mapping[str, str] | None = None) -> str:
    """The label of a location: the form's own when it names one (by the location's dotted
    path, camel or snake case, or its last name), else the API field's words. Entries of a
    list are counted from 1: `contacts.0.email` -> "Contact 1 email"."""
    labels = labels or {}
    loc = [part for part in loc if part != "body"]
    dotted = ".".join(str(part) for part in loc)
    for key in (dotted, snake(dotted)):
        if key in labels:
            return labels[key]
    names = [part for part in loc if isinstance(part, str)]
    last = names[-1] if names else ""
    for key in (last, snake(last)):
        if key and key in labels:
            base = labels[key]
            break
    else:
        base = LABELS.get(snake(last)) or _words(last) if last else "This form"
    positions = [(i, part) for i, part in enumerate(loc) if isinstance(part, int)]
    if not positions:
        return base
    index, position = positions[-1]
    if index == len(loc) - 1:  # an entry of a list field: its line
        return f"{base}, line {position + 1}"
    owner = str(loc[index - 1]) if index else ""
    singular = _words(owner).removesuffix("s") if owner else "Entry"
    return f"{singular} {position + 1} {base[:1].lower() + base[1:]}"


# Pydantic's error types, said as what to do; `{name}` takes the error's context.
TYPE_PHRASES: dict[str, str] = {
    "missing": "fill this in",
    "decimal_parsing": NUMBER,
    "decimal_type": NUMBER,
    "float_parsing": NUMBER,
    "float_type": NUMBER,
    "finite_number": NUMBER,
    "int_parsing": WHOLE_NUMBER,
    "int_type": WHOLE_NUMBER,
    "int_from_float": WHOLE_NUMBER,
    "greater_than_equal": "enter {ge} or more",
    "greater_than": "enter more than {gt}",
    "less_than_equal": "enter {le} or less",
    "less_than": "enter less than {lt}",
    "decimal_max_places": "use at most {decimal_places} decimal places",
    "decimal_max_digits": "enter a smaller number",
    "decimal_whole_digits": "enter a smaller number",
    "string_too_short": "use at least {min_length} characters",
    "string_too_long": "use at most {max_length} characters",
    "too_long": "keep it to {max_length} at most",
    "too_short": "add at least {min_length}",
    "enum": "choose one of {expected}",
    "literal_error": "choose one of {expected}",
    "bool_parsing": "choose yes or no",
    "bool_type": "choose yes or no",
    "string_pattern_mismatch": "use the form the field's hint shows",
    "extra_forbidden": "is not a field of this form",
    "url": "enter a web address like https://example.com",
    "date": DATE,
    "datetime": DATE,
    "time": DATE,
}
# What a field's kind of value asks for, whatever the error.
KIND_PHRASES: tuple[tuple[frozenset[str], str], ...] = (
    (COUNTRY_FIELDS, "choose a country"),
    (TIMEZONE_FIELDS, "choose a time zone from the list, e.g. Europe/London"),
    (CURRENCY_FIELDS, "choose a currency"),
)


def phrase(error: Mapping[str, Any]) -> str:
    """What to do about one of pydantic's errors, for people ("choose a country")."""
    kind = str(error.get("type", ""))
    ctx = {key: str(value).replace("'", "") for key, value in (error.get("ctx") or {}).items()}
    name = _name(error.get("loc") or ())
    for names, text in KIND_PHRASES:
        if name in names:
            return text
    if name in EMAIL_FIELDS and kind not in ("too_long", "too_short"):
        return "enter an email address like name@example.com"
    if kind == "string_too_short" and ctx.get("min_length", "1") == "1":
        kind = "missing"
    if name in FIELD_PHRASES and kind in ("string_pattern_mismatch", "value_error"):
        return FIELD_PHRASES[name]
    if kind.startswith(("url", "date", "datetime", "time_")):
        kind = kind.split("_")[0]
    if kind in TYPE_PHRASES:
        return TYPE_PHRASES[kind].format_map(_Context(ctx))
    return plain(str(error.get("msg", "")))


class _Context(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "the limit"


_RAW = (
    ("Value error, ", ""),
    ("Assertion failed, ", ""),
    ("Input should be", "should be"),
    ("Field required", "fill this in"),
    ("field required", "fill this in"),
)


def plain(message: str) -> str:
    """A message written for the API, without pydantic's wording and with a lower-case start
    (it follows a label)."""
    for raw, said in _RAW:
        message = message.replace(raw, said)
    message = message.strip().rstrip(".")
    if message[:2].isupper():  # an acronym or a code ("URL ..."): as it is
        return message
    return message[:1].lower() + message[1:]


def said(where: str, what: str) -> str:
    return f"{where}: {what}" if where else what[:1].upper() + what[1:]


@dataclass
class Problems:
    """Errors of one posted form: all of them listed on top, each also next to its field."""

    messages: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.messages)

    def add(self, where: str, message: str, form_field: str = "") -> None:
        """`message` about the field labelled `where` (the form's `form_field`)."""
        text = said(where, message)
        self.messages.append(text)
        if form_field:
            self.fields.setdefault(form_field, text)

    def by_field(self, form_fields: Sequence[str], other: str = "form") -> dict[str, str]:
        """The messages by form field, those of no field of `form_fields` under `other`."""
        shown = {name: text for name, text in self.fields.items() if name in form_fields}
        rest = [text for text in self.messages if text not in shown.values()]
        if rest:
            shown[other] = " ".join(rest)
        return shown


def default_field(loc: Location) -> str:
    """The form field of an error's location: `structure.pricePerUnit` -> `price_per_unit`."""
    parts = [part for part in loc if isinstance(part, str) and part != "body"]
    return snake(parts[-1]) if parts else ""


def from_validation(
    error: ValidationError,
    to_field: Callable[[Location], str] = default_field,
    labels: Mapping[str, str] | None = None,
) -> Problems:
    problems = Problems()
    for item in error.errors():
        loc = tuple(item["loc"])
        problems.add(label(loc, labels) if loc else "", phrase(item), to_field(loc))
    return problems


def from_service(
    error: TallyError,
    to_field: Callable[[Location], str] = default_field,
    labels: Mapping[str, str] | None = None,
) -> Problems:
    problems = Problems()
    details: list[dict[str, Any]] = error.details or []
    if not details:
        problems.add("", plain(error.message))
    for detail in details:
        where = str(detail.get("field", ""))
        loc: list[str | int] = [int(p) if p.isdecimal() else p for p in where.split(".") if p]
        message = plain(str(detail.get("message", "")))
        problems.add(label(loc, labels) if loc else "", message, to_field(loc))
    return problems
