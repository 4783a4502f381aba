"""GET /api/invoices: Sequence's filters and their `exclude*` twins, bad values, pagination."""

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import InvoiceStatus, PaymentStatus
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.schedules.helpers import Setup
from tests.support.api_client import ApiClient
from tests.support.paging import walk


@dataclass
class Invoices:
    """Five invoices of two customers, created a to e (so listed e to a)."""

    first_customer: str
    second_customer: str
    first_schedule: str
    second_schedule: str
    a: str  # first customer, DRAFT, GBP, due 2024-03-02, not issued
    b: str  # first customer, SENT and PAID, GBP, INV-0001, issued 2024-03-01
    c: str  # second customer, FINAL, EUR, INV-0002, issued 2024-04-02, due 2024-05-02
    d: str  # second customer, one-off (no schedule), VOIDED, USD, XYZ-0003
    e: str  # first customer, IN_PROGRESS, GBP, not issued


@pytest.fixture
def invoices(api: ApiClient, database: Database, account: Credentials) -> Invoices:
    first, second = new_customer(api, "First Ltd"), new_customer(api, "Second Ltd")
    setup = Setup(api)
    setup.customer_id = first["id"]
    first_schedule = setup.create()["id"]
    setup.customer_id = second["id"]
    second_schedule = setup.create()["id"]

    def invoice(customer: dict[str, Any], **columns: Any) -> str:
        return insert_invoice(database, account.account_id, customer, **columns)

    return Invoices(
        first_customer=first["id"],
        second_customer=second["id"],
        first_schedule=first_schedule,
        second_schedule=second_schedule,
        a=invoice(
            first,
            billing_schedule_id=first_schedule,
            status=InvoiceStatus.DRAFT,
            invoice_date=date(2024, 2, 1),
            due_date=date(2024, 3, 2),
        ),
        b=invoice(
            first,
            billing_schedule_id=first_schedule,
            status=InvoiceStatus.SENT,
            payment_status=PaymentStatus.PAID,
            invoice_number="INV-0001",
            invoice_date=date(2024, 3, 1),
            issue_date=date(2024, 3, 1),
            due_date=date(2024, 3, 31),
        ),
        c=invoice(
            second,
            billing_schedule_id=second_schedule,
            status=InvoiceStatus.FINAL,
            currency="EUR",
            invoice_number="INV-0002",
            invoice_date=date(2024, 4, 1),
            issue_date=date(2024, 4, 2),
            due_date=date(2024, 5, 2),
        ),
        d=invoice(
            second,
            status=InvoiceStatus.VOIDED,
            payment_status=PaymentStatus.UNCOLLECTIBLE,
            currency="USD",
            invoice_number="XYZ-0003",
            invoice_date=date(2024, 5, 1),
            issue_date=date(2024, 5, 1),
            due_date=date(2024, 5, 31),
        ),
        e=invoice(
            first,
            billing_schedule_id=first_schedule,
            status=InvoiceStatus.IN_PROGRESS,
            invoice_date=date(2024, 6, 1),
            due_date=date(2024, 7, 1),
        ),
    )


def found(api: ApiClient, **params: Any) -> list[str]:
    response = api.get("/api/invoices", params=params)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["pagination"]["totalResultSize"] == len(page["items"])
    return [item["id"] for item in page["items"]]


def test_newest_first_and_pages(api: ApiClient, invoices: Invoices) -> None:
    i = invoices
    assert found(api) == [i.e, i.d, i.c, i.b, i.a]
    ids, pages = walk(api, "/api/invoices", limit=2)
    assert ids == [i.e, i.d, i.c, i.b, i.a]
    assert [p["pagination"]["totalResultSize"] for p in pages] == [5, 5, 5]
    assert walk(api, "/api/invoices", limit=3, sort_order="ASC")[0] == [i.a, i.b, i.c, i.d, i.e]
    second = api.get(
        "/api/invoices", params={"limit": 2, "after": pages[0]["pagination"].get("after")}
    )
    back = api.get(
        "/api/invoices", params={"limit": 2, "before": second.json()["pagination"].get("before")}
    )
    assert back.json()["items"] == pages[0]["items"]


def test_status_filters(api: ApiClient, invoices: Invoices) -> None:
    i = invoices
    assert found(api, invoiceStatus="DRAFT") == [i.a]
    assert found(api, invoiceStatus="draft, SENT") == [i.b, i.a]
    assert found(api, excludeInvoiceStatus="DRAFT,IN_PROGRESS") == [i.d, i.c, i.b]
    assert found(api, invoiceStatus="DRAFT,SENT", excludeInvoiceStatus="SENT") == [i.a]

    assert found(api, invoicePaymentStatus="PAID") == [i.b]
    assert found(api, invoicePaymentStatus="PAID,UNCOLLECTIBLE") == [i.d, i.b]
    assert found(api, invoicePaymentStatus="PARTIALLY_PAID") == []
    assert found(api, excludeInvoicePaymentStatus="UNPAID") == [i.d, i.b]


