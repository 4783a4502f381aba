"""Credits from the dashboard: the account's grants with their balances, a customer's
balances and ledger (the API's own presenter), and the grant form, validated by the API's
request model and written by the same service. Another account's customer is a 404; a form
without the session's CSRF token changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from tests.credits.helpers import exact, grant, usage_metric
from tests.dashboard.helpers import page_token
from tests.factories import new_customer_id
from tests.support.api_client import ApiClient


def balances(api: ApiClient, customer_id: str) -> list[dict[str, Any]]:
    answer = api.get(f"/api/credits/{customer_id}/balances")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = exact(answer)["items"]
    return items


def grant_form(customer_id: str, **fields: str) -> dict[str, str]:
    return {
        "customerId": customer_id,
        "name": "Onboarding credits",
        "creditUnitType": "CURRENCY",
        "currency": "GBP",
        "amount": "150.50",
        "costOfCredit": "120",
        "effectiveDate": "2024-01-01",
        "expiryDate": "",
        "metricId": "",
        "creditsPerCurrencyUnit": "",
        **fields,
    }


def post_grant(dashboard: TestClient, **data: str) -> Any:
    token = page_token(dashboard, "/dashboard/credits")
    return dashboard.post("/dashboard/credits", data={"csrf_token": token, **data})


def test_the_list_shows_the_accounts_grants_with_balances(
    dashboard: TestClient, api: ApiClient, other_api: ApiClient
) -> None:
    customer = new_customer_id(api, legalName="Acme Rockets Ltd")
    mine = grant(api, customer, name="Launch credits")
    theirs = grant(other_api, new_customer_id(other_api), name="Their credits")
    page = dashboard.get("/dashboard/credits")
    assert page.status_code == 200
    assert 'aria-current="page">Credits<' in page.text
    assert f'data-grant="{mine["id"]}"' in page.text and "Launch credits" in page.text
    assert "Acme Rockets Ltd" in page.text and "£100.00" in page.text
    assert theirs["id"] not in page.text and "Their credits" not in page.text

    other = new_customer_id(api, legalName="Other Ltd")
    grant(api, other, name="Other credits")
    only = dashboard.get("/dashboard/credits", params={"customerId": customer})
    assert "Launch credits" in only.text and "Other credits" not in only.text


def test_a_customers_balances_and_ledger(dashboard: TestClient, api: ApiClient) -> None:
    customer = new_customer_id(api, legalName="Acme Rockets Ltd")
    metric = usage_metric(api, "Verifications")
    cash = grant(api, customer, name="Cash credits")
    usage = grant(
        api, customer, name="Verification credits", creditUnitType="METRIC", metricId=metric,
        amount=500, costOfCredit=0,
    )  # fmt: skip
    page = dashboard.get(f"/dashboard/credits/customers/{customer}")
    assert page.status_code == 200
    assert "Credits of Acme Rockets Ltd" in page.text
    for item in balances(api, customer):  # what the API answers, shown
        assert f'data-balance="{item["id"]}"' in page.text
        assert item["balance"] in page.text
        for entry in item["transactions"]:
            assert f'data-entry="{entry["id"]}"' in page.text
    assert "Usage: Verifications" in page.text and "Cash: GBP" in page.text
    assert cash["id"] in page.text and usage["id"] in page.text
    assert "Granted" in page.text


def test_another_accounts_customer_is_not_found(
    dashboard: TestClient, other_api: ApiClient
) -> None:
    theirs = new_customer_id(other_api)
    grant(other_api, theirs)
    assert dashboard.get(f"/dashboard/credits/customers/{theirs}").status_code == 404
    answer = post_grant(dashboard, **grant_form(theirs))
    assert answer.status_code == 404
    assert len(balances(other_api, theirs)[0]["grants"]) == 1


def test_granting_credits_writes_the_grant_and_its_ledger_entry(
    dashboard: TestClient, api: ApiClient
) -> None:
    customer = new_customer_id(api, legalName="Acme Rockets Ltd")
    answer = post_grant(dashboard, **grant_form(customer, createInvoice="true"))
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/dashboard/credits/customers/{customer}?done=granted"
    (item,) = balances(api, customer)
    assert Decimal(item["balance"]) == Decimal("150.50")
    (granted,) = item["grants"]
    assert granted["name"] == "Onboarding credits" and Decimal(granted["costOfCredit"]) == 120
    (entry,) = item["transactions"]
    assert entry["entryType"] == "GRANT" and Decimal(entry["amount"]) == Decimal("150.5")
    grants = api.get("/api/credits", params={"customerId": customer}).json()["items"]
    assert grants[0]["invoiceId"]  # createInvoice made a draft for the cost

    page = dashboard.get(answer.headers["location"])
    assert "Credits granted." in page.text and item["balance"] in page.text


def test_the_apis_validation_shows_next_to_the_form_and_nothing_changes(
    dashboard: TestClient, api: ApiClient
) -> None:
    customer = new_customer_id(api)
    for fields, field, message in (
        ({"amount": "-5"}, "amount", "Credits: enter more than 0"),
        ({"amount": "lots"}, "amount", "Credits: enter a number, e.g. 12.50"),
        ({"name": ""}, "name", "Name: fill this in"),
        ({"amount": "10.001"}, "amount", "at most 2 decimal places"),  # the service's rule
        ({"expiryDate": "2023-12-31"}, "expiryDate", "is before 2024-01-01"),
        ({"creditUnitType": "GOLD"}, "creditUnitType", "CURRENCY"),
    ):
        answer = post_grant(dashboard, **grant_form(customer, **fields))
        assert answer.status_code == 422, fields
        assert f'id="{field}-error"' in answer.text, (fields, answer.text)
        assert message in answer.text.split(f'id="{field}-error"')[1].split("</span>")[0]
        assert 'value="Onboarding credits"' in answer.text or not fields.get("name", "x")
    assert balances(api, customer) == []


def test_a_post_without_the_csrf_token_is_refused(dashboard: TestClient, api: ApiClient) -> None:
    customer = new_customer_id(api)
    answer = dashboard.post("/dashboard/credits", data=grant_form(customer))
    assert answer.status_code == 403
    assert balances(api, customer) == []


def test_signed_out_visitors_go_to_sign_in(visitor: TestClient) -> None:
    answer = visitor.get("/dashboard/credits")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/sign-in?next=/dashboard/credits"
