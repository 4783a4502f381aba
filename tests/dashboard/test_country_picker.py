"""Every country field of the dashboard is a picker of countries by name (pycountry's), whose
value is the API's two-letter code: sorted by name, the current value chosen, an empty
"Choose a country" first; what is chosen is what the API then answers."""

from __future__ import annotations

import re

import pycountry
from fastapi.testclient import TestClient

from tally.api.types import COUNTRY_CODES
from tests.dashboard.helpers import page_token
from tests.dashboard.test_customers import CUSTOMERS, customer, form
from tests.dashboard.test_settings import ACCOUNT, account_form, account_of
from tests.factories import new_customer
from tests.support.api_client import ApiClient

OPTION = re.compile(r'<option value="([^"]*)"( selected)?>([^<]*)</option>')


def picker(html: str, name: str) -> list[tuple[str, bool, str]]:
    """The options of the <select> named `name`: (value, selected, text)."""
    start = html.index(f'<select id="{name}" name="{name}"')
    block = html[start : html.index("</select>", start)]
    return [
        (value, bool(chosen), text.replace("&#39;", "'"))
        for value, chosen, text in OPTION.findall(block)
    ]


def chosen(options: list[tuple[str, bool, str]]) -> list[str]:
    return [value for value, selected, _ in options if selected]


def test_the_customer_form_offers_every_country_by_name_sorted(dashboard: TestClient) -> None:
    options = picker(dashboard.get(f"{CUSTOMERS}/new").text, "address_country")
    assert options[0] == ("", True, "Choose a country")  # nothing chosen for a new customer
    countries = options[1:]
    assert {value for value, _, _ in countries} == COUNTRY_CODES
    names = {value: text for value, _, text in countries}
    # Names as people say them (pycountry's common names), not codes.
    assert names["GB"] == "United Kingdom" and names["DE"] == "Germany"
    assert names["TW"] == pycountry.countries.get(alpha_2="TW").common_name  # type: ignore[no-untyped-call]
    assert names["XK"] == "Kosovo"
    # By name, accents aside: Åland Islands between Afghanistan and Albania.
    order = [text for _, _, text in countries]
    assert order[:3] == ["Afghanistan", "Åland Islands", "Albania"]
    assert order.index("Côte d'Ivoire") < order.index("Croatia")


def test_editing_a_customer_shows_its_country_and_saves_the_one_chosen(
    dashboard: TestClient, api: ApiClient
) -> None:
    mine = new_customer(api, "Picker Co")  # a GB address
    path = f"{CUSTOMERS}/{mine['id']}/edit"
    assert chosen(picker(dashboard.get(path).text, "address_country")) == ["GB"]
    token = page_token(dashboard, path)
    answer = dashboard.post(path, data=form(token, legal_name="Picker Co", address_country="FR"))
    assert answer.status_code == 303, answer.text
    assert customer(api, mine["id"])["address"]["country"] == "FR"
    assert chosen(picker(dashboard.get(path).text, "address_country")) == ["FR"]
    # The customer's page names the country too, not its code.
    shown = dashboard.get(f"{CUSTOMERS}/{mine['id']}").text
    assert re.search(r"<dt>Address</dt><dd>[^<]*, France</dd>", shown), shown


def test_no_country_chosen_is_said_next_to_the_picker(dashboard: TestClient) -> None:
    token = page_token(dashboard, f"{CUSTOMERS}/new")
    answer = dashboard.post(f"{CUSTOMERS}/new", data=form(token, address_country=""))
    assert answer.status_code == 422
    error = answer.text.split('id="address_country-error">')[1].split("</span>")[0]
    assert error == "Country: choose a country"
    assert 'aria-describedby="address_country-error"' in answer.text


def test_the_settings_country_pickers(dashboard: TestClient, api: ApiClient) -> None:
    page = dashboard.get(ACCOUNT).text
    account = account_of(api)
    assert chosen(picker(page, "country")) == [account["country"]]
    assert picker(page, "address_country")[0][:1] == ("",)  # the address may be left out
    token = page_token(dashboard, ACCOUNT)
    answer = dashboard.post(
        ACCOUNT, data={"csrf_token": token, **account_form(country="NL", address_country="BE")}
    )
    assert answer.status_code == 303, answer.text
    saved = account_of(api)
    assert saved["country"] == "NL" and saved["address"]["country"] == "BE"
    page = dashboard.get(ACCOUNT).text
    assert chosen(picker(page, "country")) == ["NL"]
    assert chosen(picker(page, "address_country")) == ["BE"]


def test_the_tax_rate_form_picks_a_country(dashboard: TestClient) -> None:
    options = picker(dashboard.get("/dashboard/catalog/tax-rates/new").text, "country")
    assert options[0] == ("", True, "Choose a country")
    assert ("GB", False, "United Kingdom") in options


def test_the_state_suggests_us_and_canadian_states(dashboard: TestClient) -> None:
    page = dashboard.get(f"{CUSTOMERS}/new").text
    assert 'list="address_state-choices"' in page
    assert '<option value="CA">California (United States)</option>' in page
    assert '<option value="ON">Ontario (Canada)</option>' in page
