"""Ids in request bodies cross no account (issue 16, item 3).

A billing schedule phase's `creditGrants[].metricId` and `taxRateId` took another account's
ids (the customer portal then showed that account's metric name and unit), and a credit note
line's `productId` took another account's product. Every id field of every request body, as
the OpenAPI document lists them (`id`, `...Id`, `...Ids`, at any depth, in arrays and unions),
is filled here with another account's real id of the kind it names: 404, naming the field,
and nothing changes in either account; the same body with the caller's own ids succeeds, so
the 404 came from that field. Fields the schema documents as refused (not supported) or as
repeating the path's id answer 400. A new id field fails the walk until `KINDS` or
`NOT_REFERENCES` says what it is.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from tally.db import Database
from tally.models import Base, CreditGrant
from tally.models.distribution import UNKEYED_TABLES
from tests.attachments.helpers import upload
from tests.catalog.price_bodies import linear, list_price_body, price_body, seat_based
from tests.credit_notes.helpers import issued_note, line_body
from tests.factories import customer_body, tax_rate_body
from tests.fuzz.billing_objects import make_billing_objects
from tests.invoices.helpers import insert_invoice
from tests.metering.test_custom_metrics import STORAGE
from tests.support.api_client import ApiClient

Operation = tuple[str, str]  # method, path template

# The kind of object an id field names, by the field as the walk spells it
# (`phases[].creditGrants[].metricId`) or by its last name.
KINDS = {
    "customerId": "customer",
    "parentId": "customer",
    "ownerId": "customer",
    "memberIds": "customer",
    "customerIds": "customer",
    "productId": "product",
    "priceId": "price",
    "priceIds": "price",
    "usageMetricId": "usage_metric",
    "seatMetricId": "seat_metric",
    "metricId": "usage_metric",
    "taxRateId": "tax_rate",
    "billingScheduleId": "schedule",
    "invoiceId": "sent_invoice",
    "creditNoteId": "issued_credit_note",
    "lineItemId": "sent_invoice_line",
    "invoiceLineItemIds": "sent_invoice_line",
    "lineItemGroupId": "sent_invoice_group",
    "sequenceAccountId": "account",
    "merchantId": "account",  # in Tally the merchant is the account
    "phases[].creditGrants[].id": "phase_credit_grant",
    "customMetricParameters[].parameterId": "metric_parameter",
    "attachmentAssetIds": "attachment",
    "billingRunId": "billing_run",
    "creditGrantId": "grant",
    "listPriceId": "list_price",
    "listPriceIds": "list_price",
}
# Where an operation gives a name another meaning.
BY_OPERATION: dict[tuple[str, str, str], str] = {
    ("post", "/api/invoices/{invoice}/line-items", "groupId"): "invoice_group",
    ("put", "/api/invoices/{invoice}/line-items/{id}", "groupId"): "invoice_group",
    ("post", "/api/credit-notes/{creditnote}/line-items", "groupId"): "credit_note_group",
    ("post", "/api/credit-notes/{creditnote}/line-items", "creditNoteId"): "credit_note",
    ("put", "/api/tax-rates/{id}", "id"): "tax_rate",
    ("put", "/api/invoices/{id}", "billingRunId"): "billing_run",
    ("patch", "/api/invoices/{id}", "billingRunId"): "billing_run",
    ("post", "/api/invoices/merge", "invoiceIds"): "invoice",
    ("post", "/api/invoices/reconcile-with-integration", "invoiceIds"): "invoice",
    ("post", "/api/invoices/{invoice}/line-item-groups", "taxCategoryId"): "tax_category",
    ("put", "/api/invoices/{invoice}/line-item-groups/{id}", "taxCategoryId"): "tax_category",
}
# Id fields that name no object of Tally's, and why: nothing is looked up or shown for them.
NOT_REFERENCES = {
    "externalIds": "ids in other systems (integrations), kept as given",
    "externalIds[].id": "an id in another system, kept as given",
    "integrationIds": "ids in other systems (integrations), kept as given",
    "integrationIds[].id": "an id in another system, kept as given",
    "taxCategoryId": "on products and tax rates, the merchant's label (rates are looked up "
    "by it); invoice groups resolve it (BY_OPERATION)",
    "customerEventId": "the caller's own id for an event (last received wins)",
    "events[].customerEventId": "the caller's own id for an event (last received wins)",
    "customerTaxId": "the customer's tax number",
}
# Where even the caller's own object is unknown, so no control body can name one.
NO_OWN = {
    ("post", "/api/billing-schedules", "phases[].creditGrants[].id"): (
        "a new schedule has no phase grant to keep: every id is unknown"
    ),
    ("post", "/api/billing-schedules/validate-taxes", "phases[].creditGrants[].id"): (
        "checked as a new schedule: every id is unknown"
    ),
}


@dataclass(frozen=True)
class IdField:
    name: str  # as the walk spells it: `phases[].creditGrants[].metricId`
    array: bool  # a list of ids
    refused: bool  # the schema says it is not supported (any value but none is refused)
    echoes_path: bool  # the schema says it repeats the path's id

    @property
    def leaf(self) -> str:
        return self.name.rsplit(".", 1)[-1]


def _descriptions(schema: dict[str, Any]) -> str:
    found = [str(schema.get("description", ""))]
    for union in ("anyOf", "oneOf", "allOf"):
        found += [str(part.get("description", "")) for part in schema.get(union, [])]
    return " ".join(found)


def _is_array(schema: dict[str, Any]) -> bool:
    variants = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
    return any(variant.get("type") == "array" for variant in variants)


def _walk(
    document: dict[str, Any],
    schema: dict[str, Any],
    path: str,
    above: str,
    found: dict[str, IdField],
    seen: frozenset[str],
) -> None:
    """Every property named `id`, `...Id` or `...Ids` under `schema`; `above` holds the
    descriptions of the properties it sits in (a refused list refuses what is inside)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return
        seen = seen | {name}
        schema = document["components"]["schemas"][name]
    for union in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(union, []):
            _walk(document, part, path, above, found, seen)
    if isinstance(schema.get("items"), dict):
        _walk(document, schema["items"], path + "[]", above, found, seen)
    if isinstance(schema.get("additionalProperties"), dict):
        _walk(document, schema["additionalProperties"], path + "{}", above, found, seen)
    for name, prop in schema.get("properties", {}).items():
        where = f"{path}.{name}".lstrip(".")
        said = f"{above} {_descriptions(prop)}".lower()
        if name == "id" or name.endswith(("Id", "Ids")):
            found[where] = IdField(
                name=where,
                array=_is_array(prop),
                refused="not supported" in said,
                echoes_path="path" in _descriptions(prop).lower(),
            )
        _walk(document, prop, where, said, found, seen)


