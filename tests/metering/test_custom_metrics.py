"""CUSTOM usage metrics: an expression and typed parameters, checked when defined (400
naming the field) and evaluated by Tally over the stored events."""

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.metering.helpers import event, send
from tests.support.api_client import ApiClient

STORAGE = {
    "name": "Storage over the allowance",
    "metricType": "SIMPLE",
    "eventType": "storage",
    "aggregationType": "CUSTOM",
    "unit": "GB-days",
    "expression": "GREATEST(SUM_BY_DAY(MAX(event.gb)) - included, 0)",
    "parameters": [
        {
            "name": "included",
            "type": "POSITIVE_NUMBER",
            "description": "GB-days included",
            "defaultValue": "10",
        }
    ],
}


def _created(api: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/usage-metrics", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _calculated(api: ApiClient, metric_id: str, **params: str) -> Any:
    return api.get(
        f"/api/usage-metrics/{metric_id}/calculate",
        params={
            "customerAliases": "acme",
            "periodStart": "2024-01-01",
            "periodEnd": "2024-01-31",
            **params,
        },
    )


def _storage_events(api: ApiClient) -> None:
    """Peaks of 8, 12.5 and 4 GB on three days (a smaller reading each day too)."""
    readings = [("01", "8"), ("01", "3"), ("02", "12.5"), ("02", "1"), ("05", "4")]
    send(api, *(event("acme", f"2024-01-{d}T10:00:00Z", "storage", gb=gb) for d, gb in readings))
    send(api, event("acme", "2024-02-01T10:00:00Z", "storage", gb="100"))  # next month


def test_a_custom_metric_reads_back_with_its_parameters(api: ApiClient) -> None:
    metric = _created(api, STORAGE)
    [parameter] = metric["parameters"]
    assert parameter["usageMetricId"] == metric["id"]
    assert (parameter["name"], parameter["type"], parameter["defaultValue"]) == (
        "included",
        "POSITIVE_NUMBER",
        "10",
    )
    assert metric["expression"] == STORAGE["expression"]
    assert api.get(f"/api/usage-metrics/{metric['id']}").json() == metric
    renamed = {**STORAGE, "name": "Storage", "parameters": [{**STORAGE["parameters"][0]}]}
    updated = api.put(f"/api/usage-metrics/{metric['id']}", json=renamed).json()
    assert updated["parameters"][0]["id"] == parameter["id"]  # an id, once given, stays


def test_calculate_evaluates_the_expression_with_given_or_default_values(
    api: ApiClient,
) -> None:
    """Daily peaks 8 + 12.5 + 4 = 24.5 GB-days; 10 included: 14.5; 20 included: 4.5."""
    metric = _created(api, STORAGE)
    _storage_events(api)
    default = _calculated(api, metric["id"])
    assert default.status_code == 200, default.text
    answer = json.loads(default.text, parse_float=Decimal)
    assert (answer["value"], answer["eventCount"]) == (Decimal("14.5"), 5)
    assert answer["aggregationType"] == "CUSTOM"
    given = json.loads(_calculated(api, metric["id"], customParameters="included=20").text)
    assert Decimal(str(given["value"])) == Decimal("4.5")
    parameter_id = metric["parameters"][0]["id"]
    by_id = _calculated(api, metric["id"], customParameters=f"{parameter_id}=30")
    assert Decimal(str(by_id.json()["value"])) == 0
    for bad in ("included=-1", "included=ten", "free=3"):
        refused = _calculated(api, metric["id"], customParameters=bad)
        assert refused.status_code == 400, bad
        assert refused.json()["error"]["details"][0]["field"] == "customParameters"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"expression": None}, "expression", "needs its expression"),
        ({"expression": "SUM(event.gb) - missing"}, "expression", "missing"),
        ({"expression": "__import__('os')"}, "expression", "not a function"),
        ({"expression": "SELECT 1"}, "expression", "not an expression"),
        (
            {"parameters": [{"name": "included", "type": "INTEGER", "defaultValue": "1.5"}]},
            "parameters.0.defaultValue",
            "INTEGER",
        ),
        (
            {"parameters": [{"name": "1st", "type": "NUMBER", "defaultValue": "1"}]},
            "parameters.0.name",
            "",
        ),
        (
            {"parameters": [{"name": "included", "type": "DECIMAL", "defaultValue": "1"}]},
            "parameters.0.type",
            "",
        ),
        (
            {"aggregationType": "SUM", "aggregationProperty": "gb"},
            "expression",
            "only CUSTOM",
        ),
    ],
)
def test_a_broken_definition_is_refused_naming_the_field(
    api: ApiClient, change: dict[str, Any], field: str, words: str
) -> None:
    response = api.post("/api/usage-metrics", json={**STORAGE, **change})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert [d["field"] for d in error["details"]] == [field]
    assert words in error["message"]
    assert api.get("/api/usage-metrics").json()["pagination"]["totalResultSize"] == 0


def test_another_accounts_custom_metric_is_not_found(api: ApiClient, other_api: ApiClient) -> None:
    theirs = _created(other_api, STORAGE)
    assert _calculated(api, theirs["id"]).status_code == 404
    assert api.get(f"/api/usage-metrics/{theirs['id']}").status_code == 404
