"""Seeds 001, 002 and 003 walked through a client generated from Sequence's published schema
(openapi-python-client), with strict status handling: an answer the schema does not document
raises, and every answer is parsed into the generator's typed models.

Request bodies are the seeds' own, read into the generated request models; where the seed's
example omits a field the 2024-07-30 schema requires (a customer's `contacts`, a schedule's
`autoIssueInvoices`, a seat price's `tiers`, a line's `externalIds`), the model gets it as a
client written against the schema would send it.
"""

import base64
import importlib
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.exceptions import Conflict
from tests.support.generated_client import PACKAGE, load
from tests.test_seeds import SEED_002_CUSTOMER, SEED_002_PRODUCT, SEED_002_TAX_RATE

BASE_URL = "http://testserver/api"
GENERATED_CLIENTS = Path(__file__).resolve().parents[1] / "var" / "sequence-client"


@pytest.fixture(scope="session")
def sequence_client() -> ModuleType:
    # One directory for every test process, both databases' passes included: generated once.
    return load(GENERATED_CLIENTS)


class Sequence:
    """The generated client as the test's account: `call("customers.post_customers", ...)`."""

    def __init__(self, package: ModuleType, http: TestClient, credentials: Credentials) -> None:
        self.models = importlib.import_module(f"{PACKAGE}.models")
        self.errors = importlib.import_module(f"{PACKAGE}.errors")
        self.client = package.Client(base_url=BASE_URL, raise_on_unexpected_status=True)
        self.client.set_httpx_client(http)
        secret = f"{credentials.api_key}:{credentials.api_secret}".encode()
        self.authorization = "Basic " + base64.b64encode(secret).decode()

    def detailed(self, operation: str, **arguments: Any) -> Any:
        module = importlib.import_module(f"{PACKAGE}.api.{operation}")
        return module.sync_detailed(
            client=self.client, authorization=self.authorization, **arguments
        )

    def call(self, operation: str, **arguments: Any) -> Any:
        response = self.detailed(operation, **arguments)
        assert response.status_code in (200, 201), response.content
        return response.parsed

    def refusal_status(self, operation: str, **arguments: Any) -> int:
        """The status of a refused request: documented (400) or not (strict: it raises)."""
        try:
            status = int(self.detailed(operation, **arguments).status_code)
        except self.errors.UnexpectedStatus as undocumented:
            status = undocumented.status_code
        return status


@pytest.fixture
def sequence(app: FastAPI, account: Credentials, sequence_client: ModuleType) -> Iterator[Sequence]:
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as http:
        yield Sequence(sequence_client, http, account)


def customer_request(sequence: Sequence, body: str, **fields: Any) -> Any:
    """Seed 002's customer: its contact name, email and billing emails become contacts."""
    seed = json.loads(body)
    contacts = [
        {"name": seed["contactName"], "email": seed["email"], "billingPreference": "PRIMARY"}
    ]
    contacts += [
        {"name": email, "email": email, "billingPreference": "STANDARD"}
        for email in seed["billingEmails"]
    ]
    schema_fields = {
        key: seed[key]
        for key in ("legalName", "address", "url", "label", "taxStatus", "customerAliases")
    }
    return sequence.models.CreateOrUpdateCustomerRequest.from_dict(
        {**schema_fields, "contacts": contacts, **fields}
    )