def id_fields(app: FastAPI) -> dict[Operation, list[IdField]]:
    """The id fields of every request body in the app's OpenAPI document."""
    document = app.openapi()
    fields: dict[Operation, list[IdField]] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                found: dict[str, IdField] = {}
                _walk(document, media["schema"], "", "", found, frozenset())
                if found:
                    fields[(method, path)] = list(found.values())
    return fields


def kind_of(operation: Operation, field: IdField) -> str | None:
    method, path = operation
    for key in ((method, path, field.name), (method, path, field.leaf)):
        if key in BY_OPERATION:
            return BY_OPERATION[key]
    return KINDS.get(field.name) or KINDS.get(field.leaf)


def not_a_reference(field: IdField, operation: Operation | None = None) -> bool:
    if operation is not None and (*operation, field.leaf) in BY_OPERATION:
        return False
    return field.name in NOT_REFERENCES or field.leaf in NOT_REFERENCES


# --- the objects of an account and the bodies that name them -------------------------------


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def objects_of(api: ApiClient, database: Database) -> dict[str, str]:
    """One object of every kind a body can name, in the API's account."""
    ids = make_billing_objects(api, database)
    sent = ids["sent_invoice"]
    lines = _created(api.get(f"/api/invoices/{sent}/line-items"))["items"]
    groups = _created(api.get(f"/api/invoices/{sent}/line-item-groups"))["items"]
    ids["sent_invoice_line"] = lines[0]["id"]
    ids["sent_invoice_group"] = groups[0]["id"]
    customer = _created(api.get(f"/api/customers/{ids['customer']}"))
    ids["issued_credit_note"] = issued_note(api, sent, customer["id"], rate="5.00")["id"]
    usage_price = price_body(ids["product"], linear(ids["usage_metric"]), name="Calls")
    ids["usage_price"] = _created(api.post("/api/prices", json=usage_price))["id"]
    ids["seat_price"] = _created(
        api.post("/api/prices", json=price_body(ids["product"], seat_based(ids["seat_metric"])))
    )["id"]
    custom = _created(api.post("/api/usage-metrics", json=STORAGE))
    ids["custom_metric"] = custom["id"]
    ids["metric_parameter"] = custom["parameters"][0]["id"]
    granting = _created(api.post("/api/billing-schedules", json=_schedule(ids)))
    ids["granting_schedule"] = granting["id"]
    ids["phase_credit_grant"] = granting["phases"][0]["creditGrants"][0]["id"]
    account_id = ids["account"]
    ids["scheduled_draft"] = insert_invoice(
        database, account_id, customer, billing_schedule_id=ids["schedule"], billing_run=True
    )
    ids["billing_run"] = _created(api.get(f"/api/invoices/{ids['scheduled_draft']}"))[
        "billingRunId"
    ]
    ids["attachment"] = upload(api)["id"]
    ids["tax_category"] = _tax_category(api)
    return ids


