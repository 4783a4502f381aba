"""Names refuse control characters (issue 16, item 6, first half).

A company name with CR LF made every queued email fail: the merchant's name heads each
message (the From display name and the Subject). Every name that reaches an email header, a
document's title or a line of a PDF is one line of text (`api.types.PlainText`): CR, LF, TAB,
other C0 and C1 controls, DEL and Unicode's line separators answer 400 naming the field, and
nothing changes.
"""

from collections.abc import Callable
from typing import Any

import pytest

from tally.accounts.service import create_account
from tally.db import Database
from tally.exceptions import InvalidRequest
from tests.catalog.price_bodies import fixed, price_body
from tests.credit_notes.helpers import line_body as note_line
from tests.factories import customer_body, product_body, tax_rate_body
from tests.fuzz.billing_objects import make_billing_objects
from tests.support.api_client import ApiClient

BREAKS = [
    "Acme Ltd\r\nBcc: everyone@example.com",
    "Acme Ltd\nX-Injected: 1",
    "Acme\rLtd",
    "Acme\tLtd",
    "Acme\x0bLtd",
    "Acme\x1bLtd",
    "Acme\x7fLtd",
    "Acme\x85Ltd",  # NEL, a C1 line break
    "Acme\u2028Ltd",
    "Acme\u2029Ltd",
]

INVOICE_LINE = {"title": "Setup", "quantity": "1", "rate": "5.00", "taxRate": "0.2"}
Ids = dict[str, str]
# field -> (method, url, body with the name set to `value`)
Attempt = Callable[[Ids, str], tuple[str, str, dict[str, Any]]]

ATTEMPTS: dict[str, Attempt] = {
    "companyName": lambda ids, v: (
        "PUT",
        f"/api/sequence-accounts/{ids['account']}",
        {"companyName": v},
    ),
    "legalName": lambda ids, v: ("POST", "/api/customers", customer_body(legalName=v)),
    "legalName (update)": lambda ids, v: (
        "PUT",
        f"/api/customers/{ids['customer']}",
        customer_body(legalName=v),
    ),
    "contacts.0.name": lambda ids, v: (
        "POST",
        "/api/customers",
        customer_body(
            contacts=[{"name": v, "email": "a@example.com", "billingPreference": "PRIMARY"}]
        ),
    ),
    "contactName": lambda ids, v: (
        "POST",
        "/api/customers",
        {**customer_body(contacts=None), "email": "a@example.com", "contactName": v},
    ),
    "name (contact)": lambda ids, v: (
        "POST",
        f"/api/customers/{ids['customer']}/contacts",
        {"name": v, "email": "b@example.com", "billingPreference": "STANDARD"},
    ),
    "name (product)": lambda ids, v: ("POST", "/api/products", product_body(name=v)),
    "name (product update)": lambda ids, v: (
        "PUT",
        f"/api/products/{ids['product']}",
        product_body(name=v),
    ),
    "name (price)": lambda ids, v: (
        "POST",
        "/api/prices",
        price_body(ids["product"], fixed(), name=v),
    ),
    "name (price update)": lambda ids, v: ("PUT", f"/api/prices/{ids['price']}", {"name": v}),
    "name (tax rate)": lambda ids, v: ("POST", "/api/tax-rates", tax_rate_body(name=v)),
    "invoiceName": lambda ids, v: ("POST", "/api/tax-rates", tax_rate_body(invoiceName=v)),
    "invoiceShortName": lambda ids, v: (
        "POST",
        "/api/tax-rates",
        tax_rate_body(invoiceShortName=v),
    ),
    "customerLegalCompanyName (invoice)": lambda ids, v: (
        "POST",
        "/api/invoices",
        {"currency": "GBP", "customerId": ids["customer"], "customerLegalCompanyName": v},
    ),
    "title (invoice line)": lambda ids, v: (
        "POST",
        f"/api/invoices/{ids['invoice']}/line-items",
        {**INVOICE_LINE, "title": v},
    ),
    "title (invoice group)": lambda ids, v: (
        "POST",
        f"/api/invoices/{ids['invoice']}/line-item-groups",
        {"title": v},
    ),
    "customerLegalCompanyName (credit note)": lambda ids, v: (
        "POST",
        "/api/credit-notes",
        {
            "invoiceId": ids["sent_invoice"],
            "customerId": ids["customer"],
            "currency": "GBP",
            "customerLegalCompanyName": v,
        },
    ),
    "customerLegalCompanyName (credit note update)": lambda ids, v: (
        "PUT",
        f"/api/credit-notes/{ids['credit_note']}",
        {"customerLegalCompanyName": v},
    ),
    "title (credit note line)": lambda ids, v: (
        "POST",
        f"/api/credit-notes/{ids['credit_note']}/line-items",
        note_line(title=v),
    ),
    "title (credit note group)": lambda ids, v: (
        "POST",
        f"/api/credit-notes/{ids['credit_note']}/line-item-groups",
        {"title": v},
    ),
}


@pytest.fixture
def ids(api: ApiClient, database: Database) -> Ids:
    return make_billing_objects(api, database)


def _state(api: ApiClient, ids: Ids) -> list[Any]:
    urls = [
        f"/api/sequence-accounts/{ids['account']}",
        "/api/customers?limit=100",
        f"/api/customers/{ids['customer']}/contacts",
        "/api/products?limit=100",
        "/api/prices?limit=100",
        "/api/tax-rates?limit=100",
        "/api/invoices?limit=100",
        f"/api/invoices/{ids['invoice']}",
        "/api/credit-notes?limit=100",
        f"/api/credit-notes/{ids['credit_note']}",
    ]
    return [api.get(url).json() for url in urls]


@pytest.mark.parametrize("what", sorted(ATTEMPTS))
def test_a_name_with_a_control_character_is_refused(api: ApiClient, ids: Ids, what: str) -> None:
    field = what.split(" (", maxsplit=1)[0]
    before = _state(api, ids)
    for value in BREAKS:
        method, url, body = ATTEMPTS[what](ids, value)
        answer = api.request(method, url, json=body)
        assert answer.status_code == 400, (what, repr(value), answer.text)
        fields = [detail["field"] for detail in answer.json()["error"]["details"]]
        assert fields == [field], (what, fields)
    assert _state(api, ids) == before
    # One line of text, in any script, is a name.
    method, url, body = ATTEMPTS[what](ids, "Ünïcødé & Søns — 株式会社 «Ltd»")
    assert api.request(method, url, json=body).status_code in (200, 201), what


def test_an_account_made_on_the_command_line_follows_the_rule(database: Database) -> None:
    with database.transaction() as session, pytest.raises(InvalidRequest) as refused:
        create_account(session, "Shop\r\nBcc: everyone@example.com")
    assert refused.value.details == [
        {"field": "companyName", "message": refused.value.details[0]["message"]}
    ]
