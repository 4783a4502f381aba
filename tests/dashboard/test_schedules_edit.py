"""Editing a billing schedule from the dashboard: the create form prefilled from the stored
schedule, saved through the API's `ScheduleUpdate` and `update_schedule`, so the API reads back
the edit, and what the form does not show is kept. Only schedules the API lets change have an
Edit link; the others answer 409 with the API's reason. Invalid or refused edits answer 4xx
and change nothing, another account's ids are 404 pages, a form without CSRF is refused."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.dashboard.helpers import page_token
from tests.schedules.helpers import Setup, new_tax_rate, ok, phase
from tests.support.api_client import ApiClient

SCHEDULES = "/dashboard/billing-schedules"


def post(dashboard: TestClient, path: str, data: dict[str, str]) -> Any:
    return dashboard.post(path, data={"csrf_token": page_token(dashboard, SCHEDULES), **data})


def schedule(api: ApiClient, schedule_id: str) -> dict[str, Any]:
    return ok(api.get(f"/api/billing-schedules/{schedule_id}"))


def stored(api: ApiClient, schedule_id: str) -> dict[str, Any]:
    """The schedule as the API answers it, without what every write stamps anew."""
    answer = schedule(api, schedule_id)
    answer.pop("updatedAt")
    return answer


def with_terms(setup: Setup, tax_rate_id: str, **overrides: Any) -> dict[str, Any]:
    """A draft for 2024, one phase with a discount and a minimum, taxed at `tax_rate_id`."""
    terms = phase(
        [setup.price_id],
        name="Year one",
        discounts=[
            {
                "type": "PERCENTAGE",
                "amount": 10,
                "message": "Launch",
                "separateLineItem": False,
            }
        ],
        minimums=[{"amount": 500}],
    )
    return setup.create(
        phases=[terms],
        taxRates=[{"priceId": setup.price_id, "taxRateId": tax_rate_id}],
        isDraft=True,
        purchaseOrderNumber="PO-1",
        **overrides,
    )


def edit_fields(schedule_id: str, phase_id: str, price_id: str, tax_rate_id: str) -> dict[str, str]:
    """The edit form as `with_terms`' schedule prefills it."""
    return {
        "phase_count": "1",
        "start_date": "2024-01-01",
        "end_date": "2024-12-31",
        "recurrence_day_of_month": "1",
        "purchase_order_number": "PO-1",
        "tax_rate_id": tax_rate_id,
        "phase-0-id": phase_id,
        "phase-0-name": "Year one",
        "phase-0-start_date": "2024-01-01",
        "phase-0-end_date": "2024-12-31",
        f"phase-0-price-{price_id}": "on",
        "phase-0-discount_type": "PERCENTAGE",
        "phase-0-discount_amount": "10",
        "phase-0-discount_message": "Launch",
        "phase-0-minimum_amount": "500",
    }


def test_the_edit_form_is_prefilled_from_the_schedule(
    dashboard: TestClient, api: ApiClient
) -> None:
    setup = Setup(api)
    tax_rate_id = new_tax_rate(api)
    made = with_terms(setup, tax_rate_id)
    view = dashboard.get(f"{SCHEDULES}/{made['id']}")
    assert f'href="{SCHEDULES}/{made["id"]}/edit"' in view.text

    form = dashboard.get(f"{SCHEDULES}/{made['id']}/edit")
    assert form.status_code == 200
    assert "Edit billing schedule: Example Ltd" in form.text
    assert f'action="{SCHEDULES}/{made["id"]}/edit"' in form.text
    assert 'name="customer_id"' not in form.text and 'name="is_draft"' not in form.text
    assert 'id="start_date" name="start_date" type="date" value="2024-01-01"' in form.text
    assert (
        'id="purchase_order_number" name="purchase_order_number" type="text" value="PO-1"'
        in form.text
    )
    assert f'<option value="{tax_rate_id}" selected>' in form.text
    assert f'name="phase-0-id" value="{made["phases"][0]["id"]}"' in form.text
    assert f'name="phase-0-price-{setup.price_id}" value="on" checked' in form.text
    assert 'name="phase-0-discount_message" type="text" value="Launch"' in form.text
    assert 'name="phase-0-minimum_amount" type="text" value="500"' in form.text