def test_seed_002_seat_billing_through_the_generated_client(
    sequence: Sequence, http: TestClient, account: Credentials
) -> None:
    models = sequence.models
    product = sequence.call(
        "products.post_products",
        body=models.Stable20240730ProductRequest.from_dict(json.loads(SEED_002_PRODUCT)),
    )
    assert product.name == product.label == "Example product"
    seat_metric = sequence.call(
        "seat_metrics.post_seat_metrics",
        body=models.CreateSeatMetricRequest.from_dict(
            {"seatType": "editor", "label": "Editor Seat"}
        ),
    )
    assert seat_metric.seat_type == "editor"
    price = sequence.call(
        "prices.post_prices",
        body=models.SeatBasedPriceRequest.from_dict(
            {
                "name": "Editor seat for ",
                "productId": product.id,
                "currency": "GBP",
                "billingFrequency": "MONTHLY",
                "billingType": "IN_ARREARS",
                "structure": {
                    "pricingType": "SEAT_BASED",
                    "seatMetricId": seat_metric.id,
                    "pricePerSeat": "15.0",
                    "prorationStrategy": "PRORATE_INCREMENTS",
                    "contractedMinimumSeats": 0,
                    "tiers": [],
                },
                "externalIds": [],
            }
        ),
    )
    assert Decimal(price.structure.price_per_seat) == Decimal("15")
    customer = sequence.call(
        "customers.post_customers", body=customer_request(sequence, SEED_002_CUSTOMER)
    )
    assert customer.legal_name == "John Doe"
    assert customer.tax_status.value == "TAXED"
    tax_rate = sequence.call(
        "tax_rates.post_tax_rates",
        body=models.CreateTaxRateRequest.from_dict(json.loads(SEED_002_TAX_RATE)),
    )
    assert Decimal(tax_rate.amount) == Decimal("0.2")

    schedule = sequence.call(
        "billing_schedules.post_billing_schedules",
        body=models.CreateBillingScheduleRequest.from_dict(
            {
                "type": "PHASES",
                "customerId": customer.id,
                "startDate": "2024-01-01",
                "endDate": "2024-12-31",
                "recurrenceDayOfMonth": 1,
                "phases": [
                    {"priceIds": [price.id], "startDate": "2024-01-01", "endDate": "2024-12-31"}
                ],
                "taxRates": [{"priceId": price.id, "taxRateId": tax_rate.id}],
                "isDraft": False,
                "rollUpBilling": True,
                "autoIssueInvoices": False,
            }
        ),
    )
    assert schedule.status.value == "ACTIVE"
    # Ten editor seats all January (the seed's event, dated at the period's start).
    event = sequence.call(
        "seat_events.post_seat_events",
        body=models.CreateSeatEventEndpointCreateSeatEventRequestModel.from_dict(
            {
                "customerEventId": "10be23bc-09a2-4078-959b-551e8a402781",
                "customerAlias": customer.id,
                "seatType": "editor",
                "eventTimestamp": "2024-01-01T00:00:00Z",
                "total": 10,
            }
        ),
    )
    assert event.total == 10

    # Billing runs on Sequence's side; Tally's extension runs it for the 1st of February.
    auth = (account.api_key, account.api_secret)
    run = http.post(f"/api/billing/execution/accounts/self/for-date/{date(2024, 2, 1)}", auth=auth)
    assert run.status_code == 200, run.text

    page = sequence.call("invoices.get_invoices")
    january = [
        invoice
        for invoice in page.items
        if invoice.billing_schedule_id == schedule.id
        and invoice.billing_period.start == "2024-01-01"
    ]
    assert len(january) == 1
    invoice = january[0]
    # The seed's invoice: 10 seats at 15.00 = 150 net, 20 % VAT = 30, 180 gross.
    assert invoice.status.value == "DRAFT"
    assert invoice.currency.value == "GBP"
    assert invoice.customer_id == customer.id
    assert invoice.billing_period.end_inclusive == "2024-01-31"
    assert (Decimal(invoice.net_total), Decimal(invoice.total_tax)) == (150, 30)
    assert Decimal(invoice.gross_total) == 180
    assert invoice.customer_legal_company_name == "John Doe"


