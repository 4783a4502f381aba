"""/api/alerts: create, read, list, update, archive; refusals; another account's ids."""

from __future__ import annotations

from typing import Any

from tests.alerts.helpers import create_alert
from tests.factories import new_customer_id
from tests.metering.helpers import create_metric
from tests.support.api_client import ApiClient


def _activity(api: ApiClient, object_id: str) -> list[dict[str, Any]]:
    response = api.get("/api/activity-logs", params={"activityLogObjectId": object_id})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_an_alert_is_created_read_listed_updated_and_archived(api: ApiClient) -> None:
    customer = new_customer_id(api)
    metric = create_metric(api, aggregationType="COUNT")
    alert = create_alert(
        api, customerId=customer, metricId=metric["id"], emailAddresses=["ops@example.com"]
    )
    assert alert["threshold"] == "10"
    assert alert["type"] == "USAGE"
    assert alert["archived"] is False
    assert api.get(f"/api/alerts/{alert['id']}").json() == alert

    listed = api.get("/api/alerts", params={"customerId": customer, "type": "USAGE"}).json()
    assert [item["id"] for item in listed["items"]] == [alert["id"]]
    assert api.get("/api/alerts", params={"type": "SPEND"}).json()["items"] == []

    body = {
        "name": "Bigger cap",
        "type": "USAGE",
        "customerId": customer,
        "metricId": metric["id"],
        "threshold": "25.5",
    }
    updated = api.put(f"/api/alerts/{alert['id']}", json=body)
    assert updated.status_code == 200, updated.text
    assert updated.json()["threshold"] == "25.5"
    assert updated.json()["name"] == "Bigger cap"

    archived = api.delete(f"/api/alerts/{alert['id']}")
    assert archived.status_code == 200
    assert archived.json()["archived"] is True
    # The id stays readable; lists leave it out unless asked.
    assert api.get(f"/api/alerts/{alert['id']}").json()["archived"] is True
    assert api.get("/api/alerts").json()["items"] == []
    assert len(api.get("/api/alerts", params={"includeArchived": "true"}).json()["items"]) == 1
    verbs = sorted(e["activityLogItems"][0]["verb"] for e in _activity(api, alert["id"]))
    assert verbs == ["ARCHIVED", "CREATED", "UPDATED"]


def test_unknown_fields_and_parameters_are_refused(api: ApiClient) -> None:
    customer = new_customer_id(api)
    body = {"name": "x", "type": "SPEND", "customerId": customer, "threshold": "5"}
    response = api.post("/api/alerts", json={**body, "currency": "EUR", "thresold": "5"})
    assert response.status_code == 400
    assert "thresold" in response.text
    assert api.get("/api/alerts", params={"customer": customer}).status_code == 400
    # Rules: exactly one scope, a metric for USAGE, a currency for SPEND.
    assert api.post("/api/alerts", json=body).status_code == 400
    both = {**body, "currency": "EUR", "priceId": "0190f2a0-0000-7000-8000-000000000000"}
    assert api.post("/api/alerts", json=both).status_code == 400
    usage = {"name": "x", "type": "USAGE", "customerId": customer, "threshold": "5"}
    assert api.post("/api/alerts", json=usage).status_code == 400
    negative = {**body, "currency": "EUR", "threshold": "-1"}
    assert api.post("/api/alerts", json=negative).status_code == 400
    assert api.get("/api/alerts").json()["items"] == []


def test_another_accounts_ids_answer_404(api: ApiClient, other_api: ApiClient) -> None:
    theirs_customer = new_customer_id(other_api)
    theirs_metric = create_metric(other_api, aggregationType="COUNT")
    theirs = create_alert(other_api, customerId=theirs_customer, metricId=theirs_metric["id"])
    assert api.get(f"/api/alerts/{theirs['id']}").status_code == 404
    assert api.get(f"/api/alerts/{theirs['id']}/firings").status_code == 404
    assert api.delete(f"/api/alerts/{theirs['id']}").status_code == 404
    assert api.get(f"/api/alert-status/{theirs_customer}").status_code == 404
    mine = new_customer_id(api)
    metric = create_metric(api, aggregationType="COUNT")
    body = {"name": "x", "type": "USAGE", "threshold": "1"}
    cases = [
        {**body, "customerId": theirs_customer, "metricId": metric["id"]},
        {**body, "customerId": mine, "metricId": theirs_metric["id"]},
    ]
    for case in cases:
        response = api.post("/api/alerts", json=case)
        assert response.status_code == 404, response.text
    assert other_api.get(f"/api/alerts/{theirs['id']}").json()["archived"] is False
