"""Drive Sequence's own published schema (2024-07-30) against Tally.

Schemathesis generates valid requests (positive mode) from Sequence's schema for every
operation Tally serves, and every answer must be one Sequence documents: no 5xx, a documented
status code, a body matching the documented schema. Sequence documents 404 on only a few
operations, so every id a request carries (path or body) names a real object of the test's
account, made fresh for each operation.
"""

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tally.db import Database
from tests.conftest import make_account
from tests.fuzz.sequence_objects import SequenceObjects
from tests.support.api_client import ApiClient
from tests.support.sequence_schema import API_PREFIX, spec
from tests.test_sequence_operations import NOT_SERVED

# Bounded and reproducible: the same cases on every run, no shrinking (a failure names its
# case as generated). Sequence's own examples, then three generated cases per operation: about
# a minute per database on a busy 2-core machine (a one-off run with 25 found nothing more).
# The coverage phase is off: it enumerates every boundary of every schema.
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {
            "mode": "positive",
            "max-examples": 3,
            "deterministic": True,
            "with-security-parameters": False,
        },
        "phases": {"coverage": {"enabled": False}},
    }
)
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

# Answers known not to conform yet, (method, Sequence path, status) -> why; empty today.
EXPECTED_FAILURES: dict[tuple[str, str, int], str] = {}