def test_seed_001_contacts_aliases_and_archiving_through_the_generated_client(
    sequence: Sequence,
) -> None:
    models = sequence.models
    customer = sequence.call(
        "customers.post_customers",
        body=models.CreateOrUpdateCustomerRequest.from_dict(
            {
                "legalName": "Acme Ltd",
                "address": {
                    "line1": "1 High Street",
                    "town": "London",
                    "postcode": "E1 6AN",
                    "country": "GB",
                },
                "taxStatus": "TAXED",
                "contacts": [
                    {"name": "Ann", "email": "ann@acme.example", "billingPreference": "STANDARD"}
                ],
            }
        ),
    )
    # The contact given on creation is the primary billing contact.
    assert [(c.email, c.billing_preference.value) for c in customer.contacts] == [
        ("ann@acme.example", "PRIMARY")
    ]
    bob = sequence.call(
        "contacts.post_customers_by_customer_contacts",
        customer=customer.id,
        body=models.ContactRequestModel.from_dict(
            {"name": "Bob", "email": "bob@acme.example", "billingPreference": "STANDARD"}
        ),
    )
    sequence.call(
        "contacts.put_customers_by_customer_contacts_by_id",
        customer=customer.id,
        id=bob.id,
        body=models.ContactRequestModel.from_dict(
            {"name": "Bob", "email": "bob@acme.example", "billingPreference": "PRIMARY"}
        ),
    )
    contacts = sequence.call("contacts.get_customers_by_customer_contacts", customer=customer.id)
    primary = [c.email for c in contacts.items if c.billing_preference.value == "PRIMARY"]
    assert primary == ["bob@acme.example"]

    # Aliases: the customer is found by its own identifier, and each alias is globally unique.
    alias = sequence.call(
        "customer_aliases.post_customer_aliases",
        body=models.CreateCustomerAliasRequestModel.from_dict(
            {"customerId": customer.id, "value": "acme-42"}
        ),
    )
    assert alias.value == "acme-42"
    found = sequence.call("customer_aliases.get_customers_by_alias_by_alias", alias="acme-42")
    assert found.id == customer.id
    other = sequence.call(
        "customers.post_customers", body=customer_request(sequence, SEED_002_CUSTOMER)
    )
    duplicate = models.CreateCustomerAliasRequestModel.from_dict(
        {"customerId": other.id, "value": "acme-42"}
    )
    status = sequence.refusal_status("customer_aliases.post_customer_aliases", body=duplicate)
    assert status == Conflict.status_code

    # Archiving: draft invoices are voided, finalized ones remain.
    def invoice() -> Any:
        return sequence.call(
            "invoices.post_invoices",
            body=models.Stable20240101CreateInvoiceRequest.from_dict(
                {"currency": "GBP", "customerId": customer.id}
            ),
        )

    draft, issued = invoice(), invoice()
    sequence.call(
        "invoice_line_items.post_invoices_by_invoice_line_items",
        invoice=issued.id,
        body=models.Stable20240101CreateOrUpdateLineItem.from_dict(
            {
                "title": "Setup",
                "quantity": "1",
                "rate": "50.00",
                "taxRate": "0.2",
                "externalIds": [],
            }
        ),
    )
    sequence.call("invoices.post_invoices_by_id_finalize", id=issued.id)

    archived = sequence.call("customers.post_customers_by_id_archive", id=customer.id)
    assert archived.archived_at
    assert sequence.call("invoices.get_invoices_by_id", id=draft.id).status.value == "VOIDED"
    assert sequence.call("invoices.get_invoices_by_id", id=issued.id).status.value == "FINAL"


def test_seed_003_parent_and_children_through_the_generated_client(sequence: Sequence) -> None:
    parent = sequence.call(
        "customers.post_customers", body=customer_request(sequence, SEED_002_CUSTOMER)
    )
    child_fields = {
        "parentId": parent.id,
        "address": {
            "line1": "Credit Now",
            "line2": "3180 18th St",
            "town": "San Francisco",
            "postcode": "94110",
            "country": "US",
        },
        "legalName": "Sam Lawford",
        "taxStatus": "TAXED",
        "label": "First US customer",
        "contacts": [
            {
                "name": "Sam Lawford",
                "email": "billing@creditnow.com",
                "billingPreference": "PRIMARY",
            }
        ],
    }
    body = sequence.models.CreateOrUpdateCustomerRequest.from_dict(child_fields)
    child = sequence.call("customers.post_customers", body=body)
    assert child.additional_properties["parentId"] == parent.id
    assert child.address.postcode == "94110"

    other = sequence.call(
        "customers.post_customers",
        body=customer_request(sequence, SEED_002_CUSTOMER.replace("John Doe", "Jane Roe")),
    )
    moved = sequence.call("customers.put_customers_by_id", id=other.id, body=body)
    assert moved.legal_name == "Sam Lawford"

    # The parent's view shows its children, in one organization the parent owns.
    seen = sequence.call("customers.get_customers_by_id", id=parent.id)
    organization = seen.organizations[0]
    assert organization.owner.id == parent.id
    assert {member.id for member in organization.members} == {child.id, other.id}
