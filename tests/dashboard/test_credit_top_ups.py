"""A customer's credits page: buying credits (the API's body and workflow: an issued invoice,
credits when paid), auto-recharge set and turned off, both listed; the API's validation next
to the form; another account's customer a 404."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.dashboard.helpers import page_token
from tests.factories import new_customer_id
from tests.support.api_client import ApiClient


def _post(dashboard: TestClient, customer_id: str, path: str, **data: str) -> object:
    page = f"/dashboard/credits/customers/{customer_id}"
    token = page_token(dashboard, page)
    return dashboard.post(
        f"{page}/{path}", data={"csrf_token": token, **data}, follow_redirects=False
    )


def test_buying_credits_issues_an_invoice_and_lists_the_top_up(
    dashboard: TestClient, api: ApiClient
) -> None:
    customer_id = new_customer_id(api, legalName="Acme Rockets Ltd")
    answer = _post(
        dashboard, customer_id, "top-ups",
        currency="GBP", amount="25.50", cost="20", grantWhen="ON_PAYMENT", name="Top-up",
    )  # fmt: skip
    assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    [top_up] = api.get("/api/credit-top-ups", params={"customerId": customer_id}).json()["items"]
    assert top_up["status"] == "AWAITING_PAYMENT" and top_up["amount"] == 25.5
    page = dashboard.get(f"/dashboard/credits/customers/{customer_id}?done=bought").text
    assert f'id="top-up-{top_up["id"]}"' in page and "Awaiting payment" in page
    assert f"/dashboard/invoices/{top_up['invoiceId']}" in page


def test_the_apis_validation_shows_next_to_the_buy_form(
    dashboard: TestClient, api: ApiClient
) -> None:
    customer_id = new_customer_id(api)
    answer = _post(dashboard, customer_id, "top-ups", currency="GBP", amount="5", cost="1.001")
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert "No credits were bought" in answer.text  # type: ignore[attr-defined]
    assert api.get("/api/credit-top-ups").json()["items"] == []


def test_auto_recharge_is_set_shown_and_turned_off(dashboard: TestClient, api: ApiClient) -> None:
    customer_id = new_customer_id(api)
    answer = _post(
        dashboard, customer_id, "auto-recharge",
        currency="GBP", belowBalance="10", rechargeAmount="50", cost="", monthlyCap="200",
    )  # fmt: skip
    assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    setting = api.get(f"/api/customers/{customer_id}/auto-recharges/GBP").json()
    assert setting["belowBalance"] == 10 and setting["monthlyCap"] == 200
    page = dashboard.get(f"/dashboard/credits/customers/{customer_id}").text
    assert 'data-auto-recharge="GBP"' in page
    refused = _post(
        dashboard, customer_id, "auto-recharge",
        currency="GBP", belowBalance="10", rechargeAmount="0",
    )  # fmt: skip
    assert refused.status_code == 422  # type: ignore[attr-defined]
    off = _post(dashboard, customer_id, "auto-recharge/GBP/delete")
    assert off.status_code == 303  # type: ignore[attr-defined]
    assert api.get(f"/api/customers/{customer_id}/auto-recharges/GBP").status_code == 404


def test_another_accounts_customer_is_not_found(
    dashboard: TestClient, other_api: ApiClient
) -> None:
    theirs = new_customer_id(other_api)
    assert dashboard.get(f"/dashboard/credits/customers/{theirs}").status_code == 404
