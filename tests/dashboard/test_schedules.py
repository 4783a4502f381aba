"""The dashboard's billing schedules: listed, viewed, created (phases, prices, a discount and
a minimum, a tax rate) through the API's model and service, activated and archived; the API
reads back what the dashboard did. An invalid form answers 422 and saves nothing, another
account's ids are 404 pages, a form without CSRF is refused."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tally.db import Database
from tests.conftest import make_account
from tests.dashboard.helpers import page_token
from tests.factories import new_customer_id
from tests.schedules.helpers import new_price, new_tax_rate, schedule_body
from tests.support.api_client import ApiClient

SCHEDULES = "/dashboard/billing-schedules"


def post(dashboard: TestClient, path: str, data: dict[str, str]) -> Any:
    token = page_token(dashboard, SCHEDULES)
    return dashboard.post(path, data={"csrf_token": token, **data})


def schedules_of(api: ApiClient, customer_id: str) -> list[dict[str, Any]]:
    answer = api.get(
        f"/api/billing-schedules?customerId={customer_id}&includeArchivedSchedules=true"
    )
    assert answer.status_code == 200
    return list(answer.json()["items"])


def form_fields(customer_id: str, price_id: str, **extra: str) -> dict[str, str]:
    return {
        "customer_id": customer_id,
        "label": "Annual contract",
        "start_date": "2024-01-01",
        "end_date": "2024-12-31",
        "is_draft": "on",
        "phase_count": "1",
        "phase-0-start_date": "2024-01-01",
        "phase-0-end_date": "2024-12-31",
        f"phase-0-price-{price_id}": "on",
        **extra,
    }


def create(dashboard: TestClient, fields: dict[str, str]) -> str:
    answer = post(dashboard, SCHEDULES, fields)
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(rf"{SCHEDULES}/([^?]+)\?done=schedule-created", answer.headers["location"])
    assert found
    return found.group(1)


def test_the_list_shows_the_accounts_schedules_only(
    dashboard: TestClient, api: ApiClient, database: Database
) -> None:
    customer_id = new_customer_id(api, "Listed Ltd")
    api.post("/api/billing-schedules", json=schedule_body(customer_id, [new_price(api)]))
    other = make_account(database, "Another merchant")
    other_api = ApiClient(api.client, (other.api_key, other.api_secret))
    other_customer = new_customer_id(other_api, "Hidden Ltd")
    other_api.post(
        "/api/billing-schedules", json=schedule_body(other_customer, [new_price(other_api)])
    )

    page = dashboard.get(SCHEDULES)
    assert page.status_code == 200
    assert 'aria-current="page">Billing schedules<' in page.text
    assert "Listed Ltd" in page.text and "Hidden Ltd" not in page.text


def test_the_form_lists_customers_prices_and_tax_rates(
    dashboard: TestClient, api: ApiClient
) -> None:
    customer_id = new_customer_id(api, "Form Ltd")
    price_id = new_price(api, name="Form fee")
    tax_rate_id = new_tax_rate(api)
    form = dashboard.get(f"{SCHEDULES}/new")
    assert form.status_code == 200
    assert f'value="{customer_id}"' in form.text
    assert f'name="phase-0-price-{price_id}"' in form.text and "Form fee" in form.text
    assert f'value="{tax_rate_id}"' in form.text


def test_creating_a_schedule_with_a_discount_a_minimum_and_a_tax_rate(
    dashboard: TestClient, api: ApiClient
) -> None:
    customer_id = new_customer_id(api, "Created Ltd")
    price_id = new_price(api, name="Support")
    tax_rate_id = new_tax_rate(api)
    fields = form_fields(
        customer_id,
        price_id,
        tax_rate_id=tax_rate_id,
        **{
            "phase-0-name": "Year one",
            "phase-0-discount_type": "PERCENTAGE",
            "phase-0-discount_amount": "12.5",
            "phase-0-discount_message": "Launch discount",
            "phase-0-minimum_amount": "500",
        },
    )
    schedule_id = create(dashboard, fields)
    schedule = api.get(f"/api/billing-schedules/{schedule_id}").json()
    assert (schedule["status"], schedule["label"], schedule["customerId"]) == (
        "DRAFT",
        "Annual contract",
        customer_id,
    )
    assert schedule["taxRates"] == [{"priceId": price_id, "taxRateId": tax_rate_id}]
    [phase] = schedule["phases"]
    assert (phase["name"], phase["priceIds"]) == ("Year one", [price_id])
    assert [(d["type"], d["amount"], d["message"]) for d in phase["discounts"]] == [
        ("PERCENTAGE", 12.5, "Launch discount")
    ]
    assert [m["amount"] for m in phase["minimums"]] == [500]

    page = dashboard.get(f"{SCHEDULES}/{schedule_id}?done=schedule-created")
    assert page.status_code == 200
    assert "Billing schedule created." in page.text and "Created Ltd" in page.text
    assert "Launch discount" in page.text and "Support" in page.text
    assert "Year one" in page.text


def test_two_phases(dashboard: TestClient, api: ApiClient) -> None:
    customer_id = new_customer_id(api, "Phased Ltd")
    first, second = new_price(api, name="Intro"), new_price(api, name="Full")
    more = post(dashboard, SCHEDULES, {"phase_count": "1", "add_phase": "1"})
    assert more.status_code == 200
    assert 'name="phase_count" value="2"' in more.text and 'data-phase="1"' in more.text
    assert schedules_of(api, customer_id) == []

    fields = form_fields(
        customer_id,
        first,
        phase_count="2",
        **{
            "phase-0-end_date": "2024-03-31",
            "phase-1-start_date": "2024-04-01",
            "phase-1-end_date": "2024-12-31",
            f"phase-1-price-{second}": "on",
        },
    )
    schedule_id = create(dashboard, fields)
    phases = api.get(f"/api/billing-schedules/{schedule_id}").json()["phases"]
    assert [(p["startDate"], p["priceIds"]) for p in phases] == [
        ("2024-01-01", [first]),
        ("2024-04-01", [second]),
    ]


def test_an_invalid_schedule_is_refused_and_nothing_is_saved(
    dashboard: TestClient, api: ApiClient
) -> None:
    customer_id = new_customer_id(api, "Invalid Ltd")
    price_id = new_price(api)
    # The API model refuses a 150 % discount.
    fields = form_fields(
        customer_id,
        price_id,
        **{
            "phase-0-discount_type": "PERCENTAGE",
            "phase-0-discount_amount": "150",
            "phase-0-discount_message": "Too much",
        },
    )
    refused = post(dashboard, SCHEDULES, fields)
    assert refused.status_code == 422
    assert 'id="phase-0-discount_amount-error"' in refused.text
    assert "at most 100" in refused.text
    assert 'value="Too much"' in refused.text  # the form keeps what was typed
    # The service refuses a phase that ends after the schedule.
    fields = form_fields(customer_id, price_id, **{"phase-0-end_date": "2025-06-30"})
    refused = post(dashboard, SCHEDULES, fields)
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    assert 'id="phase-0-end_date-error"' in refused.text
    assert schedules_of(api, customer_id) == []


def test_activate_then_archive(dashboard: TestClient, api: ApiClient) -> None:
    customer_id = new_customer_id(api, "Lifecycle Ltd")
    schedule_id = create(dashboard, form_fields(customer_id, new_price(api)))
    page = dashboard.get(f"{SCHEDULES}/{schedule_id}")
    assert f'action="{SCHEDULES}/{schedule_id}/activate"' in page.text

    answer = post(dashboard, f"{SCHEDULES}/{schedule_id}/activate", {})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{SCHEDULES}/{schedule_id}?done=schedule-activated"
    assert api.get(f"/api/billing-schedules/{schedule_id}").json()["status"] == "ACTIVE"
    page = dashboard.get(answer.headers["location"])
    assert "Billing schedule activated." in page.text
    assert f'action="{SCHEDULES}/{schedule_id}/activate"' not in page.text

    answer = post(dashboard, f"{SCHEDULES}/{schedule_id}/archive", {})
    assert answer.status_code == 303
    schedule = api.get(f"/api/billing-schedules/{schedule_id}").json()
    assert schedule["status"] == "CANCELLED" and schedule["archivedAt"]
    assert "Lifecycle Ltd" not in dashboard.get(SCHEDULES).text
    assert "Lifecycle Ltd" in dashboard.get(f"{SCHEDULES}?archived=true").text

    refused = post(dashboard, f"{SCHEDULES}/{schedule_id}/activate", {})
    assert refused.status_code == 409 and "only a draft activates" in refused.text


def test_another_accounts_ids_are_not_found(
    dashboard: TestClient, api: ApiClient, database: Database
) -> None:
    other = make_account(database, "Another merchant")
    other_api = ApiClient(api.client, (other.api_key, other.api_secret))
    other_customer = new_customer_id(other_api, "Theirs Ltd")
    other_price = new_price(other_api)
    body = schedule_body(other_customer, [other_price], isDraft=True)
    other_schedule = other_api.post("/api/billing-schedules", json=body).json()["id"]

    assert dashboard.get(f"{SCHEDULES}/{other_schedule}").status_code == 404
    assert post(dashboard, f"{SCHEDULES}/{other_schedule}/activate", {}).status_code == 404
    assert post(dashboard, f"{SCHEDULES}/{other_schedule}/archive", {}).status_code == 404
    assert other_api.get(f"/api/billing-schedules/{other_schedule}").json()["status"] == "DRAFT"

    # Their customer, or our customer with their price: not found, nothing saved.
    mine = new_customer_id(api, "Mine Ltd")
    assert post(dashboard, SCHEDULES, form_fields(other_customer, other_price)).status_code == 404
    assert post(dashboard, SCHEDULES, form_fields(mine, other_price)).status_code == 404
    assert len(schedules_of(other_api, other_customer)) == 1
    assert schedules_of(api, mine) == []


def test_forms_without_the_csrf_token_change_nothing(dashboard: TestClient, api: ApiClient) -> None:
    customer_id = new_customer_id(api, "Forged Ltd")
    price_id = new_price(api)
    forged = dashboard.post(SCHEDULES, data=form_fields(customer_id, price_id))
    assert forged.status_code == 403
    assert schedules_of(api, customer_id) == []

    schedule_id = create(dashboard, form_fields(customer_id, price_id))
    assert dashboard.post(f"{SCHEDULES}/{schedule_id}/activate").status_code == 403
    assert dashboard.post(f"{SCHEDULES}/{schedule_id}/archive").status_code == 403
    schedule = api.get(f"/api/billing-schedules/{schedule_id}").json()
    assert schedule["status"] == "DRAFT" and schedule.get("archivedAt") is None


def test_a_phase_with_threshold_invoicing_is_created_shown_and_checked(
    dashboard: TestClient, api: ApiClient
) -> None:
    customer_id = new_customer_id(api, "Threshold Ltd")
    price_id = new_price(api, name="Compute")
    refused = post(
        dashboard,
        SCHEDULES,
        form_fields(customer_id, price_id, **{"phase-0-threshold_amount": "0"}),
    )
    assert refused.status_code == 422
    assert 'id="phase-0-threshold_amount-error"' in refused.text
    fields = form_fields(customer_id, price_id, **{"phase-0-threshold_amount": "250.00"})
    schedule_id = create(dashboard, fields)
    schedule = api.get(f"/api/billing-schedules/{schedule_id}").json()
    assert schedule["phases"][0]["thresholdInvoicing"] == {"amount": "250.00"}
    page = dashboard.get(f"{SCHEDULES}/{schedule_id}")
    assert "Threshold invoicing" in page.text and "250.00" in page.text
    edit = dashboard.get(f"{SCHEDULES}/{schedule_id}/edit")
    assert edit.status_code == 200
    assert re.search(r'name="phase-0-threshold_amount"[^>]*value="250.00"', edit.text) or (
        'value="250.00"' in edit.text
    )