def _draft(api: ApiClient, ids: dict[str, str]) -> str:
    body = {"currency": "GBP", "customerId": ids["customer"]}
    return str(_created(api.post("/api/invoices", json=body))["id"])


def _tax_category(api: ApiClient) -> str:
    """A tax category with a published GB rate (the customers' country), so groups take it."""
    category = _created(api.post("/api/tax-categories", json={"name": "SaaS"}))["id"]
    _created(api.post("/api/tax-rates", json=tax_rate_body(taxCategoryId=category)))
    return str(category)


def _fresh_customer(api: ApiClient, name: str) -> str:
    return _created(api.post("/api/customers", json=customer_body(legalName=name)))["id"]


def _grant(ids: dict[str, str]) -> dict[str, Any]:
    return {
        "name": "Included calls",
        "creditUnitType": "METRIC",
        "metricId": ids["usage_metric"],
        "amount": 10,
        "taxRateId": ids["tax_rate"],
        "grantRefreshFrequency": "NONE",
        "rolloverMode": "NONE",
    }


def _terms(ids: dict[str, str], grant: dict[str, Any]) -> dict[str, Any]:
    usage = ids["usage_price"]
    listed = ids["list_price"]
    return {
        "startDate": "2024-01-01",
        "endDate": "2024-12-31",
        "phases": [
            {
                "priceIds": [usage],
                "listPriceIds": [listed],
                "startDate": "2024-01-01",
                "endDate": "2024-12-31",
                "phasePriceMetadata": [{"priceId": usage, "arrCalculation": "INCLUDE"}],
                "phaseListPriceMetadata": [{"listPriceId": listed, "arrCalculation": "EXCLUDE"}],
                "creditGrants": [grant],
            }
        ],
        # Every price taxed: validate-taxes refuses a taxed customer's untaxed price.
        "taxRates": [
            {"priceId": usage, "taxRateId": ids["tax_rate"]},
            {"priceId": listed, "taxRateId": ids["tax_rate"]},
        ],
    }


def _schedule(ids: dict[str, str]) -> dict[str, Any]:
    return {
        "customerId": ids["customer"],
        "isDraft": True,
        "attachmentAssetIds": [ids["attachment"]] if "attachment" in ids else [],
        **_terms(ids, _grant(ids)),
    }