def sequence_document() -> dict[str, Any]:
    """Sequence's schema with the leniencies of tests/support/sequence_schema.py, served at
    /api, without its Authorization header parameter: credentials are the test account's."""
    document = copy.deepcopy(spec())
    document["servers"] = [{"url": API_PREFIX}]
    for operations in document["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and "parameters" in operation:
                operation["parameters"] = [
                    parameter
                    for parameter in operation["parameters"]
                    if parameter.get("name") != "Authorization"
                ]
    return document


schema = schemathesis.openapi.from_dict(sequence_document(), config=CONFIG).exclude(
    lambda ctx: (ctx.operation.method.lower(), ctx.operation.path) in NOT_SERVED
)

# Body fields (at any depth) that name an object -> that object; lists get one id.
BODY_REFERENCES = {
    "customerId": "customer",
    "ownerId": "customer",
    "parentId": "other_customer",
    "customerAlias": "customer",
    "memberIds": "other_customer",
    "customerIds": "other_customer",
    "productId": "product",
    "priceId": "price",
    "priceIds": "price",
    "restrictToPrices": "price",
    "listPriceId": "list_price",
    "listPriceIds": "list_price",
    "parameterId": "metric_parameter",
    "taxRateId": "tax_rate",
    "invoiceId": "sent_invoice",
    "invoiceIds": "invoice",
    "creditNoteId": "credit_note",
    "usageMetricId": "usage_metric",
    "metricId": "usage_metric",
    "seatMetricId": "seat_metric",
    "seatType": "seat_type",
    "eventType": "event_type",
    "billingScheduleId": "schedule",
    "creditGrantId": "grant",
    "sequenceAccountId": "account",
    "merchantId": "account",
    "attachmentAssetIds": "attachment",
    "billingRunId": "billing_run",
    "taxCategoryId": "tax_category",
}
# In credit note bodies, the invoice it credits and that invoice's lines.
CREDIT_NOTE_REFERENCES = {
    "invoiceId": "credited_invoice",
    "lineItemGroupId": "credited_group",
    "lineItemId": "credited_line",
    "invoiceLineItemIds": "credited_line",
}
# A metric's own key is not a reference to an existing one.
OWN_KEYS = {"/seat-metrics": "seatType", "/usage-metrics": "eventType"}
# Operations on an invoice that only an issued (sent) invoice has.
SENT_INVOICE_OPERATIONS = {
    "/invoices/{id}/sent",
    "/invoices/{id}/payment-status",
    "/invoices/{id}/send-payment-reminder",
}
# Merging takes two drafts of one customer and currency, and voids both.
MERGED_DRAFTS = ("invoice", "merge_draft")

# Path segment before a parameter -> the object that parameter names.
PATH_OBJECTS = {
    "customers": "customer",
    "contacts": "contact",
    "customer-aliases": "alias",
    "by-alias": "alias_value",
    "customer-organizations": "organization",
    "products": "product",
    "prices": "price",
    "list-prices": "list_price",
    "discounts": "discount",
    "tax-rates": "tax_rate",
    "tax-registrations": "tax_registration",
    "for-customer": "customer",
    "for-merchant": "account",
    "versions": "tax_rate_version",
    "usage-metrics": "usage_metric",
    "seat-metrics": "seat_metric",
    "seat-events": "seat_event",
    "billing-schedules": "schedule",
    "invoices": "invoice",
    "credit-notes": "credit_note",
    "policies": "policy",
    "recipients": "recipient",
    "sequence-accounts": "account",
    "activity-logs": "activity_log",
    "users": "user",
    "render-settings": "render_settings",
}
# Under /payments/settings (and /stripe/collections/settings) segments name settings.
PAYMENT_PATH_OBJECTS = {
    "settings": "payment_settings",
    "customers": "customer_payment_settings",
    "billing-schedules": "schedule_payment_settings",
    "for-billing-schedule": "settled_schedule",
    "invoices": "invoice_payment_settings",
    "for-invoice": "settled_invoice",
}
# Payment settings are made once per object: each create names a fresh one.
PAYMENT_SETTINGS_BODIES = {
    "/payments/settings/customers": {"customerId": "payment_customer"},
    "/payments/settings/billing-schedules": {"billingScheduleId": "payment_schedule"},
    "/payments/settings/invoices": {"invoiceId": "payment_invoice"},
}
# Actions after which their object is no longer what the next request expects.
ENDING_ACTIONS = {
    "archive",
    "void",
    "finalize",
    "send",
    "finalize-and-send",
    "mark-as-sent",
    "draft",
}


def owner_of(path: str) -> str:
    return "credit_note" if path.startswith("/credit-notes") else "invoice"


def path_objects(path: str) -> dict[str, str]:
    """Each path parameter of a Sequence path -> the object it names (if it names one)."""
    named = {}
    for segment, parameter in re.findall(r"([^/{}]+)/\{([^}]+)\}", path):
        if segment == "line-items":
            named[parameter] = f"{owner_of(path)}_line"
        elif segment == "line-item-groups":
            named[parameter] = f"{owner_of(path)}_group"
        elif segment == "credits":
            # /credits/{id} is a grant; /credits/{customerId}/... a customer.
            named[parameter] = "grant" if parameter == "id" else "customer"
        elif path.startswith("/stripe/collections/settings"):
            named[parameter] = "stripe_settings"
        elif path.startswith("/payments/settings"):
            named[parameter] = PAYMENT_PATH_OBJECTS[segment]
        elif segment in PATH_OBJECTS:
            named[parameter] = PATH_OBJECTS[segment]
    return named


def changed_objects(method: str, path: str) -> tuple[str, ...]:
    """The objects a successful call of this operation removes or moves on."""
    if (method, path) == ("post", "/invoices/merge"):
        return MERGED_DRAFTS
    if method == "post" and path in PAYMENT_SETTINGS_BODIES:
        return tuple(PAYMENT_SETTINGS_BODIES[path].values())
    named = list(path_objects(path).values())
    if not named:
        return ()
    if method == "delete" or path.rsplit("/", 1)[-1] in ENDING_ACTIONS:
        target = named[-1]
        return ("policy" if target == "recipient" else target,)
    return ()


def body_references(path: str) -> dict[str, str]:
    owner = owner_of(path)
    references = {**BODY_REFERENCES, "groupId": f"{owner}_group"}
    if owner == "credit_note":
        references.update(CREDIT_NOTE_REFERENCES)
    references.update(PAYMENT_SETTINGS_BODIES.get(path, {}))
    if path == "/payments/settings/invoices":
        references["customerId"] = "customer"  # the payment invoice's customer
    for prefix, own_key in OWN_KEYS.items():
        if path.startswith(prefix):
            del references[own_key]
    return references


def name_body_objects(value: Any, objects: SequenceObjects, references: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [name_body_objects(item, objects, references) for item in value]
    if not isinstance(value, dict):
        return value
    named = {}
    for field, item in value.items():
        name = references.get(field)
        if name is None:
            named[field] = name_body_objects(item, objects, references)
        elif isinstance(item, list):
            named[field] = [objects.value(name)] if item else []
        else:
            named[field] = None if item is None else objects.value(name)
    return named


def name_known_objects(case: schemathesis.Case, objects: SequenceObjects) -> None:
    path = case.operation.path
    for parameter, name in path_objects(path).items():
        if case.path_parameters and parameter in case.path_parameters:
            sent = name == "invoice" and path in SENT_INVOICE_OPERATIONS
            case.path_parameters[parameter] = objects.value("sent_invoice" if sent else name)
    case.body = name_body_objects(case.body, objects, body_references(path))
    if path == "/invoices/merge" and isinstance(case.body, dict) and case.body.get("invoiceIds"):
        case.body["invoiceIds"] = [objects.value(name) for name in MERGED_DRAFTS]
    if path.startswith("/billing-schedules") and isinstance(case.body, dict):
        # A phase grant's `id` keeps a grant the schedule has; a made-up one is a new grant.
        for phase in case.body.get("phases") or []:
            for grant in (phase.get("creditGrants") or []) if isinstance(phase, dict) else []:
                if isinstance(grant, dict):
                    grant.pop("id", None)


@pytest.fixture(scope="module")
def objects(database: Database, http: TestClient) -> SequenceObjects:
    credentials = make_account(database, "Sequence schema fuzz")
    return SequenceObjects(ApiClient(http, (credentials.api_key, credentials.api_secret)), database)


@pytest.fixture(scope="module")
def client(app: FastAPI, objects: SequenceObjects) -> Iterator[requests.Session]:
    with asgi.get_client(app) as session:
        session.auth = objects.api.auth
        yield session


@schema.parametrize()
@settings(
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_sequence_schema_answers_as_documented(
    case: schemathesis.Case, client: requests.Session, objects: SequenceObjects
) -> None:
    method, path = case.operation.method.lower(), case.operation.path
    name_known_objects(case, objects)
    response = case.call(session=client, base_url=f"http://{asgi.HOST}{API_PREFIX}")
    if response.status_code < 300:
        for changed in changed_objects(method, path):
            objects.forget(changed)
    if (method, path, response.status_code) in EXPECTED_FAILURES:
        return
    case.validate_response(response, checks=CHECKS)


def test_expected_failures_name_served_sequence_operations() -> None:
    for method, path, _ in EXPECTED_FAILURES:
        assert method in spec()["paths"][path], (method, path)
        assert (method, path) not in NOT_SERVED
