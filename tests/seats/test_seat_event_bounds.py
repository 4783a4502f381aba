"""Seat events obey the bounds usage events do (issue 15): timestamps within 1970..2999 once
their offset is applied, and no new seats for archived customers, by id or alias; aliases no
customer holds yet are taken."""

import pytest

from tests.factories import customer_body
from tests.seats.test_seat_events import post_event
from tests.seats.test_seat_metrics import create_metric
from tests.support.api_client import ApiClient


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:00:00-14:00",
        "1969-12-31T23:59:59Z",
        "1970-01-01T00:59:59+01:00",
        "3000-01-01T00:00:00Z",
        "2999-12-31T23:00:00-01:00",
        "2024-01-01T00:00:00+25:00",
    ],
)
def test_a_timestamp_outside_1970_to_2999_is_refused(api: ApiClient, at: str) -> None:
    create_metric(api, "editor")
    response = post_event(api, "acme", 3, at=at)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"][0]["field"] == "eventTimestamp"
    assert api.get("/api/seat-events").json()["items"] == []


def test_timestamps_at_the_bounds_are_taken(api: ApiClient) -> None:
    create_metric(api, "editor")
    for at in ("1970-01-01T00:00:00Z", "2999-12-31T23:59:59Z", "2999-12-31T09:59:59-14:00"):
        assert post_event(api, "acme", 3, at=at).status_code == 201, at


def test_an_archived_customer_gets_no_new_seats_by_id_or_alias(api: ApiClient) -> None:
    create_metric(api, "editor")
    response = api.post("/api/customers", json=customer_body(customerAliases=["acme-crm"]))
    customer = response.json()
    assert post_event(api, "acme-crm", 3).status_code == 201
    assert api.post(f"/api/customers/{customer['id']}/archive").status_code == 200
    for alias in (customer["id"], "acme-crm"):
        response = post_event(api, alias, 5)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["details"][0]["field"] == "customerAlias"
        assert "archived" in error["message"] and customer["id"] in error["message"]
    assert post_event(api, "not-a-customer-yet", 2).status_code == 201
    totals = [event["total"] for event in api.get("/api/seat-events").json()["items"]]
    assert sorted(totals) == [2, 3]
