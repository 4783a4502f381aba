"""Request bodies for tests, valid by default; override what a test is about."""

from typing import Any


def address(**overrides: Any) -> dict[str, Any]:
    return {
        "line1": "Flat 1",
        "line2": "123 Fake Street",
        "town": "London",
        "postcode": "AB1 2EF",
        "country": "GB",
        **overrides,
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