def test_customer_schedule_and_currency_filters(api: ApiClient, invoices: Invoices) -> None:
    i = invoices
    assert found(api, customerId=i.first_customer) == [i.e, i.b, i.a]
    assert found(api, customerId=f"{i.first_customer},{i.second_customer}") == found(api)
    assert found(api, customerId="nobody") == []
    assert found(api, excludeCustomerId=i.first_customer) == [i.d, i.c]
    assert found(api, excludeCustomerId=f"{i.first_customer},{i.second_customer}") == []

    assert found(api, billingScheduleId=i.second_schedule) == [i.c]
    assert found(api, billingScheduleId=f"{i.first_schedule},{i.second_schedule}") == [
        i.e,
        i.c,
        i.b,
        i.a,
    ]
    # The one-off invoice has no schedule, so not an excluded one.
    assert found(api, excludeBillingScheduleId=i.first_schedule) == [i.d, i.c]

    assert found(api, invoiceCurrency="GBP") == [i.e, i.b, i.a]
    assert found(api, invoiceCurrency="EUR,usd") == [i.d, i.c]
    assert found(api, invoiceCurrency="JPY") == []
    assert found(api, excludeInvoiceCurrency="GBP") == [i.d, i.c]
    assert found(api, excludeInvoiceCurrency="GBP,EUR,USD") == []

    assert found(api, customerId=i.first_customer, invoiceStatus="SENT") == [i.b]


def test_date_filters(api: ApiClient, invoices: Invoices) -> None:
    """Before and after are strict; an invoice not issued yet has no sent date to compare."""
    i = invoices
    assert found(api, dueBefore="2024-05-02") == [i.b, i.a]
    assert found(api, dueBefore="2024-05-03") == [i.c, i.b, i.a]
    assert found(api, dueAfter="2024-05-02") == [i.e, i.d]
    assert found(api, dueAfter="2024-03-02", dueBefore="2024-05-31") == [i.c, i.b]

    assert found(api, invoiceBefore="2024-03-01") == [i.a]
    assert found(api, invoiceAfter="2024-04-01") == [i.e, i.d]
    assert found(api, invoiceAfter="2024-02-01", invoiceBefore="2024-05-01") == [i.c, i.b]

    assert found(api, sentBefore="2024-04-02") == [i.b]
    assert found(api, sentAfter="2024-03-01") == [i.d, i.c]
    assert found(api, sentAfter="2024-01-01") == [i.d, i.c, i.b]


def test_number_filters(api: ApiClient, invoices: Invoices) -> None:
    i = invoices
    assert found(api, invoiceNumber="INV-0002") == [i.c]
    assert found(api, invoiceNumber="inv-0002") == []  # exact
    assert found(api, invoiceNumber="INV") == []
    assert found(api, search="inv") == [i.c, i.b]
    assert found(api, search="0003") == [i.d]
    assert found(api, search="-") == [i.d, i.c, i.b]
    assert found(api, search="%") == []  # a literal percent sign, not a wildcard
    assert found(api, search="_") == []
    assert found(api, search="INV", excludeInvoiceStatus="FINAL") == [i.b]
    # Invoices without a number have none of the excluded ones.
    assert found(api, excludeInvoiceNumber="INV-0001,XYZ-0003") == [i.e, i.c, i.a]


def test_filters_stay_within_the_account(
    other_api: ApiClient, api: ApiClient, invoices: Invoices
) -> None:
    assert found(other_api) == []
    assert found(other_api, customerId=invoices.first_customer) == []
    assert found(other_api, billingScheduleId=invoices.first_schedule) == []
    assert found(other_api, invoiceNumber="INV-0001") == []
    assert len(found(api)) == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"invoiceStatus": "PAID"}, "invoiceStatus"),
        ({"invoiceStatus": "DRAFT,ISSUED"}, "invoiceStatus"),
        ({"excludeInvoiceStatus": "OPEN"}, "excludeInvoiceStatus"),
        ({"invoicePaymentStatus": "SENT"}, "invoicePaymentStatus"),
        ({"excludeInvoicePaymentStatus": "REFUNDED"}, "excludeInvoicePaymentStatus"),
        ({"invoiceCurrency": "GBP,XYZ"}, "invoiceCurrency"),
        ({"excludeInvoiceCurrency": "pounds"}, "excludeInvoiceCurrency"),
        ({"dueBefore": "01/02/2024"}, "dueBefore"),
        ({"dueAfter": "tomorrow"}, "dueAfter"),
        ({"invoiceBefore": "2024-02-30"}, "invoiceBefore"),
        ({"invoiceAfter": "2024-13-01"}, "invoiceAfter"),
        ({"sentBefore": "2024-1-1x"}, "sentBefore"),
        ({"sentAfter": ""}, "sentAfter"),
        ({"limit": "0"}, "limit"),
        ({"sortOrder": "NEWEST"}, "sortOrder"),
    ],
)
def test_invalid_filters(api: ApiClient, params: dict[str, str], field: str) -> None:
    response = api.get("/api/invoices", params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "ValidationError"
    assert error["details"][0]["field"] == field


@pytest.mark.parametrize(
    "params",
    [
        {"sortBy": "GROSS_TOTAL"},
        {"netTotal": "225.00"},
        {"excludeNetTotal": "0"},
        {"excludeZeroQuantity": "true"},
    ],
)
def test_filters_not_supported_yet_are_refused_not_ignored(
    api: ApiClient, params: dict[str, str]
) -> None:
    response = api.get("/api/invoices", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"][0]["field"] == next(iter(params))
    assert found(api, excludeZeroQuantity="false") == []


def test_a_bad_cursor_is_a_400(api: ApiClient) -> None:
    response = api.get("/api/invoices", params={"after": "not a cursor"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "BadRequest"
