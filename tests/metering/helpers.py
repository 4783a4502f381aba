"""Shared steps for the metering tests: metrics, batches of events, calculations."""

import json
from decimal import Decimal
from typing import Any

from tests.support.api_client import ApiClient


def create_metric(api: ApiClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "metric", "metricType": "SIMPLE", "eventType": "api_call", **fields}
    response = api.post("/api/usage-metrics", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def send(api: ApiClient, *events: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/usage-events/batch", json={"events": list(events)})
    assert response.status_code == 200, response.text
    answer = dict(response.json())
    assert answer["rejected"] == 0, answer
    return answer


def event(alias: str, at: str, event_type: str = "api_call", **properties: Any) -> dict[str, Any]:
    return {
        "customerAlias": alias,
        "eventType": event_type,
        "eventTimestamp": at,
        "eventProperties": properties,
    }


def calculate(
    api: ApiClient, metric: dict[str, Any], aliases: str, start: str, end: str
) -> dict[str, Any]:
    response = api.get(
        f"/api/usage-metrics/{metric['id']}/calculate",
        params={"customerAliases": aliases, "periodStart": start, "periodEnd": end},
    )
    assert response.status_code == 200, response.text
    return dict(json.loads(response.text, parse_float=Decimal))


def value(api: ApiClient, metric: dict[str, Any], aliases: str, start: str, end: str) -> Decimal:
    return Decimal(calculate(api, metric, aliases, start, end)["value"])