def _party_bodies(api: ApiClient, ids: dict[str, str]) -> dict[Operation, list[tuple[str, Any]]]:
    """Tax registrations (a customer's and the merchant's), schedule duplicate and
    validate-taxes (tests/contract_walks/p_parties.py)."""
    customer = {"customerId": ids["customer"], "taxIdentifier": "DE1", "country": "DE"}
    merchant = {"merchantId": ids["account"], "taxIdentifier": "GB1", "country": "GB"}
    made = _created(api.post("/api/tax-registrations", json={**customer, "taxIdentifier": "X"}))
    registration = f"/api/tax-registrations/{made['id']}"
    usage = {"name": "Cap", "type": "USAGE", "metricId": ids["usage_metric"], "threshold": "10"}
    own_alert = {**usage, "customerId": ids["customer"]}
    default_alert = {**usage, "priceId": ids["price"]}
    alert = f"/api/alerts/{_created(api.post('/api/alerts', json=own_alert))['id']}"
    return {
        ("post", "/api/alerts"): [("/api/alerts", own_alert), ("/api/alerts", default_alert)],
        ("put", "/api/alerts/{id}"): [(alert, own_alert), (alert, default_alert)],
        ("post", "/api/tax-registrations"): [
            ("/api/tax-registrations", customer),
            ("/api/tax-registrations", merchant),
        ],
        ("put", "/api/tax-registrations/{id}"): [
            (registration, {**customer, "taxIdentifier": "DE2"}),
            (registration, {**merchant, "taxIdentifier": "GB2"}),
        ],
        ("post", "/api/billing-schedules/{id}/duplicate"): [
            (
                f"/api/billing-schedules/{ids['granting_schedule']}/duplicate",
                {"customerId": ids["customer"]},
            ),
        ],
        ("post", "/api/billing-schedules/validate-taxes"): [
            ("/api/billing-schedules/validate-taxes", _schedule(ids)),
        ],
    }