def test_editing_the_terms_and_phase_of_a_draft(dashboard: TestClient, api: ApiClient) -> None:
    setup = Setup(api)
    tax_rate_id = new_tax_rate(api)
    made = with_terms(setup, tax_rate_id)
    extra_price = setup.price(name="Support")
    fields = edit_fields(made["id"], made["phases"][0]["id"], setup.price_id, tax_rate_id)
    fields.update(
        {
            "end_date": "",  # open-ended: the API's null
            "phase-0-end_date": "",
            "purchase_order_number": "",
            "auto_issue_invoices": "on",
            "phase-0-name": "Ongoing",
            f"phase-0-price-{extra_price}": "on",
            "phase-0-discount_type": "NOMINAL",
            "phase-0-discount_amount": "25.50",
            "phase-0-discount_separate": "on",
            "phase-0-minimum_amount": "",
        }
    )
    answer = post(dashboard, f"{SCHEDULES}/{made['id']}/edit", fields)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{SCHEDULES}/{made['id']}?done=schedule-updated"

    after = schedule(api, made["id"])
    assert (after["status"], after.get("endDate"), after.get("purchaseOrderNumber")) == (
        "DRAFT",
        None,
        None,
    )
    assert after["autoIssueInvoices"] is True
    [edited] = after["phases"]
    assert (edited["name"], edited["priceIds"]) == ("Ongoing", [setup.price_id, extra_price])
    assert [(d["type"], d["amount"], d["separateLineItem"]) for d in edited["discounts"]] == [
        ("NOMINAL", 25.5, True)
    ]
    assert edited["minimums"] == []
    assert after["taxRates"] == [
        {"priceId": setup.price_id, "taxRateId": tax_rate_id},
        {"priceId": extra_price, "taxRateId": tax_rate_id},
    ]
    assert "Billing schedule saved." in dashboard.get(answer.headers["location"]).text


def test_splitting_an_active_schedule_into_two_phases(
    dashboard: TestClient, api: ApiClient
) -> None:
    setup = Setup(api)
    made = setup.create()
    assert made["status"] == "ACTIVE"
    upgrade = setup.price(name="Enterprise fee")
    form = dashboard.get(f"{SCHEDULES}/{made['id']}/edit")
    assert form.status_code == 200
    fields = {
        "phase_count": "1",
        "start_date": "2024-01-01",
        "end_date": "2024-12-31",
        "recurrence_day_of_month": "1",
        "tax_rate_id": "",
        "phase-0-id": made["phases"][0]["id"],
        "phase-0-start_date": "2024-01-01",
        "phase-0-end_date": "2024-06-30",
        f"phase-0-price-{setup.price_id}": "on",
        "add_phase": "1",
    }
    longer = post(dashboard, f"{SCHEDULES}/{made['id']}/edit", fields)
    assert longer.status_code == 200 and 'data-phase="1"' in longer.text
    assert schedule(api, made["id"])["phases"][0]["endDate"] == "2024-12-31"  # nothing saved

    del fields["add_phase"]
    fields.update(
        {
            "phase_count": "2",
            "phase-1-name": "Upgraded",
            "phase-1-start_date": "2024-07-01",
            f"phase-1-price-{upgrade}": "on",
        }
    )
    answer = post(dashboard, f"{SCHEDULES}/{made['id']}/edit", fields)
    assert answer.status_code == 303, answer.text
    after = schedule(api, made["id"])
    assert after["status"] == "ACTIVE"
    assert [(p["startDate"], p.get("endDate"), p["priceIds"]) for p in after["phases"]] == [
        ("2024-01-01", "2024-06-30", [setup.price_id]),
        ("2024-07-01", "2024-12-31", [upgrade]),
    ]


def test_what_the_form_does_not_show_is_kept(dashboard: TestClient, api: ApiClient) -> None:
    setup = Setup(api)
    second = setup.price(name="Support")
    vat, reduced = new_tax_rate(api), new_tax_rate(api)
    grant = {
        "name": "Welcome credit",
        "creditUnitType": "CURRENCY",
        "amount": 100,
        "grantRefreshFrequency": "NONE",
        "rolloverMode": "NONE",
    }
    terms = phase(
        [setup.price_id, second],
        externalContractRef="MSA-7",
        discounts=[
            {
                "type": "PERCENTAGE",
                "amount": 10,
                "message": "Launch",
                "separateLineItem": False,
                "restrictToPrices": [second],
            },
            {"type": "NOMINAL", "amount": 5, "message": "Loyalty", "separateLineItem": True},
        ],
        minimums=[{"amount": 300, "restrictToPrices": [setup.price_id]}, {"amount": 50}],
        creditGrants=[grant],
    )
    made = setup.create(
        phases=[terms],
        taxRates=[
            {"priceId": setup.price_id, "taxRateId": vat},
            {"priceId": second, "taxRateId": reduced},
        ],
    )
    form = dashboard.get(f"{SCHEDULES}/{made['id']}/edit")
    assert "1 more discount, 1 more minimum, 1 credit grant" in form.text
    assert '<option value="as-now" selected>' in form.text  # two rates: kept as they are

    fields = edit_fields(made["id"], made["phases"][0]["id"], setup.price_id, "as-now")
    fields.update({f"phase-0-price-{second}": "on", "phase-0-name": "Renamed"})
    fields.update({"recurrence_day_of_month": "1", "purchase_order_number": ""})
    answer = post(dashboard, f"{SCHEDULES}/{made['id']}/edit", fields)
    assert answer.status_code == 303, answer.text

    after = schedule(api, made["id"])
    [edited] = after["phases"]
    assert (edited["name"], edited["externalContractRef"]) == ("Renamed", "MSA-7")
    assert [(d["message"], d["restrictToPrices"]) for d in edited["discounts"]] == [
        ("Launch", [second]),
        ("Loyalty", []),
    ]
    assert [(m["amount"], m["restrictToPrices"]) for m in edited["minimums"]] == [
        (500, [setup.price_id]),
        (50, []),
    ]
    [kept_grant] = edited["creditGrants"]
    assert kept_grant["id"] == made["phases"][0]["creditGrants"][0]["id"]
    assert after["taxRates"] == made["taxRates"]


