"""The activity log: destructive and financial actions recorded with who, what, before and
after, in the same transaction; served as Sequence's /activity-logs."""

from typing import Any

from tests.factories import address, customer_body
from tests.support.api_client import ApiClient


def _customer(api: ApiClient) -> dict[str, Any]:
    response = api.post("/api/customers", json=customer_body(legalName="Acme Ltd"))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _logs(api: ApiClient, **params: str) -> list[dict[str, Any]]:
    response = api.get("/api/activity-logs", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_an_update_and_an_archive_are_logged_with_who_and_what_changed(api: ApiClient) -> None:
    customer = _customer(api)
    response = api.put(
        f"/api/customers/{customer['id']}",
        json={"legalName": "Acme Group Ltd", "address": address()},
    )
    assert response.status_code == 200
    assert api.post(f"/api/customers/{customer['id']}/archive").status_code == 200
    logs = _logs(api, activityLogObjectId=customer["id"])
    assert [log["activityLogItems"][0]["verb"] for log in logs] == ["ARCHIVED", "UPDATED"]
    updated = logs[1]
    assert updated["origin"] == "API"
    assert updated["activityType"] == "CUSTOMER"
    item = updated["activityLogItems"][0]
    assert item["activityLogObject"] == {
        "id": customer["id"],
        "entityType": "CUSTOMER",
        "entityId": customer["id"],
    }
    assert item["activityLogActor"]["entityType"] == "API_KEY"
    assert {"field": "legalName", "before": "Acme Ltd", "after": "Acme Group Ltd"} in item[
        "metadata"
    ]
    one = api.get(f"/api/activity-logs/{updated['id']}")
    assert one.status_code == 200
    assert one.json() == updated


def test_a_refused_change_logs_nothing(api: ApiClient) -> None:
    customer = _customer(api)
    response = api.put(
        f"/api/customers/{customer['id']}",
        json={"legalName": "", "address": address()},
    )
    assert response.status_code == 400
    assert _logs(api, activityLogObjectEntityId=customer["id"]) == []


def test_another_accounts_log_is_invisible(api: ApiClient, other_api: ApiClient) -> None:
    customer = _customer(api)
    assert api.post(f"/api/customers/{customer['id']}/archive").status_code == 200
    [log] = _logs(api, activityLogObjectId=customer["id"])
    assert other_api.get(f"/api/activity-logs/{log['id']}").status_code == 404
    assert _logs(other_api) == []
