"""Wire compatibility with Sequence's published OpenAPI schema (2024-07-30).

Every API route is either one of Sequence's operations or a listed Tally extension, and a
walk through all of them validates each real response against Sequence's schema.
"""

from fastapi import FastAPI

from tests.catalog.price_bodies import fixed, price_body
from tests.factories import customer_body, product_body, tax_rate_body
from tests.invoices.helpers import insert_invoice
from tests.schedules.helpers import Setup, phase, update_body
from tests.support import api_client
from tests.support.api_client import ApiClient
from tests.support.sequence_schema import Operation, template_operation

# Tally's additions, which Sequence's public schema does not have.
TALLY_EXTENSIONS = {
    ("get", "/api/tax-rates/{id}/versions"),
    ("get", "/api/tax-rates/{id}/versions/{version}"),
    ("post", "/api/usage-events/batch"),
    # Sequence's older internal API has these; its public one runs billing on its own only.
    ("post", "/api/billing/execution/accounts/self"),
    ("post", "/api/billing/execution/accounts/self/for-date/{day}"),
}


def api_operations(app: FastAPI) -> set[tuple[str, str]]:
    """Every operation the app serves under /api, as its OpenAPI document lists them."""
    return {
        (method, path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/")
        for method in operations
    }


def sequence_operations(app: FastAPI) -> set[Operation]:
    found = set()
    for method, path in api_operations(app) - TALLY_EXTENSIONS:
        operation = template_operation(method, path)
        assert operation is not None, f"{method.upper()} {path} is neither Sequence's nor listed"
        found.add(operation)
    return found


def test_every_route_is_a_sequence_operation_or_a_listed_extension(app: FastAPI) -> None:
    routes = api_operations(app)
    assert routes >= TALLY_EXTENSIONS
    # Distinct routes map to distinct Sequence operations (sequence_operations asserts each maps).
    assert len(sequence_operations(app)) == len(routes - TALLY_EXTENSIONS)


def test_every_sequence_operation_answers_in_sequence_shape(app: FastAPI, api: ApiClient) -> None:
    api_client.VALIDATED.clear()

    def ok(method: str, url: str, **kwargs: object) -> dict[str, object]:
        response = api.request(method, url, **kwargs)  # validated by the client
        assert response.status_code in (200, 201), f"{method} {url}: {response.text}"
        return dict(response.json())

    parent = ok("POST", "/api/customers", json=customer_body(legalName="Parent"))
    child = ok("POST", "/api/customers", json=customer_body(legalName="Child"))
    loner = ok("POST", "/api/customers", json=customer_body(legalName="Loner"))
    ok("GET", "/api/customers")
    ok("GET", f"/api/customers/{parent['id']}")
    ok("PUT", f"/api/customers/{child['id']}", json=customer_body(legalName="Child Ltd"))
    ok("GET", f"/api/customers/{child['id']}/aliases")

    contact = ok(
        "POST",
        f"/api/customers/{child['id']}/contacts",
        json={"name": "Ann", "email": "ann@example.com", "billingPreference": "STANDARD"},
    )
    ok("GET", f"/api/customers/{child['id']}/contacts")
    ok(
        "PUT",
        f"/api/customers/{child['id']}/contacts/{contact['id']}",
        json={"name": "Ann B", "email": "ann@example.com", "billingPreference": "NONE"},
    )
    ok("POST", f"/api/customers/{child['id']}/contacts/{contact['id']}/archive")

    alias = ok("POST", "/api/customer-aliases", json={"customerId": child["id"], "value": "c-1"})
    ok("GET", "/api/customer-aliases")
    ok("PUT", f"/api/customer-aliases/{alias['id']}", json={"label": "primary id"})
    ok("GET", "/api/customers/by-alias/c-1")
    ok("DELETE", f"/api/customer-aliases/{alias['id']}")

    organization = ok(
        "POST", "/api/customer-organizations", json={"ownerId": parent["id"], "memberIds": []}
    )
    ok(
        "POST",
        f"/api/customer-organizations/{organization['id']}/members",
        json={"customerIds": [child["id"]]},
    )
    ok(
        "PUT",
        f"/api/customer-organizations/{organization['id']}/members",
        json={"customerIds": [child["id"], loner["id"]]},
    )
    ok("POST", f"/api/customers/{loner['id']}/archive")

    product = ok("POST", "/api/products", json=product_body())
    ok("GET", "/api/products")
    ok("GET", f"/api/products/{product['id']}")
    ok("PUT", f"/api/products/{product['id']}", json=product_body(name="Platform"))
    price = ok("POST", "/api/prices", json=price_body(product["id"], fixed()))
    ok("GET", "/api/prices")
    ok("GET", f"/api/prices/{price['id']}")
    ok("PUT", f"/api/prices/{price['id']}", json={"name": "Platform fee", "status": "ACTIVE"})
    ok("DELETE", f"/api/prices/{price['id']}")
    ok("POST", f"/api/products/{product['id']}/archive")

    tax_rate = ok("POST", "/api/tax-rates", json=tax_rate_body())
    ok("GET", "/api/tax-rates")
    ok("GET", f"/api/tax-rates/{tax_rate['id']}")
    ok(
        "PUT",
        f"/api/tax-rates/{tax_rate['id']}",
        json=tax_rate_body(id=tax_rate["id"], amount="0.21"),
    )
    ok("POST", f"/api/tax-rates/{tax_rate['id']}/archive")
    ok("DELETE", f"/api/tax-rates/{tax_rate['id']}")

    seat_metric = ok("POST", "/api/seat-metrics", json={"seatType": "editor", "label": "Editor"})
    ok("GET", "/api/seat-metrics")
    ok("GET", f"/api/seat-metrics/{seat_metric['id']}")
    ok("PUT", f"/api/seat-metrics/{seat_metric['id']}", json={"label": "Editor Seat"})
    seat_event = ok(
        "POST",
        "/api/seat-events",
        json={
            "customerAlias": parent["id"],
            "seatType": "editor",
            "eventTimestamp": "2024-05-02T19:00:00Z",
            "total": 3,
        },
    )
    ok("GET", "/api/seat-events")
    ok("GET", f"/api/seat-events/{seat_event['id']}")
    ok("GET", "/api/seat-balances")
    ok("DELETE", f"/api/seat-metrics/{seat_metric['id']}")

    metric_body = {
        "name": "Calls",
        "metricType": "SIMPLE",
        "eventType": "api_call",
        "aggregationType": "SUM",
        "aggregationProperty": "count",
        "unit": "calls",
    }
    usage_metric = ok("POST", "/api/usage-metrics", json=metric_body)
    ok("GET", "/api/usage-metrics")
    ok("GET", f"/api/usage-metrics/{usage_metric['id']}")
    ok("PUT", f"/api/usage-metrics/{usage_metric['id']}", json={**metric_body, "name": "API calls"})
    usage_event = {
        "customerAlias": parent["id"],
        "eventType": "api_call",
        "eventTimestamp": "2024-05-02T19:00:00Z",
        "customerEventId": "call-1",
        "eventProperties": {"count": 2.5},
    }
    ok("POST", "/api/usage-events", json=usage_event)
    ok("GET", "/api/usage-events")
    calculation = ok(
        "GET",
        f"/api/usage-metrics/{usage_metric['id']}/calculate",
        params={
            "customerAliases": parent["id"],
            "periodStart": "2024-05-01",
            "periodEnd": "2024-05-31",
        },
    )
    assert (calculation["eventCount"], calculation["value"]) == (1, 2.5)
    ok("DELETE", f"/api/usage-metrics/{usage_metric['id']}")

    plan = Setup(api)  # a customer and a price to schedule
    discount = {"type": "PERCENTAGE", "amount": 8, "message": "8%", "separateLineItem": True}
    terms = phase([plan.price_id], discounts=[discount], minimums=[{"amount": 100}])
    schedule = ok("POST", "/api/billing-schedules", json=plan.body(isDraft=True, phases=[terms]))
    ok("GET", "/api/billing-schedules")
    ok("GET", f"/api/billing-schedules/{schedule['id']}")
    ok("PUT", f"/api/billing-schedules/{schedule['id']}", json=update_body(schedule, memo="M"))
    ok("PUT", f"/api/billing-schedules/{schedule['id']}/activate")
    ok("POST", f"/api/billing-schedules/{schedule['id']}/archive")

    account_id = ok("GET", "/api/sequence-accounts")["items"][0]["id"]  # type: ignore[index]
    ok("GET", f"/api/sequence-accounts/{account_id}")
    ok("PUT", f"/api/sequence-accounts/{account_id}", json={"companyName": "Renamed"})

    # Invoices come from the billing engine; written here directly, as it writes them.
    invoice_id = insert_invoice(app.state.db, account_id, parent)
    ok("GET", "/api/invoices")
    ok("GET", f"/api/invoices/{invoice_id}")
    ok("GET", f"/api/invoices/{invoice_id}/line-items")
    ok("GET", f"/api/invoices/{invoice_id}/line-item-groups")

    validated = {Operation(method, path) for method, path in api_client.VALIDATED}
    assert sequence_operations(app) <= validated