def bodies(api: ApiClient, ids: dict[str, str]) -> dict[Operation, list[tuple[str, Any]]]:
    """Per operation, (url, body) pairs naming the caller's own objects, each valid."""
    sent = _created(api.get(f"/api/invoices/{ids['sent_invoice']}"))
    note = _created(api.get(f"/api/credit-notes/{ids['issued_credit_note']}"))
    credited = ids["sent_invoice_line"]
    kept_grant = {**_grant(ids), "id": ids["phase_credit_grant"]}
    return {
        ("post", "/api/customers"): [
            ("/api/customers", customer_body(parentId=ids["customer"])),
        ],
        ("put", "/api/customers/{id}"): [
            (
                f"/api/customers/{_fresh_customer(api, 'Child Ltd')}",
                customer_body(parentId=ids["customer"]),
            ),
        ],
        ("post", "/api/customer-aliases"): [
            ("/api/customer-aliases", {"customerId": ids["customer"], "value": "sweep-alias"}),
        ],
        ("post", "/api/customer-organizations"): [
            (
                "/api/customer-organizations",
                {
                    "ownerId": _fresh_customer(api, "Owner Ltd"),
                    "memberIds": [_fresh_customer(api, "Member Ltd")],
                },
            ),
        ],
        ("post", "/api/customer-organizations/{id}/members"): [
            (
                f"/api/customer-organizations/{ids['organization']}/members",
                {"customerIds": [_fresh_customer(api, "Joiner Ltd")]},
            ),
        ],
        ("put", "/api/customer-organizations/{id}/members"): [
            (
                f"/api/customer-organizations/{ids['organization']}/members",
                {"customerIds": [_fresh_customer(api, "Replacement Ltd")]},
            ),
        ],
        ("post", "/api/prices"): [
            (
                "/api/prices",
                price_body(
                    ids["product"], linear(ids["usage_metric"]), listPriceId=ids["list_price"]
                ),
            ),
            ("/api/prices", price_body(ids["product"], seat_based(ids["seat_metric"]))),
            (
                "/api/prices",
                price_body(
                    ids["product"],
                    linear(ids["custom_metric"]),
                    customMetricParameters=[{"parameterId": ids["metric_parameter"], "value": "5"}],
                ),
            ),
        ],
        ("post", "/api/list-prices"): [
            ("/api/list-prices", list_price_body(ids["product"], linear(ids["usage_metric"]))),
            ("/api/list-prices", list_price_body(ids["product"], seat_based(ids["seat_metric"]))),
            (
                "/api/list-prices",
                list_price_body(
                    ids["product"],
                    linear(ids["custom_metric"]),
                    customMetricParameters=[{"parameterId": ids["metric_parameter"], "value": "5"}],
                ),
            ),
        ],
        ("put", "/api/list-prices/{id}"): [
            (
                f"/api/list-prices/{ids['list_price']}",
                list_price_body(ids["product"], linear(ids["usage_metric"])),
            ),
            (
                f"/api/list-prices/{ids['list_price']}",
                list_price_body(ids["product"], seat_based(ids["seat_metric"])),
            ),
            (
                f"/api/list-prices/{ids['list_price']}",
                list_price_body(
                    ids["product"],
                    linear(ids["custom_metric"]),
                    customMetricParameters=[{"parameterId": ids["metric_parameter"], "value": "5"}],
                ),
            ),
        ],
        ("put", "/api/discounts/{id}"): [
            (
                f"/api/discounts/{ids['discount']}",
                {
                    "billingScheduleId": ids["schedule"],
                    "priceIds": [ids["price"]],
                    "separateLineItem": False,
                    "amount": 15,
                    "discountCalculationType": "PERCENTAGE",
                    "message": "Launch",
                },
            ),
        ],
        ("put", "/api/tax-rates/{id}"): [
            (f"/api/tax-rates/{ids['tax_rate']}", tax_rate_body(id=ids["tax_rate"])),
        ],
        ("post", "/api/billing-schedules"): [("/api/billing-schedules", _schedule(ids))],
        **_party_bodies(api, ids),
        ("put", "/api/billing-schedules/{id}"): [
            (
                f"/api/billing-schedules/{ids['granting_schedule']}",
                {**_terms(ids, kept_grant), "attachmentAssetIds": [ids["attachment"]]},
            ),
        ],
        ("post", "/api/invoices"): [
            (
                "/api/invoices",
                {
                    "currency": "GBP",
                    "customerId": ids["customer"],
                    "billingScheduleId": ids["schedule"],
                    "billingRunId": ids["billing_run"],
                    "attachmentAssetIds": [ids["attachment"]],
                },
            ),
        ],
        ("post", "/api/invoices/{invoice}/line-items"): [
            (
                f"/api/invoices/{ids['invoice']}/line-items",
                {
                    "title": "Setup",
                    "quantity": "1",
                    "rate": "5.00",
                    "taxRate": "0.2",
                    "groupId": ids["invoice_group"],
                    "priceId": ids["price"],
                    "creditGrantId": ids["grant"],
                },
            ),
        ],
        ("put", "/api/invoices/{invoice}/line-items/{id}"): [
            (
                f"/api/invoices/{ids['invoice']}/line-items/{ids['invoice_line']}",
                {
                    "title": "Setup",
                    "quantity": "1",
                    "rate": "5.00",
                    "taxRate": "0.2",
                    "groupId": ids["invoice_group"],
                    "priceId": ids["price"],
                    "creditGrantId": ids["grant"],
                },
            ),
        ],
        ("post", "/api/invoices/{invoice}/line-item-groups"): [
            (
                f"/api/invoices/{ids['invoice']}/line-item-groups",
                {"title": "Services", "taxCategoryId": ids["tax_category"]},
            ),
        ],
        ("put", "/api/invoices/{invoice}/line-item-groups/{id}"): [
            (
                f"/api/invoices/{ids['invoice']}/line-item-groups/{ids['invoice_group']}",
                {"title": "Services", "taxCategoryId": ids["tax_category"]},
            ),
        ],
        ("post", "/api/credit-notes"): [
            (
                "/api/credit-notes",
                {
                    "invoiceId": ids["sent_invoice"],
                    "customerId": ids["customer"],
                    "currency": "GBP",
                },
            ),
        ],
        ("post", "/api/credit-notes/{creditnote}/line-items"): [
            (
                f"/api/credit-notes/{ids['credit_note']}/line-items",
                line_body(
                    rate="1.00",
                    creditNoteId=ids["credit_note"],
                    groupId=ids["credit_note_group"],
                    lineItemId=credited,
                    invoiceLineItemIds=[credited],
                    productId=ids["product"],
                ),
            ),
        ],
        ("put", "/api/credit-notes/{creditnote}/line-items/{id}"): [
            (
                f"/api/credit-notes/{ids['credit_note']}/line-items/{ids['credit_note_line']}",
                line_body(rate="1.00", productId=ids["product"]),
            ),
        ],
        ("post", "/api/credit-notes/{creditnote}/line-item-groups"): [
            (
                f"/api/credit-notes/{ids['credit_note']}/line-item-groups",
                {"title": "Platform", "lineItemGroupId": ids["sent_invoice_group"]},
            ),
        ],
        ("post", "/api/credit-note-applications"): [
            (
                "/api/credit-note-applications",
                {
                    "creditNoteId": note["id"],
                    "invoiceId": sent["id"],
                    "amount": 1,
                    "currency": "GBP",
                    "creditNoteBalanceVersion": note["balanceVersion"],
                    "invoiceBalanceVersion": sent["balanceVersion"],
                },
            ),
        ],
        ("put", "/api/invoices/{id}"): [
            (
                f"/api/invoices/{ids['scheduled_draft']}",
                {"billingRunId": ids["billing_run"], "attachmentAssetIds": [ids["attachment"]]},
            ),
        ],
        ("patch", "/api/invoices/{id}"): [
            (
                f"/api/invoices/{ids['scheduled_draft']}",
                {"billingRunId": ids["billing_run"], "attachmentAssetIds": [ids["attachment"]]},
            ),
        ],
        ("post", "/api/invoices/merge"): [
            ("/api/invoices/merge", {"invoiceIds": [_draft(api, ids), _draft(api, ids)]}),
        ],
        ("post", "/api/invoices/reconcile-with-integration"): [
            (
                "/api/invoices/reconcile-with-integration",
                {
                    "integrationService": "Xero",
                    "invoiceIds": [ids["invoice"]],
                    "propertiesToCompare": ["STATUS"],
                },
            ),
        ],
        ("post", "/api/payments/settings/customers"): [
            (
                "/api/payments/settings/customers",
                {"customerId": ids["customer"], "paymentProvider": "STRIPE"},
            ),
        ],
        ("post", "/api/payments/settings/billing-schedules"): [
            (
                "/api/payments/settings/billing-schedules",
                {"billingScheduleId": ids["granting_schedule"], "paymentProvider": "STRIPE"},
            ),
        ],
        ("post", "/api/payments/settings/invoices"): [
            (
                "/api/payments/settings/invoices",
                {
                    "invoiceId": ids["sent_invoice"],
                    "customerId": ids["customer"],
                    "paymentProvider": "STRIPE",
                },
            ),
        ],
        ("post", "/api/credits"): [
            (
                "/api/credits",
                {
                    "sequenceAccountId": ids["account"],
                    "customerId": ids["customer"],
                    "name": "Prepaid calls",
                    "creditUnitType": "METRIC",
                    "currency": "GBP",
                    "metricId": ids["usage_metric"],
                    "amount": 100,
                    "taxRateId": ids["tax_rate"],
                },
            ),
        ],
        ("post", "/api/credit-top-ups"): [
            (
                "/api/credit-top-ups",
                {
                    "customerId": ids["customer"],
                    "creditUnitType": "METRIC",
                    "currency": "GBP",
                    "metricId": ids["usage_metric"],
                    "amount": 100,
                    "cost": 10,
                    "taxRateId": ids["tax_rate"],
                },
            ),
        ],
        ("put", "/api/customers/{id}/auto-recharges/{currency}"): [
            (
                f"/api/customers/{ids['customer']}/auto-recharges/GBP",
                {"belowBalance": 1, "rechargeAmount": 10, "taxRateId": ids["tax_rate"]},
            ),
        ],
    }


