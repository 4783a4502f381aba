"""Sequence's published OpenAPI schema (2024-07-30), to check our responses against it.

Three leniencies, on purpose:
- `AggregationType` also admits MAX and LATEST, the aggregations Tally adds for users of
  Lago, OpenMeter and Flexprice;
- `NotificationType` also admits Tally's payment events (PAYMENT_SUCCEEDED, PAYMENT_FAILED,
  INVOICE_UNCOLLECTIBLE), auto-recharge's (CREDIT_RECHARGED, CREDIT_RECHARGE_FAILED) and alert
  firings (ALERT_TRIGGERED);
- a usage metric's `propertyFilters` map to lists of values, as Sequence's own example shows
  (`{"channels": ["text", "email"]}`), where its schema says "object" (a Kotlin `Any`).
Everything else is checked as published, nulls included: an optional property is left out
when it has no value, never sent as null (`api/schemas.Schema` drops nulls, and pagination
leaves out `after` and `before` when there is no such page, as 8 of the schema's 11
pagination shapes type them as non-null strings). An earlier leniency let optional
properties be null for seed 002's `"after": null`; issue 18 decided omission, so it went.
"""

import gzip
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator

SPEC_PATH = Path(__file__).with_name("sequence-openapi-2024-07-30.json.gz")
TALLY_ENUM_EXTENSIONS = {
    "AggregationType": ["MAX", "LATEST"],
    # Tally's events (notifications/events.py, TALLY_NOTIFICATION_TYPES).
    "NotificationType": [
        "PAYMENT_SUCCEEDED",
        "PAYMENT_FAILED",
        "INVOICE_UNCOLLECTIBLE",
        "CREDIT_RECHARGED",
        "CREDIT_RECHARGE_FAILED",
        "ALERT_TRIGGERED",
    ],
}
API_PREFIX = "/api"


@cache
def spec() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(gzip.decompress(SPEC_PATH.read_bytes()))
    schemas = document["components"]["schemas"]
    for name, values in TALLY_ENUM_EXTENSIONS.items():
        schemas[name]["enum"] += values
    for schema in schemas.values():
        filters = schema.get("properties", {}).get("propertyFilters")
        if filters is not None:
            filters["additionalProperties"] = {"type": "array", "items": {}}
    return document


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # Sequence's template, without the /api prefix

    @property
    def definition(self) -> dict[str, Any]:
        operation: dict[str, Any] = spec()["paths"][self.path][self.method]
        return operation


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


@cache
def _templates() -> list[tuple[str, re.Pattern[str], int]]:
    return [(path, _pattern(path), len(re.sub(r"\{[^}]+\}", "", path))) for path in spec()["paths"]]


def find_operation(method: str, url_path: str) -> Operation | None:
    """Sequence's operation for a concrete request path, preferring the most literal match."""
    if not url_path.startswith(API_PREFIX):
        return None
    path = url_path[len(API_PREFIX) :]
    method = method.lower()
    matches = [
        (literal, template)
        for template, pattern, literal in _templates()
        if pattern.match(path) and method in spec()["paths"][template]
    ]
    if not matches:
        return None
    return Operation(method, max(matches)[1])


def template_operation(method: str, template: str) -> Operation | None:
    """Sequence's operation for one of our route templates (`/api/customers/{id}`)."""
    path = template[len(API_PREFIX) :] if template.startswith(API_PREFIX) else template
    canonical = re.sub(r"\{[^}]+\}", "{}", path)
    for candidate in spec()["paths"]:
        if (
            re.sub(r"\{[^}]+\}", "{}", candidate) == canonical
            and method.lower() in spec()["paths"][candidate]
        ):
            return Operation(method.lower(), candidate)
    return None


def response_errors(operation: Operation, status_code: int, body: Any) -> list[str]:
    """Why `body` does not match the documented response (empty when it does)."""
    responses = operation.definition["responses"]
    documented = responses.get(str(status_code))
    if documented is None:
        return [f"status {status_code} is not documented (documented: {sorted(responses)})"]
    content = documented.get("content", {}).get("application/json")
    if content is None:
        return []
    schema = {**content["schema"], "components": spec()["components"]}
    validator = OAS30Validator(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(body)
    ]
