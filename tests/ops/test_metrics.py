"""/metrics: the counters move with what Tally does, requests are labelled by route
template, and a token protects the page when one is set."""

from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tally.db import Database
from tally.notifications.webhooks import deliver_due
from tally.settings import Settings
from tests.billing.helpers import Merchant
from tests.factories import customer_body
from tests.notifications.webhook_support import (
    Receiver,
    receivers,  # noqa: F401 - the fixture
    start,
    webhook_policy,
)
from tests.ops.conftest import ClientFactory
from tests.support.api_client import ApiClient


def scrape(http: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_ingested_and_rejected_events_are_counted(http: TestClient, api: ApiClient) -> None:
    before = scrape(http)
    events = [
        {"customerAlias": "acme", "eventType": "api_call", "customerEventId": f"e{n}"}
        for n in range(3)
    ]
    events.append({"customerAlias": "acme"})  # no eventType: rejected
    answer = api.post("/api/usage-events/batch", json={"events": events})
    assert answer.status_code == 200, answer.text
    resend = {"customerAlias": "acme", "eventType": "api_call", "customerEventId": "e0"}
    resend["eventProperties"] = {"n": 1}  # changed: replaces the first
    assert api.post("/api/usage-events", json=resend).status_code == 201

    after = scrape(http)
    ingested = "tally_usage_events_ingested_total"
    assert (
        value(after, ingested, outcome="accepted") - value(before, ingested, outcome="accepted")
        == 3
    )
    assert (
        value(after, ingested, outcome="replaced") - value(before, ingested, outcome="replaced")
        == 1
    )
    rejected = "tally_usage_events_rejected_total"
    assert value(after, rejected) - value(before, rejected) == 1


def test_billing_runs_are_counted_and_timed(http: TestClient, api: ApiClient) -> None:
    merchant = Merchant(api)
    price = merchant.price({"pricingType": "FIXED", "price": "100.00"}, name="Platform")
    merchant.schedule(merchant.customer(), [price], "2024-01-01")
    before = scrape(http)
    merchant.bill("2024-03-15")
    after = scrape(http)

    runs = "tally_billing_runs_total"
    labels = {"trigger": "on_demand", "outcome": "ok"}
    assert value(after, runs, **labels) - value(before, runs, **labels) == 1
    duration = "tally_billing_run_duration_seconds_count"
    assert (
        value(after, duration, trigger="on_demand") - value(before, duration, trigger="on_demand")
        == 1
    )
    invoices = "tally_billing_invoices_total"
    assert (
        value(after, invoices, change="created") - value(before, invoices, change="created") == 3
    )  # February, March (DRAFT) and April (IN_PROGRESS)


def test_webhook_deliveries_are_counted(
    http: TestClient,
    api: ApiClient,
    database: Database,
    settings: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    receiver = start(receivers)
    webhook_policy(api, receiver.url, "CUSTOMER_CREATED")
    assert api.post("/api/customers", json=customer_body()).status_code == 201
    before = scrape(http)
    report = deliver_due(database, settings.model_copy(update={"webhook_timeout_seconds": 2.0}))
    after = scrape(http)

    assert report.delivered >= 1 and len(receiver.arrivals) == 1
    name = "tally_webhook_deliveries_total"
    delivered = value(after, name, outcome="delivered") - value(before, name, outcome="delivered")
    assert delivered == report.delivered


def test_requests_are_labelled_by_route_template_never_by_id(
    http: TestClient, api: ApiClient
) -> None:
    customer = api.post("/api/customers", json=customer_body()).json()
    assert api.get(f"/api/customers/{customer['id']}").status_code == 200
    assert http.get(f"/no/such/{customer['id']}").status_code == 404

    page = http.get("/metrics").text
    assert customer["id"] not in page
    samples = scrape(http)
    labels = {"route": "/api/customers/{id}", "method": "GET", "status": "2xx"}
    assert value(samples, "tally_http_request_duration_seconds_count", **labels) >= 1
    unmatched = {"route": "<unmatched>", "method": "GET", "status": "4xx"}
    assert value(samples, "tally_http_request_duration_seconds_count", **unmatched) >= 1


def test_a_metrics_token_is_required_when_set(client_with: ClientFactory) -> None:
    client = client_with(metrics_token="s3cret-metrics")
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["type"] == "Unauthorized"
    right = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"})
    assert right.status_code == 200
    assert "tally_http_request_duration_seconds" in right.text
