"""/api/usage-metrics: definitions, validation, and rollups that follow every change."""

from typing import Any

from tests.metering.helpers import create_metric, event, send, value
from tests.support.api_client import ApiClient
from tests.support.errors import conflict_error

JAN = ("2024-01-01", "2024-01-31")


def test_create_answers_sequences_shape_with_defaults(api: ApiClient) -> None:
    metric = create_metric(
        api,
        name="Messages",
        description="Messages sent",
        aggregationType="SUM",
        aggregationProperty="length",
        unit="bytes",
        propertyFilters={"channel": ["text", "email"], "beta": [True], "tier": [2]},
        propertiesToNegate=["channel"],
    )
    assert metric["name"] == "Messages"
    assert metric["caseSensitive"] is True
    assert metric["parameters"] == []
    # Filter values are kept as the text a property is compared as.
    assert metric["propertyFilters"] == {
        "channel": ["text", "email"],
        "beta": ["true"],
        "tier": ["2"],
    }
    assert api.get(f"/api/usage-metrics/{metric['id']}").json() == metric


def test_invalid_definitions_are_refused_and_nothing_is_created(api: ApiClient) -> None:
    base: dict[str, Any] = {"name": "m", "metricType": "SIMPLE", "eventType": "e"}
    cases = [
        {**base, "aggregationType": "SUM"},  # needs an aggregationProperty
        {**base, "aggregationType": "UNIQUE"},
        {**base, "aggregationType": "CUSTOM"},  # needs its expression
        {**base, "aggregationType": "MEDIAN"},  # not an aggregation
        {**base, "aggregationType": "COUNT", "propertiesToNegate": ["region"]},  # no such filter
        {**base, "aggregationType": "COUNT", "propertyFilters": {"region": []}},  # no values
        {**base, "aggregationType": "COUNT", "name": ""},
        {"name": "m", "aggregationType": "COUNT"},  # no eventType
    ]
    for body in cases:
        response = api.post("/api/usage-metrics", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["type"] == "ValidationError"
    assert api.get("/api/usage-metrics").json()["pagination"]["totalResultSize"] == 0


def test_names_are_unique_per_account(api: ApiClient, other_api: ApiClient) -> None:
    create_metric(api, name="Calls", aggregationType="COUNT")
    again = api.post(
        "/api/usage-metrics",
        json={
            "name": "Calls",
            "metricType": "SIMPLE",
            "eventType": "x",
            "aggregationType": "COUNT",
        },
    )
    assert "Calls" in conflict_error(again, "DuplicateValue")["message"]
    create_metric(other_api, name="Calls", aggregationType="COUNT")


def test_list_filters(api: ApiClient) -> None:
    create_metric(api, name="Calls", aggregationType="COUNT")
    create_metric(
        api, name="Bytes", eventType="upload", aggregationType="SUM", aggregationProperty="size"
    )
    create_metric(api, name="Peak", aggregationType="MAX", aggregationProperty="size")

    def names(**params: str) -> list[str]:
        items = api.get("/api/usage-metrics", params=params).json()["items"]
        return sorted(item["name"] for item in items)

    assert names() == ["Bytes", "Calls", "Peak"]
    assert names(name="Calls") == ["Calls"]
    assert names(eventType="upload") == ["Bytes"]
    assert names(eventProperty="size") == ["Bytes", "Peak"]
    assert names(aggregationType="MAX") == ["Peak"]


def test_redefining_a_metric_recomputes_its_usage(api: ApiClient) -> None:
    metric = create_metric(api, aggregationType="COUNT")
    send(
        api,
        event("acme", "2024-01-02T00:00:00Z", region="eu", n=2),
        event("acme", "2024-01-03T00:00:00Z", region="us", n=3),
    )
    assert value(api, metric, "acme", *JAN) == 2
    body = {
        "name": "EU volume",
        "metricType": "SIMPLE",
        "eventType": "api_call",
        "aggregationType": "SUM",
        "aggregationProperty": "n",
        "propertyFilters": {"region": ["eu"]},
    }
    updated = api.put(f"/api/usage-metrics/{metric['id']}", json=body)
    assert updated.status_code == 200
    assert updated.json()["name"] == "EU volume"
    assert value(api, metric, "acme", *JAN) == 2
    body["propertiesToNegate"] = ["region"]
    api.put(f"/api/usage-metrics/{metric['id']}", json=body)
    assert value(api, metric, "acme", *JAN) == 3


def test_deleting_a_metric(api: ApiClient) -> None:
    metric = create_metric(api, aggregationType="COUNT")
    send(api, event("acme", "2024-01-02T00:00:00Z"))
    deleted = api.delete(f"/api/usage-metrics/{metric['id']}")
    assert deleted.status_code == 200
    assert deleted.json()["deletedAt"]
    assert api.get(f"/api/usage-metrics/{metric['id']}").status_code == 404
    params = {"customerAliases": "acme", "periodStart": JAN[0], "periodEnd": JAN[1]}
    assert api.get(f"/api/usage-metrics/{metric['id']}/calculate", params=params).status_code == 404
    # The name is free again, and a new metric counts the stored events.
    again = create_metric(api, aggregationType="COUNT")
    assert value(api, again, "acme", *JAN) == 1


def test_another_accounts_metrics_are_invisible(api: ApiClient, other_api: ApiClient) -> None:
    metric = create_metric(other_api, aggregationType="COUNT")
    url = f"/api/usage-metrics/{metric['id']}"
    assert api.get(url).status_code == 404
    body = {"name": "x", "metricType": "SIMPLE", "eventType": "x", "aggregationType": "COUNT"}
    assert api.put(url, json=body).status_code == 404
    assert api.delete(url).status_code == 404
    assert api.get("/api/usage-metrics").json()["items"] == []
    assert other_api.get(url).json()["name"] == "metric"
