"""Validation errors said for people, next to their fields: "Country: choose a country", not
"address.country: Value error, ...". One translator (`dashboard/form_errors.py`) for every
form: the field's label, then what to do; the field marked `aria-invalid` and described by
its message; every message listed above the form too; pydantic's own wording never shown."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field, ValidationError

from tally.api.types import Address
from tally.dashboard.form_errors import from_validation, label, phrase
from tests.dashboard.helpers import page_token
from tests.dashboard.test_catalog import CATALOG, TAX
from tests.dashboard.test_credits import grant_form, post_grant
from tests.dashboard.test_customers import CUSTOMERS, form
from tests.dashboard.test_settings import ACCOUNT, account_form
from tests.factories import new_customer
from tests.support.api_client import ApiClient

# Pydantic's wording, and the API's paths: never what a person reads on a form.
RAW = re.compile(
    r"Value error|Input should be|[Ff]ield required|String should|valid decimal|"
    r"address\.country|contacts\.\d|\[type=|pydantic"
)


def message_of(page: str, field: str) -> str:
    start = f'id="{field}-error">'
    assert start in page, page
    return page.split(start)[1].split("</span>", 1)[0]


def assert_said(page: str, field: str, message: str) -> None:
    """`message` next to `field`, which says it is invalid and is described by it, and in
    the summary above the form; nothing raw anywhere."""
    assert message_of(page, field) == message
    control = re.search(rf'<(input|select|textarea) id="{re.escape(field)}"[^>]*>', page)
    assert control, field
    assert 'aria-invalid="true"' in control.group(0)
    assert f'aria-describedby="{field}-error"' in control.group(0)
    summary = page.split('role="alert"')[1].split("</div>", maxsplit=1)[0]
    assert message in summary
    assert not RAW.search(page), RAW.search(page)


def test_the_customer_form_says_each_error_by_its_field(dashboard: TestClient) -> None:
    token = page_token(dashboard, f"{CUSTOMERS}/new")
    answer = dashboard.post(
        f"{CUSTOMERS}/new",
        data=form(
            token,
            legal_name="",
            address_country="XX",
            address_town="",
            **{"contact-1-email": "colin-at-example"},
        ),
    )
    assert answer.status_code == 422
    page = answer.text
    assert_said(page, "address_country", "Country: choose a country")
    assert_said(page, "legal_name", "Legal name: fill this in")
    assert_said(page, "address_town", "Town: fill this in")
    assert_said(
        page, "contact-1-email", "Contact 2 email: enter an email address like name@example.com"
    )


def test_a_service_refusal_is_said_by_its_field_too(dashboard: TestClient, api: ApiClient) -> None:
    new_customer(api, "Taken Name", customerAliases=["taken-alias"])
    token = page_token(dashboard, f"{CUSTOMERS}/new")
    answer = dashboard.post(f"{CUSTOMERS}/new", data=form(token, aliases="taken-alias"))
    assert answer.status_code in (409, 422)
    assert "Nothing was saved" in answer.text and "taken-alias" in answer.text
    assert not RAW.search(answer.text)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"country": ""}, "country", "Country: choose a country"),
        (
            {"paymentTermsDays": "two weeks"},
            "paymentTermsDays",
            "Payment terms: enter a whole number, e.g. 30",
        ),
        ({"paymentTermsDays": "-1"}, "paymentTermsDays", "Payment terms: enter 0 or more"),
        ({"address_country": "ZZ"}, "address_country", "Address country: choose a country"),
        (
            {"alertEmailAddresses": "ok@acme.example\nnobody"},
            "alertEmailAddresses",
            "Alert email addresses, line 2: enter an email address like name@example.com",
        ),
    ],
)
def test_the_account_settings_say_errors_for_people(
    dashboard: TestClient, fields: dict[str, str], field: str, message: str
) -> None:
    token = page_token(dashboard, ACCOUNT)
    answer = dashboard.post(ACCOUNT, data={"csrf_token": token, **account_form(**fields)})
    assert answer.status_code == 422
    assert_said(answer.text, field, message)


def test_the_tax_rate_form_says_errors_for_people(dashboard: TestClient) -> None:
    token = page_token(dashboard, CATALOG)
    answer = dashboard.post(
        f"{CATALOG}/tax-rates",
        data={"csrf_token": token, **TAX, "country": "", "amount": "twenty"},
    )
    assert answer.status_code == 422
    assert_said(answer.text, "country", "Country: choose a country")
    assert message_of(answer.text, "amount") == "Amount: enter a number, e.g. 12.50"


def test_the_credits_form_says_errors_for_people(dashboard: TestClient, api: ApiClient) -> None:
    customer = new_customer(api)["id"]
    answer = post_grant(dashboard, **grant_form(customer, amount="lots", name=""))
    assert answer.status_code == 422
    assert message_of(answer.text, "amount") == "Credits: enter a number, e.g. 12.50"
    assert not RAW.search(answer.text)


# --- the translator ----------------------------------------------------------------------------


class _Line(BaseModel):
    amount: Decimal = Field(gt=0, decimal_places=2)
    count: int = Field(le=10)
    email: str
    address: Address


def _errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as raised:
        _Line.model_validate(data)
    problems = from_validation(raised.value, lambda loc: ".".join(map(str, loc)))
    return problems.fields


def test_the_translator_says_pydantics_errors_as_what_to_do() -> None:
    address = {"line1": "1 Road", "town": "Leeds", "postcode": "LS1", "country": "QQ"}
    said = _errors({"amount": "1.5x", "count": "11", "address": address})
    assert said == {
        "amount": "Amount: enter a number, e.g. 12.50",
        "count": "Count: enter 10 or less",
        "email": "Email: enter an email address like name@example.com",
        "address.country": "Country: choose a country",
    }
    assert _errors({"amount": "-1", "count": 1, "email": "a", "address": address})["amount"] == (
        "Amount: enter more than 0"
    )
    assert _errors({"amount": "1.234", "count": 1, "email": "a", "address": address})["amount"] == (
        "Amount: use at most 2 decimal places"
    )


def test_labels_count_entries_from_one() -> None:
    assert label(("contacts", 0, "email")) == "Contact 1 email"
    assert label(("alertEmailAddresses", 2)) == "Alert email addresses, line 3"
    assert label(("address", "line1")) == "Address line 1"
    assert label(("pricePerUnit",)) == "Price per unit"
    assert label(("country",), {"country": "Billing country"}) == "Billing country"


def test_an_unknown_error_loses_pydantics_wording() -> None:
    said = phrase({"type": "something_new", "loc": ("x",), "msg": "Input should be shiny"})
    assert said == "should be shiny"
    said = phrase({"type": "value_error", "loc": ("x",), "msg": "Value error, is too early"})
    assert said == "is too early"