# --- naming another account's id -----------------------------------------------------------


def _parts(field: str) -> tuple[list[str], str]:
    *parents, leaf = field.split(".")
    return parents, leaf


def present(body: Any, field: str) -> bool:
    """Whether some element of `body` holds `field`."""
    parents, leaf = _parts(field)

    def holds(node: Any, rest: list[str]) -> bool:
        if not isinstance(node, dict):
            return False
        if not rest:
            return node.get(leaf) is not None
        part, *more = rest
        child = node.get(part.removesuffix("[]"))
        if part.endswith("[]"):
            return isinstance(child, list) and any(holds(item, more) for item in child)
        return holds(child, more)

    return holds(body, parents)


def substituted(body: Any, field: IdField, value: str) -> Any:
    """The body with `field` of its first element (made when missing) set to `value`."""
    changed = copy.deepcopy(body)
    node = changed
    parents, leaf = _parts(field.name)
    for part in parents:
        name = part.removesuffix("[]")
        if part.endswith("[]"):
            items = node.get(name) or [{}]
            node[name] = items
            node = items[0]
        else:
            node = node.setdefault(name, {})
    node[leaf] = [value] if field.array else value
    return changed


SNAPSHOT = (
    "/api/customers?limit=100&includeArchived=true",
    "/api/customer-aliases?limit=100",
    "/api/products?limit=100",
    "/api/prices?limit=100",
    "/api/tax-rates?limit=100",
    "/api/usage-metrics?limit=100",
    "/api/seat-metrics?limit=100",
    "/api/billing-schedules?limit=100&includeArchivedSchedules=true",
    "/api/invoices?limit=100",
    "/api/credit-notes?limit=100",
    "/api/credits?limit=100",
    "/api/activity-logs?limit=100",
)


