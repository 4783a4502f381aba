"""/discounts: the discounts phases give, listed, changed and deleted over the same rows."""

from decimal import Decimal
from typing import Any

import pytest

from tally.exceptions import Conflict
from tests.billing.helpers import Merchant, amounts
from tests.catalog.price_bodies import fixed
from tests.schedules.helpers import ok, phase, update_body
from tests.support.api_client import ApiClient


def _discount(amount: Any = 10, **fields: Any) -> dict[str, Any]:
    return {
        "type": "PERCENTAGE",
        "amount": amount,
        "message": "Launch discount",
        "separateLineItem": False,
        **fields,
    }


def _scheduled(merchant: Merchant, *discounts: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A monthly £1,000 schedule from 1 January 2024 for a year, with `discounts`; its price."""
    price = merchant.price(fixed("1000.00"), name="Platform")
    schedule = merchant.schedule(
        merchant.customer(),
        [price],
        "2024-01-01",
        "2024-12-31",
        taxed=False,
        phases=[phase([price], "2024-01-01", "2024-12-31", discounts=list(discounts))],
    )
    return schedule, price


def _update(schedule: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Sequence's UpdateDiscountRequest for the schedule's first discount."""
    return {
        "billingScheduleId": schedule["id"],
        "priceIds": [],
        "separateLineItem": False,
        "amount": 10,
        "discountCalculationType": "PERCENTAGE",
        "message": "Launch discount",
        **fields,
    }


def test_a_phases_discount_reads_in_sequences_shape(api: ApiClient) -> None:
    schedule, _ = _scheduled(Merchant(api), _discount(12.5, restrictToPrices=[]))
    [given] = schedule["phases"][0]["discounts"]
    discount = ok(api.get(f"/api/discounts/{given['id']}"))
    assert discount["billingScheduleId"] == schedule["id"]
    assert discount["phaseId"] == schedule["phases"][0]["id"]
    assert discount["amount"] == 12.5
    assert (discount["validFrom"], discount["validTo"]) == ("2024-01-01", "2024-12-31")
    assert discount["seatDiscountType"] == "ALL_SEATS"
    listed = ok(api.get("/api/discounts"))
    assert [item["id"] for item in listed["items"]] == [given["id"]]
    assert listed["pagination"]["totalResultSize"] == 1


def test_an_update_changes_what_later_invoices_take(api: ApiClient) -> None:
    merchant = Merchant(api)
    schedule, price = _scheduled(merchant, _discount(10))
    discount_id = schedule["phases"][0]["discounts"][0]["id"]
    body = _update(
        schedule,
        amount=25,
        priceIds=[price],
        message="Loyalty",
        separateLineItem=True,
        validFrom="2024-02-01",
        validTo="2024-02-29",
    )
    updated = ok(api.put(f"/api/discounts/{discount_id}", json=body))
    assert (updated["amount"], updated["message"], updated["priceIds"]) == (25, "Loyalty", [price])
    assert (updated["validFrom"], updated["validTo"]) == ("2024-02-01", "2024-02-29")
    assert updated["id"] == discount_id

    merchant.bill("2024-04-01")
    january = merchant.invoice_for(schedule["id"], "2024-01-01")
    february = merchant.invoice_for(schedule["id"], "2024-02-01")
    march = merchant.invoice_for(schedule["id"], "2024-03-01")
    assert Decimal(january["netTotal"]) == Decimal("1000.00")  # before the discount's days
    assert Decimal(february["netTotal"]) == Decimal("750.00")
    assert amounts(february)["Loyalty"] == Decimal("-250.00")  # on a line of its own
    assert Decimal(march["netTotal"]) == Decimal("1000.00")  # after them

    logs = ok(api.get("/api/activity-logs", params={"activityLogObjectId": discount_id}))
    [item] = logs["items"][0]["activityLogItems"]
    assert item["verb"] == "UPDATED"


def test_deleting_answers_the_discount_and_later_invoices_drop_it(api: ApiClient) -> None:
    merchant = Merchant(api)
    schedule, _ = _scheduled(merchant, _discount(10))
    discount_id = schedule["phases"][0]["discounts"][0]["id"]
    merchant.bill("2024-02-01")
    january = merchant.invoice_for(schedule["id"], "2024-01-01")
    assert Decimal(january["netTotal"]) == Decimal("900.00")
    ok(api.post(f"/api/invoices/{january['id']}/finalize"))

    deleted = ok(api.delete(f"/api/discounts/{discount_id}"))
    assert deleted["id"] == discount_id and deleted["amount"] == 10
    assert api.get(f"/api/discounts/{discount_id}").status_code == 404
    assert api.delete(f"/api/discounts/{discount_id}").status_code == 404
    assert ok(api.get("/api/discounts"))["items"] == []
    assert ok(api.get(f"/api/billing-schedules/{schedule['id']}"))["phases"][0]["discounts"] == []

    merchant.bill("2024-03-01")
    # The issued invoice keeps what it said; the next one bills in full.
    assert ok(api.get(f"/api/invoices/{january['id']}"))["netTotal"] == "900.00"
    february = merchant.invoice_for(schedule["id"], "2024-02-01")
    assert Decimal(february["netTotal"]) == Decimal("1000.00")
    logs = ok(api.get("/api/activity-logs", params={"activityLogObjectId": discount_id}))
    assert logs["items"][0]["activityLogItems"][0]["verb"] == "DELETED"


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"billingScheduleId": "other"}, "billingScheduleId"),
        ({"validFrom": "2023-12-31"}, "validFrom"),
        ({"validTo": "2025-01-01"}, "validTo"),
        ({"amount": 101}, "at most 100"),
        ({"amount": 0}, "amount"),
        ({"type": "PERCENTAGE"}, "type"),
        ({"seatDiscountType": "ALL_SEATS"}, "seatDiscountType"),
        ({"phaseId": "x"}, "phaseId"),
    ],
)
def test_refused_updates_change_nothing(api: ApiClient, fields: dict[str, Any], where: str) -> None:
    merchant = Merchant(api)
    schedule, _ = _scheduled(merchant, _discount(10))
    discount_id = schedule["phases"][0]["discounts"][0]["id"]
    if fields.get("billingScheduleId") == "other":
        other, _ = _scheduled(merchant, _discount(5))
        fields = {"billingScheduleId": other["id"]}
    before = ok(api.get(f"/api/discounts/{discount_id}"))
    response = api.put(f"/api/discounts/{discount_id}", json=_update(schedule, **fields))
    assert response.status_code == 400, response.text
    assert where in response.text
    assert ok(api.get(f"/api/discounts/{discount_id}")) == before


