"""POST /billing-schedules/{id}/duplicate: a new DRAFT schedule (new id) for the customer the
request names, with the source's phases, prices, discounts, minimums, credit grants, tax rates
and terms; the source untouched."""

from typing import Any

from tally.exceptions import Conflict
from tests.factories import new_customer_id
from tests.schedules.helpers import Setup, created, new_tax_rate, phase
from tests.support.api_client import ApiClient

DROPPED = {"id", "customerId", "status", "createdAt", "updatedAt", "billingScheduleId",
           "phaseId", "firstBillingDate", "archivedAt"}  # fmt: skip


def terms(value: Any) -> Any:
    """A schedule's answer without what a copy has of its own (ids, status, timestamps)."""
    if isinstance(value, dict):
        return {k: terms(v) for k, v in value.items() if k not in DROPPED}
    if isinstance(value, list):
        return [terms(v) for v in value]
    return value


def rich_schedule(setup: Setup) -> dict[str, Any]:
    support = setup.price(name="Support")
    prices = [setup.price_id, support]
    discount = {
        "type": "PERCENTAGE", "amount": 12.5, "message": "Launch discount",
        "separateLineItem": True, "restrictToPrices": [support],
    }  # fmt: skip
    grant = {
        "name": "Welcome credit", "creditUnitType": "CURRENCY", "amount": 50,
        "grantRefreshFrequency": "NONE", "rolloverMode": "NONE",
    }  # fmt: skip
    phases = [
        phase(prices, "2024-01-01", "2024-06-30", discounts=[discount],
              minimums=[{"amount": 150}], creditGrants=[grant], name="Ramp"),
        phase(prices, "2024-07-01", "2024-12-31", name="Full"),
    ]  # fmt: skip
    tax_rate = new_tax_rate(setup.api)
    return setup.create(
        prices, phases=phases, memo="Annual plan", label="enterprise",
        customFields={"region": "EU"}, defaultDueDateDays=14,
        taxRates=[{"priceId": setup.price_id, "taxRateId": tax_rate}],
    )  # fmt: skip


def test_the_copy_has_the_sources_terms_a_new_id_and_starts_as_a_draft(api: ApiClient) -> None:
    setup = Setup(api)
    source = rich_schedule(setup)
    other_customer = new_customer_id(api, "Sister Ltd")

    response = api.post(
        f"/api/billing-schedules/{source['id']}/duplicate", json={"customerId": other_customer}
    )
    copy = created(response)

    assert copy["id"] != source["id"]
    assert copy["customerId"] == other_customer
    assert copy["status"] == "DRAFT"
    assert terms(copy) == terms(source)
    assert {p["id"] for p in copy["phases"]}.isdisjoint({p["id"] for p in source["phases"]})
    assert api.get(f"/api/billing-schedules/{source['id']}").json() == source
    # The copy is a schedule of its own: activating it leaves the source as it was.
    activated = api.put(f"/api/billing-schedules/{copy['id']}/activate")
    assert activated.status_code == 200, activated.text
    assert api.get(f"/api/billing-schedules/{source['id']}").json() == source
    logs = api.get("/api/activity-logs", params={"activityLogObjectId": copy["id"]}).json()
    verbs = [log["activityLogItems"][0]["verb"] for log in logs["items"]]
    assert verbs == ["ACTIVATED", "CREATED"]


def test_the_same_customer_may_get_a_copy(api: ApiClient) -> None:
    setup = Setup(api)
    source = setup.create()
    copy = created(
        api.post(
            f"/api/billing-schedules/{source['id']}/duplicate",
            json={"customerId": setup.customer_id},
        )
    )
    assert copy["customerId"] == setup.customer_id and copy["id"] != source["id"]
    listed = api.get("/api/billing-schedules", params={"customerId": setup.customer_id}).json()
    assert {item["id"] for item in listed["items"]} == {source["id"], copy["id"]}


def test_refusals_change_nothing(api: ApiClient, other_api: ApiClient) -> None:
    setup = Setup(api)
    source = setup.create()
    url = f"/api/billing-schedules/{source['id']}/duplicate"
    theirs = new_customer_id(other_api, "Theirs")

    foreign = api.post(url, json={"customerId": theirs})
    assert foreign.status_code == 404 and "customerId" in foreign.text
    assert other_api.post(url, json={"customerId": theirs}).status_code == 404
    assert api.post(url, json={}).status_code == 400
    unknown = api.post(url, json={"customerId": setup.customer_id, "isDraft": False})
    assert unknown.status_code == 400 and "isDraft" in unknown.text
    archived = new_customer_id(api, "Gone Ltd")
    assert api.post(f"/api/customers/{archived}/archive").status_code == 200
    refused = api.post(url, json={"customerId": archived})
    assert refused.status_code == Conflict.status_code
    assert "archived" in refused.json()["error"]["message"]
    missing = api.post("/api/billing-schedules/nope/duplicate", json={"customerId": archived})
    assert missing.status_code == 404
    assert api.get("/api/billing-schedules").json()["pagination"]["totalResultSize"] == 1
