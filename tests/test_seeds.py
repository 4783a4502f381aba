"""The requests of seeds 002 and 003, sent as written (base URL, credentials and the ids the
earlier steps returned changed), answer like Sequence's examples."""

import json

from tests.support.api_client import ApiClient

SEED_002_PRODUCT = """{
            "name": "Example product",
            "label": "Example product"
        }"""

SEED_002_CUSTOMER = """{
            "legalName": "John Doe",
            "contactName": "John Doe",
            "address": {
                "line1": "Flat 1",
                "line2": "123 Fake Street",
                "town": "London",
                "postcode": "AB1 2EF",
                "country": "GB"
            },
            "email": "john@example.com",
            "billingEmails": ["billing@example.com"],
            "telephone": "001122334455",
            "url": "https://example.com/",
            "label": "Example Customer",
            "taxStatus": "TAXED",
            "customerAliases": [],
            "integrationIds": [{
                "service": "Stripe",
                "id": "cus_OCtCxqQDgu1uX9"
            }]
        }"""

SEED_002_TAX_RATE = """{
    "isPublished": true,
    "name": "UK Sales Tax",
    "invoiceName": "Value Added Tax",
    "invoiceShortName": "VAT",
    "description": "Value Added Tax applied to sales in the UK",
    "amount": "0.2",
    "country": "GB"
}"""

# Seed 003: the same body creates a child and, on PUT, moves an existing customer under it.
SEED_003_CHILD = """{
"parentId": "0347cfb1-d6c3-4c1e-a5b6-f2a83553e70d",
"address": {
"line1": "Credit Now",
"line2": "3180 18th St",
"town": "San Francisco",
"postCode": "94110",
"country": "US"
},
"legalName": "Sam Lawford",
"contactName": "Sam Lawford",
"email": "billing@creditnow.com",
"telephone": "02010001000",
"paymentReference": "John halls",
"label": "First US customer"
}"""

SEED_PARENT_ID = "0347cfb1-d6c3-4c1e-a5b6-f2a83553e70d"

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def send(api: ApiClient, method: str, url: str, body: str) -> dict[str, object]:
    response = api.request(method, url, content=body.encode(), headers=JSON_HEADERS)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def test_seed_002_product(api: ApiClient) -> None:
    product = send(api, "POST", "/api/products", SEED_002_PRODUCT)
    assert {"id", "createdAt", "updatedAt"} <= product.keys()
    assert product["name"] == product["label"] == "Example product"


def test_seed_002_customer(api: ApiClient) -> None:
    customer = send(api, "POST", "/api/customers", SEED_002_CUSTOMER)
    # The fields of Sequence's example response, with its values.
    assert customer["legalName"] == customer["contactName"] == "John Doe"
    assert customer["address"] == json.loads(SEED_002_CUSTOMER)["address"]
    assert customer["email"] == "john@example.com"
    assert customer["billingEmails"] == ["billing@example.com"]
    assert customer["telephone"] == "001122334455"
    assert customer["url"] == "https://example.com/"
    assert customer["taxStatus"] == "TAXED"
    assert customer["label"] == "Example Customer"
    assert customer["integrationIds"] == [
        {"service": "Stripe", "id": "cus_OCtCxqQDgu1uX9", "isPending": False}
    ]
    assert {"id", "createdAt", "sequenceAccountId"} <= customer.keys()
    # The older contact fields became contacts, the first one the primary billing contact.
    assert [(c["email"], c["billingPreference"]) for c in customer["contacts"]] == [  # type: ignore[attr-defined]
        ("john@example.com", "PRIMARY"),
        ("billing@example.com", "STANDARD"),
    ]
    # Seed 002 then sends seat events with the customer id as the alias.
    by_alias = api.get(f"/api/customers/by-alias/{customer['id']}")
    assert by_alias.json()["id"] == customer["id"]


def test_seed_002_tax_rate(api: ApiClient) -> None:
    tax_rate = send(api, "POST", "/api/tax-rates", SEED_002_TAX_RATE)
    expected = json.loads(SEED_002_TAX_RATE)
    assert {key: tax_rate[key] for key in expected} == expected
    assert tax_rate["version"] == 0
    assert tax_rate["isArchived"] is False
    assert {"id", "versionId", "sequenceAccountId"} <= tax_rate.keys()


def test_seed_003_create_a_child_then_move_a_customer_under_the_parent(api: ApiClient) -> None:
    parent = send(api, "POST", "/api/customers", SEED_002_CUSTOMER)
    body = SEED_003_CHILD.replace(SEED_PARENT_ID, str(parent["id"]))

    child = send(api, "POST", "/api/customers", body)
    assert child["parentId"] == parent["id"]
    assert child["address"]["postcode"] == "94110"  # type: ignore[index]
    assert child["taxStatus"] == "TAXED"
    assert child["email"] == "billing@creditnow.com"

    other = send(api, "POST", "/api/customers", SEED_002_CUSTOMER.replace("John Doe", "Jane Roe"))
    moved = send(api, "PUT", f"/api/customers/{other['id']}", body)
    assert moved["parentId"] == parent["id"]
    assert moved["legalName"] == "Sam Lawford"

    # "To see what child accounts are associated with a parent, view the customer."
    seen = api.get(f"/api/customers/{parent['id']}").json()
    assert {c["id"] for c in seen["children"]} == {child["id"], other["id"]}
    organization = seen["organizations"][0]
    assert organization["owner"]["id"] == parent["id"]
    assert {m["id"] for m in organization["members"]} == {child["id"], other["id"]}