def snapshot(api: ApiClient, ids: dict[str, str]) -> dict[str, Any]:
    urls = [
        *SNAPSHOT,
        f"/api/invoices/{ids['invoice']}",
        f"/api/invoices/{ids['sent_invoice']}",
        f"/api/credit-notes/{ids['credit_note']}",
        f"/api/credit-notes/{ids['issued_credit_note']}",
        f"/api/billing-schedules/{ids['granting_schedule']}",
        f"/api/credits/{ids['customer']}/balances",
    ]
    state = {}
    for url in urls:
        response = api.get(url)
        assert response.status_code == 200, (url, response.text)
        state[url] = response.json()
    return state


def rows_of(database: Database, account_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the account in every table (link tables through their parent), in key
    order: what any answer about the account is made of."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name == "accounts":
                where = table.c.id == account_id
            elif "account_id" in table.c:
                where = table.c.account_id == account_id
            else:
                key = next(
                    (k for k in table.foreign_keys if "account_id" in k.column.table.c), None
                )
                if key is None:  # the deployment's, no tenant rows (models/distribution.py)
                    assert table.name in UNKEYED_TABLES, table.name
                    continue
                parent = key.column.table
                where = key.parent.in_(select(key.column).where(parent.c.account_id == account_id))
            query = select(table).where(where).order_by(*table.primary_key.columns)
            state[table.name] = [tuple(row) for row in connection.execute(query)]
    return state


@pytest.fixture
def accounts(api: ApiClient, other_api: ApiClient, database: Database) -> Iterator[Any]:
    yield objects_of(api, database), objects_of(other_api, database)


def test_every_id_field_of_every_body_is_known(app: FastAPI) -> None:
    unknown = [
        f"{method.upper()} {path}: {field.name}"
        for (method, path), fields in id_fields(app).items()
        for field in fields
        if kind_of((method, path), field) is None and not not_a_reference(field)
    ]
    assert not unknown, "say what these id fields name (KINDS) or why they name nothing"


def test_another_accounts_ids_in_a_body_are_unknown(
    app: FastAPI, api: ApiClient, other_api: ApiClient, database: Database, accounts: Any
) -> None:
    theirs, mine = accounts  # `api` owns `theirs`; `other_api` is the caller
    planned = bodies(other_api, mine)
    tried: set[tuple[Operation, str]] = set()
    # Nothing in the walk may change the victim's account (the caller's control bodies name
    # the caller's own objects only), so a change by any refused body still shows at the end:
    # one snapshot before the walk and one after cover them all. The caller's own account
    # changes with each accepted control body, so it is compared around each body's refusals.
    victim_before = snapshot(api, theirs), rows_of(database, theirs["account"])
    snapshot(other_api, mine)  # the caller's answers checked against the schema once
    for operation, fields in id_fields(app).items():
        references = [
            field
            for field in fields
            if not (not_a_reference(field, operation) and not field.refused)
            and kind_of(operation, field)
        ]
        if not references:
            continue
        assert operation in planned, f"{operation}: give a body naming the caller's own ids"
        for url, body in planned[operation]:
            before = rows_of(database, mine["account"])
            for field in references:
                kind = kind_of(operation, field)
                assert kind is not None
                own_missing = (*operation, field.name) in NO_OWN
                if not (field.refused or own_missing or present(body, field.name)):
                    continue
                changed = substituted(body, field, theirs[kind])
                answer = other_api.request(operation[0].upper(), url, json=changed)
                expected = 400 if field.refused or field.echoes_path else 404
                where = f"{operation[0].upper()} {operation[1]} {field.name}"
                assert answer.status_code == expected, (where, answer.text)
                # The error names the field (a refused one, maybe the list it sits in).
                names = [part.removesuffix("[]") for part in field.name.split(".")]
                named = names[1:] if field.refused and len(names) > 1 else [field.leaf]
                assert any(name in answer.text for name in named), (where, answer.text)
                tried.add((operation, field.name))
            after = rows_of(database, mine["account"])
            moved = [table for table in before if after[table] != before[table]]
            assert not moved, (url, "the caller's rows changed", moved)
            # The same body with the caller's own ids is accepted: the field made the 404.
            control = other_api.request(operation[0].upper(), url, json=body)
            assert control.status_code in (200, 201, 202), (operation, control.text)
        missed = [f.name for f in references if (operation, f.name) not in tried]
        assert not missed, f"{operation}: no body names {missed}"
    answers, rows = victim_before
    assert snapshot(api, theirs) == answers, "the victim's account changed"
    after = rows_of(database, theirs["account"])
    assert not [table for table in rows if after[table] != rows[table]], "the victim's rows"


def test_a_grant_stored_with_another_accounts_metric_shows_none_of_it(
    app: FastAPI, api: ApiClient, other_api: ApiClient
) -> None:
    """As the database may hold one from before this fix: the portal's wallet reads the
    metric of the grant's own account only, never another's name or unit."""
    secret_metric = {
        "name": "Their secret metric",
        "eventType": "secret_event",
        "aggregationType": "COUNT",
        "metricType": "SIMPLE",
        "unit": "secret-units",
    }
    theirs = _created(other_api.post("/api/usage-metrics", json=secret_metric))["id"]
    mine = _created(
        api.post(
            "/api/usage-metrics",
            json={"name": "Calls", "eventType": "c", "aggregationType": "COUNT"},
        )
    )["id"]
    customer = _created(api.post("/api/customers", json=customer_body()))["id"]
    grant = {
        "customerId": customer,
        "name": "Included calls",
        "creditUnitType": "METRIC",
        "currency": "GBP",
        "metricId": mine,
        "amount": 10,
    }
    grant_id = _created(api.post("/api/credits", json=grant))["id"]
    with app.state.db.transaction() as session:
        session.execute(
            update(CreditGrant).where(CreditGrant.id == grant_id).values(metric_id=theirs)
        )
    token = _created(api.post(f"/api/customers/{customer}/portal-sessions"))["token"]
    wallet = api.client.get("/portal/api/wallet", headers={"X-Session-Token": token})
    assert wallet.status_code == 200, wallet.text
    assert "Included calls" in wallet.text
    assert "Their secret metric" not in wallet.text and "secret-units" not in wallet.text