def test_a_price_outside_the_phase_is_refused(api: ApiClient) -> None:
    merchant = Merchant(api)
    schedule, _ = _scheduled(merchant, _discount(10))
    elsewhere = merchant.price(fixed("5.00"), name="Other")
    discount_id = schedule["phases"][0]["discounts"][0]["id"]
    response = api.put(
        f"/api/discounts/{discount_id}", json=_update(schedule, priceIds=[elsewhere])
    )
    assert response.status_code == 400
    assert "priceIds.0" in response.text


def test_a_finished_schedules_discounts_stay(api: ApiClient) -> None:
    schedule, _ = _scheduled(Merchant(api), _discount(10))
    discount_id = schedule["phases"][0]["discounts"][0]["id"]
    ok(api.post(f"/api/billing-schedules/{schedule['id']}/archive"))
    response = api.delete(f"/api/discounts/{discount_id}")
    assert response.status_code == Conflict.status_code
    assert "CANCELLED" in response.json()["error"]["message"]
    response = api.put(f"/api/discounts/{discount_id}", json=_update(schedule, amount=50))
    assert response.status_code == Conflict.status_code
    assert ok(api.get(f"/api/discounts/{discount_id}"))["amount"] == 10


def test_another_accounts_discounts_and_ids_are_not_found(
    api: ApiClient, other_api: ApiClient
) -> None:
    theirs, their_price = _scheduled(Merchant(other_api), _discount(10))
    their_discount = theirs["phases"][0]["discounts"][0]["id"]
    url = f"/api/discounts/{their_discount}"
    assert api.get(url).status_code == 404
    assert api.put(url, json=_update(theirs)).status_code == 404
    assert api.delete(url).status_code == 404
    assert ok(api.get("/api/discounts"))["items"] == []

    mine, _ = _scheduled(Merchant(api), _discount(10))
    my_discount = mine["phases"][0]["discounts"][0]["id"]
    response = api.put(f"/api/discounts/{my_discount}", json=_update(theirs))
    assert response.status_code == 404 and "billingScheduleId" in response.text
    response = api.put(f"/api/discounts/{my_discount}", json=_update(mine, priceIds=[their_price]))
    assert response.status_code == 404 and "priceIds.0" in response.text
    assert ok(other_api.get(url))["amount"] == 10


def test_unknown_query_parameters_are_refused(api: ApiClient) -> None:
    response = api.get("/api/discounts", params={"billingScheduleId": "x"})
    assert response.status_code == 400
    assert "billingScheduleId" in response.text


def test_restating_the_schedule_keeps_its_discounts_ids_and_days(api: ApiClient) -> None:
    schedule, _ = _scheduled(Merchant(api), _discount(10), _discount(5, message="Second"))
    first, second = (d["id"] for d in schedule["phases"][0]["discounts"])
    body = _update(schedule, validFrom="2024-03-01", validTo="2024-03-31")
    ok(api.put(f"/api/discounts/{first}", json=body))
    current = ok(api.get(f"/api/billing-schedules/{schedule['id']}"))

    restated = ok(api.put(f"/api/billing-schedules/{schedule['id']}", json=update_body(current)))
    assert [d["id"] for d in restated["phases"][0]["discounts"]] == [first, second]
    kept = ok(api.get(f"/api/discounts/{first}"))
    assert (kept["validFrom"], kept["validTo"]) == ("2024-03-01", "2024-03-31")
    # A discount that changed is a new one.
    changed = update_body(current)
    changed["phases"][0]["discounts"][1]["amount"] = 6
    after = ok(api.put(f"/api/billing-schedules/{schedule['id']}", json=changed))
    ids = [d["id"] for d in after["phases"][0]["discounts"]]
    assert first in ids and second not in ids
    assert api.get(f"/api/discounts/{second}").status_code == 404


def test_restating_a_discount_changes_nothing(api: ApiClient) -> None:
    schedule, _ = _scheduled(Merchant(api), _discount(10))
    discount_id = schedule["phases"][0]["discounts"][0]["id"]
    ok(api.put(f"/api/discounts/{discount_id}", json=_update(schedule)))
    assert (
        ok(api.get(f"/api/billing-schedules/{schedule['id']}"))["updatedAt"]
        == (schedule["updatedAt"])
    )
    logs = ok(api.get("/api/activity-logs", params={"activityLogObjectId": discount_id}))
    assert logs["items"] == []
