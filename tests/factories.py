"""Request bodies for tests, valid by default; override what a test is about. And the
resources made from them through the API, for tests that need one to exist."""

from typing import Any

from tests.support.api_client import ApiClient


def address(**overrides: Any) -> dict[str, Any]:
    return {
        "line1": "Flat 1",
        "line2": "123 Fake Street",
        "town": "London",
        "postcode": "AB1 2EF",
        "country": "GB",
        **overrides,
    }


# The test merchant's legal address: accounts need one to issue invoices (`accounts.seller`).
SELLER = {
    "line1": "1 Merchant Street",
    "town": "Cambridge",
    "postcode": "CB1 1AA",
    "country": "GB",
}


def customer_body(**overrides: Any) -> dict[str, Any]:
    return {
        "legalName": "Example Ltd",
        "address": address(),
        "taxStatus": "TAXED",
        "contacts": [
            {"name": "Jane Payer", "email": "jane@example.com", "billingPreference": "PRIMARY"}
        ],
        **overrides,
    }


def product_body(**overrides: Any) -> dict[str, Any]:
    return {"name": "Platform access", "label": "Monthly platform fee", **overrides}


def tax_rate_body(**overrides: Any) -> dict[str, Any]:
    return {
        "isPublished": True,
        "name": "UK Sales Tax",
        "invoiceName": "Value Added Tax",
        "invoiceShortName": "VAT",
        "description": "Value Added Tax applied to sales in the UK",
        "amount": "0.2",
        "country": "GB",
        **overrides,
    }


def new_customer(api: ApiClient, name: str = "Example Ltd", **overrides: Any) -> dict[str, Any]:
    """A customer made through the API, as the API answers it (`legalName=` works as `name`)."""
    response = api.post("/api/customers", json=customer_body(**{"legalName": name, **overrides}))
    assert response.status_code == 201, response.text
    return dict(response.json())


def new_customer_id(api: ApiClient, name: str = "Example Ltd", **overrides: Any) -> str:
    return str(new_customer(api, name, **overrides)["id"])