def test_invalid_edits_are_refused_and_nothing_changes(
    dashboard: TestClient, api: ApiClient
) -> None:
    setup = Setup(api)
    tax_rate_id = new_tax_rate(api)
    made = with_terms(setup, tax_rate_id)
    before = stored(api, made["id"])
    fields = edit_fields(made["id"], made["phases"][0]["id"], setup.price_id, tax_rate_id)
    path = f"{SCHEDULES}/{made['id']}/edit"

    # The API's model: a percentage above 100.
    invalid = post(dashboard, path, {**fields, "phase-0-discount_amount": "150"})
    assert invalid.status_code == 422
    assert 'id="phase-0-discount_amount-error"' in invalid.text
    assert "a PERCENTAGE discount is at most 100" in invalid.text
    assert 'value="150"' in invalid.text

    # The API's service: the first phase starts with the schedule.
    refused = post(dashboard, path, {**fields, "start_date": "2023-12-01"})
    assert refused.status_code == 422
    assert 'id="phase-0-start_date-error"' in refused.text
    assert "the first phase starts with the schedule" in refused.text

    assert stored(api, made["id"]) == before


def test_an_archived_schedule_cannot_be_edited(dashboard: TestClient, api: ApiClient) -> None:
    setup = Setup(api)
    made = setup.create()
    ok(api.post(f"/api/billing-schedules/{made['id']}/archive"))
    before = stored(api, made["id"])
    assert "/edit" not in dashboard.get(f"{SCHEDULES}/{made['id']}").text

    form = dashboard.get(f"{SCHEDULES}/{made['id']}/edit")
    assert form.status_code == 409
    assert "is CANCELLED: it can no longer change" in form.text  # the API's reason
    fields = {
        "phase_count": "1",
        "start_date": "2024-01-01",
        "phase-0-start_date": "2024-01-01",
        f"phase-0-price-{setup.price_id}": "on",
        "phase-0-name": "Revived",
    }
    answer = post(dashboard, f"{SCHEDULES}/{made['id']}/edit", fields)
    assert answer.status_code == 409
    assert stored(api, made["id"]) == before


def test_another_accounts_ids_are_not_found(
    dashboard: TestClient, api: ApiClient, other_api: ApiClient
) -> None:
    theirs = Setup(other_api).create()
    before = stored(other_api, theirs["id"])
    assert dashboard.get(f"{SCHEDULES}/{theirs['id']}/edit").status_code == 404
    fields = {"phase_count": "1", "start_date": "2024-01-01", "phase-0-name": "Mine"}
    answer = post(dashboard, f"{SCHEDULES}/{theirs['id']}/edit", fields)
    assert answer.status_code == 404
    assert stored(other_api, theirs["id"]) == before

    # Their price in our schedule's form: 404 too, and ours is unchanged.
    setup = Setup(api)
    mine = setup.create()
    mine_before = stored(api, mine["id"])
    their_price = theirs["phases"][0]["priceIds"][0]
    fields = {
        "phase_count": "1",
        "start_date": "2024-01-01",
        "end_date": "2024-12-31",
        "phase-0-id": mine["phases"][0]["id"],
        "phase-0-start_date": "2024-01-01",
        f"phase-0-price-{their_price}": "on",
    }
    refused = post(dashboard, f"{SCHEDULES}/{mine['id']}/edit", fields)
    assert refused.status_code == 404
    assert stored(api, mine["id"]) == mine_before


def test_an_edit_without_the_csrf_token_changes_nothing(
    dashboard: TestClient, api: ApiClient
) -> None:
    setup = Setup(api)
    tax_rate_id = new_tax_rate(api)
    made = with_terms(setup, tax_rate_id)
    before = stored(api, made["id"])
    fields = edit_fields(made["id"], made["phases"][0]["id"], setup.price_id, tax_rate_id)
    answer = dashboard.post(
        f"{SCHEDULES}/{made['id']}/edit", data={**fields, "phase-0-name": "Forged"}
    )
    assert answer.status_code == 403
    assert stored(api, made["id"]) == before
