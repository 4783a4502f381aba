"""The price and credit grant forms start on the account's own currency (its setting), not a
fixed one: a merchant billing in euros is offered euros."""

import re

import pytest
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tests.dashboard.test_catalog import CATALOG, create_product
from tests.support.api_client import ApiClient


def selected_currency(html: str) -> list[str]:
    select = re.search(r'<select id="currency" name="currency"[^>]*>(.*?)</select>', html, re.S)
    assert select, html
    return re.findall(r'<option value="([A-Z]{3})" selected>', select.group(1))


def set_currency(api: ApiClient, account: Credentials, currency: str) -> None:
    answer = api.put(f"/api/sequence-accounts/{account.account_id}", json={"currency": currency})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("currency", ["EUR", "JPY"])
def test_a_new_price_starts_in_the_accounts_currency(
    dashboard: TestClient, api: ApiClient, account: Credentials, currency: str
) -> None:
    set_currency(api, account, currency)
    product_id = create_product(dashboard)
    form = dashboard.get(f"{CATALOG}/products/{product_id}/prices/new?type=FIXED")
    assert form.status_code == 200
    assert selected_currency(form.text) == [currency]


@pytest.mark.parametrize("currency", ["EUR", "USD"])
def test_a_new_credit_grant_starts_in_the_accounts_currency(
    dashboard: TestClient, api: ApiClient, account: Credentials, currency: str
) -> None:
    set_currency(api, account, currency)
    page = dashboard.get("/dashboard/credits")
    assert page.status_code == 200
    assert selected_currency(page.text) == [currency]
