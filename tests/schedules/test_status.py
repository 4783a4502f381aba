"""A schedule's status: DRAFT, PENDING or ACTIVE on create, activation, archiving (also with
its customer), and the statuses that can no longer change."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from tally.core.clock import local_today
from tally.db import Database
from tally.models import BillingSchedule, ScheduleStatus
from tests.schedules.helpers import Setup, iso, ok, phase, update_body
from tests.support.api_client import ApiClient


def set_time_zone(api: ApiClient, zone: str) -> None:
    account_id = api.get("/api/sequence-accounts").json()["items"][0]["id"]
    ok(api.put(f"/api/sequence-accounts/{account_id}", json={"timezone": zone}))


def starting(setup: Setup, start: str, **overrides: Any) -> dict[str, Any]:
    return setup.create(start=start, end=None, **overrides)


def complete(database: Database, schedule: dict[str, Any]) -> None:
    """What billing does once a schedule is billed in full."""
    with database.transaction() as session:
        session.execute(
            update(BillingSchedule)
            .where(BillingSchedule.id == schedule["id"])
            .values(status=ScheduleStatus.COMPLETED)
        )


def listed_ids(api: ApiClient, **params: Any) -> list[str]:
    return [s["id"] for s in ok(api.get("/api/billing-schedules", params=params))["items"]]


def test_status_on_create(api: ApiClient) -> None:
    setup = Setup(api)
    today = local_today("UTC")
    assert starting(setup, iso(today, -400))["status"] == "ACTIVE"
    assert starting(setup, iso(today))["status"] == "ACTIVE"
    assert starting(setup, iso(today, 1))["status"] == "PENDING"
    assert starting(setup, iso(today, 1), isDraft=True)["status"] == "DRAFT"
    assert starting(setup, iso(today, -400), isDraft=True)["status"] == "DRAFT"


def test_today_is_the_accounts_today(api: ApiClient) -> None:
    """A schedule starting on the account's today is ACTIVE, one starting on its tomorrow is
    PENDING, whatever the date in UTC."""
    utc_today = datetime.now(UTC).date()
    # At any moment one of these two zones (UTC+14, UTC-12) is on another date than UTC.
    zone = next(z for z in ("Pacific/Kiritimati", "Etc/GMT+12") if local_today(z) != utc_today)
    set_time_zone(api, zone)
    setup = Setup(api)
    today = local_today(zone)
    assert today != utc_today
    assert starting(setup, iso(today))["status"] == "ACTIVE"
    assert starting(setup, iso(today, 1))["status"] == "PENDING"


def test_activating_a_draft(api: ApiClient) -> None:
    setup = Setup(api)
    today = local_today("UTC")
    past = starting(setup, iso(today, -10), isDraft=True)
    future = starting(setup, iso(today, 10), isDraft=True)

    activated = ok(api.put(f"/api/billing-schedules/{past['id']}/activate"))
    assert activated["status"] == "ACTIVE"
    assert activated["updatedAt"] > past["updatedAt"]
    assert ok(api.put(f"/api/billing-schedules/{future['id']}/activate"))["status"] == "PENDING"
    # Activating again changes nothing.
    assert ok(api.put(f"/api/billing-schedules/{past['id']}/activate")) == activated
    assert ok(api.get(f"/api/billing-schedules/{past['id']}")) == activated


def test_archiving_cancels_and_hides_the_schedule(api: ApiClient) -> None:
    setup = Setup(api)
    active = setup.create()
    draft = setup.create(isDraft=True)

    archived = ok(api.post(f"/api/billing-schedules/{active['id']}/archive"))
    assert archived["status"] == "CANCELLED"
    assert archived["archivedAt"]
    assert ok(api.post(f"/api/billing-schedules/{active['id']}/archive")) == archived
    assert ok(api.get(f"/api/billing-schedules/{active['id']}")) == archived
    assert ok(api.post(f"/api/billing-schedules/{draft['id']}/archive"))["status"] == "CANCELLED"

    assert listed_ids(api) == []
    assert listed_ids(api, includeArchivedSchedules="true") == [draft["id"], active["id"]]


def test_cancelled_and_completed_schedules_no_longer_change(
    api: ApiClient, database: Database
) -> None:
    setup = Setup(api)
    cancelled = setup.create()
    ok(api.post(f"/api/billing-schedules/{cancelled['id']}/archive"))
    completed = setup.create()
    complete(database, completed)

    for schedule, status in ((cancelled, "CANCELLED"), (completed, "COMPLETED")):
        url = f"/api/billing-schedules/{schedule['id']}"
        before = ok(api.get(url))
        for response in (
            api.put(url, json=update_body(schedule, memo="Changed")),
            api.put(f"{url}/activate"),
        ):
            assert response.status_code == 400, response.text
            assert response.json()["error"]["type"] == "InvalidStateTransition"
            assert status in response.json()["error"]["message"]
        assert ok(api.get(url)) == before

    # Archiving a completed schedule hides it and keeps its status.
    archived = ok(api.post(f"/api/billing-schedules/{completed['id']}/archive"))
    assert (archived["status"], bool(archived["archivedAt"])) == ("COMPLETED", True)


def test_an_update_moves_a_started_schedule_between_pending_and_active(api: ApiClient) -> None:
    setup = Setup(api)
    today = local_today("UTC")
    schedule = starting(setup, iso(today, 5))
    assert schedule["status"] == "PENDING"

    def move(target: dict[str, Any], start: str) -> dict[str, Any]:
        body = update_body(
            target, startDate=start, endDate=None, phases=[phase([setup.price_id], start, None)]
        )
        return ok(api.put(f"/api/billing-schedules/{target['id']}", json=body))

    assert move(schedule, iso(today, -5))["status"] == "ACTIVE"
    assert move(schedule, iso(today, 5))["status"] == "PENDING"
    draft = starting(setup, iso(today, 5), isDraft=True)
    assert move(draft, iso(today, -5))["status"] == "DRAFT"


def test_archiving_a_customer_archives_its_schedules(api: ApiClient, database: Database) -> None:
    setup = Setup(api)
    active = setup.create()
    draft = setup.create(isDraft=True)
    earlier = setup.create()
    first_archived = ok(api.post(f"/api/billing-schedules/{earlier['id']}/archive"))
    completed = setup.create()
    complete(database, completed)
    bystander = Setup(api).create()

    ok(api.post(f"/api/customers/{setup.customer_id}/archive"))

    after = {
        s["id"]: s
        for s in ok(
            api.get(
                "/api/billing-schedules",
                params={"includeArchivedSchedules": "true", "customerId": setup.customer_id},
            )
        )["items"]
    }
    for schedule in (active, draft):
        assert after[schedule["id"]]["status"] == "CANCELLED"
        assert after[schedule["id"]]["archivedAt"]
        assert after[schedule["id"]]["updatedAt"] > schedule["updatedAt"]
    assert after[earlier["id"]] == first_archived
    assert after[completed["id"]]["status"] == "COMPLETED"
    assert after[completed["id"]]["archivedAt"]
    assert listed_ids(api) == [bystander["id"]]
    assert ok(api.get(f"/api/billing-schedules/{bystander['id']}")) == bystander
    # A customer archived again (idempotent) changes nothing more.
    ok(api.post(f"/api/customers/{setup.customer_id}/archive"))
    assert ok(api.get(f"/api/billing-schedules/{active['id']}")) == after[active["id"]]
