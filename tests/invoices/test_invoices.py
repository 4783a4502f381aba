"""GET /api/invoices/{id}, its line items and line item groups: Sequence's shapes, amounts in
the currency's minor unit, index order, and other accounts' invoices out of sight."""

from datetime import date
from typing import Any

import pytest

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import InvoiceStatus, LineKind, PaymentStatus
from tests.factories import new_customer
from tests.invoices.helpers import D, GroupSpec, LineSpec, counting_statements, insert_invoice
from tests.schedules.helpers import Setup
from tests.support.api_client import ApiClient


def ok(api: ApiClient, url: str, **params: Any) -> dict[str, Any]:
    response = api.get(url, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def customer(api: ApiClient) -> dict[str, Any]:
    return new_customer(api)


@pytest.fixture
def invoice_id(database: Database, account: Credentials, customer: dict[str, Any]) -> str:
    return insert_invoice(database, account.account_id, customer)


def test_an_invoice_in_sequence_shape(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    schedule = Setup(api).create()
    invoice_id = insert_invoice(
        database,
        account.account_id,
        customer,
        billing_schedule_id=schedule["id"],
        billing_run=True,
        status=InvoiceStatus.SENT,
        payment_status=PaymentStatus.PARTIALLY_PAID,
        invoice_number="INV00007",
        issue_date=date(2024, 6, 2),
        due_date=date(2024, 7, 2),
        purchase_order_number="PO-1",
        reference="ref-1",
        memo="Thanks",
        metadata_items=[{"key": "team", "value": "growth"}],
    )
    invoice = ok(api, f"/api/invoices/{invoice_id}")

    assert invoice["billingRunId"]
    assert {k: v for k, v in invoice.items() if k not in ("lineItems", "lineItemGroups")} == {
        "id": invoice_id,
        "sequenceAccountId": account.account_id,
        "billingScheduleId": schedule["id"],
        "billingRunId": invoice["billingRunId"],
        "status": "SENT",
        "paymentStatus": "PARTIALLY_PAID",
        "dunningStatus": "NOT_REQUIRED",
        "currency": "GBP",
        "invoiceNumber": "INV00007",
        "issueDate": "2024-06-02",
        "dueDate": "2024-07-02",
        "purchaseOrderNumber": "PO-1",
        "reference": "ref-1",
        "memo": "Thanks",
        "billingPeriod": {"start": "2024-05-01", "endInclusive": "2024-05-31"},
        "invoiceDate": "2024-06-01",
        "accountingDate": "2024-05-31",
        "customerId": customer["id"],
        "customerLegalCompanyName": "Example Ltd",
        "customerEmails": ["jane@example.com"],
        "customerBillingAddress": customer["address"],
        "customerShippingAddress": customer["address"],
        "customerTaxStatus": "TAXED",
        "isCustomerArchived": False,
        "netTotal": "225.00",
        "totalTax": "45.00",
        "grossTotal": "270.00",
        "metadata": [{"key": "team", "value": "growth"}],
        "paymentTermDays": 30,
        "dueDateSource": "CALCULATED",
        "paymentOptions": [],
        "isOverdue": True,  # SENT, partly paid, due 2024-07-02
        "renderSettings": {"paymentLinkDisplay": "SHOW_PAYMENT_LINK"},
        "integrationPaymentStatuses": {},
        "creditNoteIds": [],
        "linkedServices": [],
        "appliedCreditNotes": [],
        "appliedCreditGrants": [],
        "projectedCreditGrants": [],
        "paymentAllocations": [],
        "attachmentAssets": [],
        "createdAt": invoice["createdAt"],
        "updatedAt": invoice["updatedAt"],
    }
    assert invoice["createdAt"].endswith("Z")


def test_lines_and_groups_come_in_index_order_with_exact_amounts(
    api: ApiClient, invoice_id: str
) -> None:
    invoice = ok(api, f"/api/invoices/{invoice_id}")
    groups = invoice["lineItemGroups"]
    platform, adjustments = groups
    assert [g["index"] for g in groups] == [0, 1]
    assert platform == {
        "id": platform["id"],
        "invoiceId": invoice_id,
        "title": "Platform",
        "index": 0,
        "netTotal": "250.00",
        "totalTax": "50.00",
        "grossTotal": "300.00",
        "productId": platform["productId"],
    }
    assert "productId" not in adjustments
    assert (adjustments["title"], adjustments["netTotal"]) == ("Adjustments", "-25.00")

    lines = invoice["lineItems"]
    assert [line["index"] for line in lines] == [0, 1, 2]
    fee, calls, discount = lines
    assert fee == {
        "id": fee["id"],
        "invoiceId": invoice_id,
        "groupId": platform["id"],
        "index": 0,
        "kind": "PRICE",
        "title": "Platform fee",
        "description": "Monthly",
        "quantity": "1",
        "rate": "100.00",
        "rateDisplay": "ABSOLUTE",
        "taxRate": "0.2",
        "netTotal": "100.00",
        "totalTax": "20.00",
        "grossTotal": "120.00",
        "priceId": fee["priceId"],
        "servicePeriod": {"startDate": "2024-05-01", "endDate": "2024-05-31"},
        "servicePeriodStart": "2024-05-01T00:00:00Z",
        "servicePeriodEnd": "2024-05-31T00:00:00Z",
        "externalIds": [],
    }
    # Finer rates keep their places; quantities lose trailing zeros.
    assert (calls["quantity"], calls["rate"], calls["grossTotal"]) == ("12000", "0.0125", "180.00")
    assert calls["breakdown"] == [
        {"customerId": "child-a", "quantity": "4000"},
        {"customerId": "child-b", "quantity": "8000"},
    ]
    assert "servicePeriod" not in calls
    assert "breakdown" not in fee
    assert discount["kind"] == "DISCOUNT"
    assert discount["groupId"] == adjustments["id"]
    assert (discount["rate"], discount["rateDisplay"]) == ("0.1", "PERCENTAGE")
    assert (discount["netTotal"], discount["totalTax"], discount["grossTotal"]) == (
        "-25.00",
        "-5.00",
        "-30.00",
    )


def test_amounts_of_a_currency_without_minor_unit_have_no_decimals(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    invoice_id = insert_invoice(
        database,
        account.account_id,
        customer,
        currency="JPY",
        net_total=D("1500"),
        total_tax=D("150.0"),
        gross_total=D("1650.00"),
        groups=[GroupSpec(0, "Platform", D("1500"), D("150"), D("1650"))],
        lines=[
            LineSpec(0, 0, "Seats", D("3"), D("500"), D("0.10"), D("1500"), D("150"), D("1650")),
        ],
    )
    invoice = ok(api, f"/api/invoices/{invoice_id}")
    assert (invoice["netTotal"], invoice["totalTax"], invoice["grossTotal"]) == (
        "1500",
        "150",
        "1650",
    )
    (line,) = invoice["lineItems"]
    assert (line["quantity"], line["rate"], line["taxRate"]) == ("3", "500", "0.1")
    assert (line["netTotal"], line["totalTax"], line["grossTotal"]) == ("1500", "150", "1650")
    (group,) = ok(api, f"/api/invoices/{invoice_id}/line-item-groups")["items"]
    assert (group["netTotal"], group["grossTotal"]) == ("1500", "1650")
    listed = ok(api, "/api/invoices", invoiceCurrency="JPY")["items"]
    assert [i["grossTotal"] for i in listed] == ["1650"]


def test_an_invoice_without_period_lines_or_groups(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    invoice_id = insert_invoice(
        database,
        account.account_id,
        customer,
        status=InvoiceStatus.IN_PROGRESS,
        billing_period_start=None,
        billing_period_end=None,
        due_date=None,
        payment_term_days=None,
        net_total=D(0),
        total_tax=D("0.000"),
        gross_total=D("-0"),
        groups=[],
        lines=[],
    )
    invoice = ok(api, f"/api/invoices/{invoice_id}")
    for absent in ("billingPeriod", "dueDate", "issueDate", "invoiceNumber", "paymentTermDays"):
        assert absent not in invoice
    assert (invoice["netTotal"], invoice["totalTax"], invoice["grossTotal"]) == (
        "0.00",
        "0.00",
        "0.00",
    )
    assert (invoice["lineItems"], invoice["lineItemGroups"]) == ([], [])
    empty = {"items": [], "pagination": {"totalResultSize": 0}}
    assert ok(api, f"/api/invoices/{invoice_id}/line-items") == empty
    assert ok(api, f"/api/invoices/{invoice_id}/line-item-groups") == empty


def test_an_archived_customer_is_flagged_on_its_invoices(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    other = new_customer(api, "Other Ltd")
    archived_invoice = insert_invoice(database, account.account_id, customer)
    live_invoice = insert_invoice(database, account.account_id, other)
    assert api.post(f"/api/customers/{customer['id']}/archive").status_code == 200

    assert ok(api, f"/api/invoices/{archived_invoice}")["isCustomerArchived"] is True
    assert ok(api, f"/api/invoices/{live_invoice}")["isCustomerArchived"] is False
    flags = {i["id"]: i["isCustomerArchived"] for i in ok(api, "/api/invoices")["items"]}
    assert flags == {archived_invoice: True, live_invoice: False}


def many_lines(count: int) -> tuple[list[GroupSpec], list[LineSpec]]:
    """`count` lines in two groups, inserted last index first."""
    groups = [
        GroupSpec(1, "Second", D(count), D(0), D(count)),
        GroupSpec(0, "First", D(0), D(0), D(0)),
    ]
    lines = [
        LineSpec(i, i % 2, f"Line {i}", D(1), D(1), D(0), D(1), D(0), D(1), kind=LineKind.MANUAL)
        for i in reversed(range(count))
    ]
    return groups, lines


def walk(api: ApiClient, url: str, limit: int, sort_order: str | None = None) -> list[int]:
    """Every page's indexes, following `after`; then back again with `before`."""
    params: dict[str, Any] = {"limit": limit}
    if sort_order:
        params["sortOrder"] = sort_order
    pages = [ok(api, url, **params)]
    while pages[-1]["pagination"].get("after"):
        pages.append(ok(api, url, **params, after=pages[-1]["pagination"].get("after")))
    assert {p["pagination"]["totalResultSize"] for p in pages} == {
        sum(len(p["items"]) for p in pages)
    }
    forward = [item["index"] for p in pages for item in p["items"]]
    back = [item["index"] for item in pages[-1]["items"]]
    cursor = pages[-1]["pagination"].get("before")
    while cursor:
        previous = ok(api, url, **params, before=cursor)
        back = [item["index"] for item in previous["items"]] + back
        cursor = previous["pagination"].get("before")
    assert back == forward
    return forward


def test_line_items_and_groups_page_in_index_order(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    groups, lines = many_lines(7)
    invoice_id = insert_invoice(database, account.account_id, customer, groups=groups, lines=lines)
    url = f"/api/invoices/{invoice_id}/line-items"
    for limit in (1, 3, 7, 100):
        assert walk(api, url, limit) == list(range(7))
        assert walk(api, url, limit, "DESC") == list(reversed(range(7)))
    assert walk(api, f"/api/invoices/{invoice_id}/line-item-groups", 1) == [0, 1]

    page = ok(api, url, limit=3)
    assert page["items"] == ok(api, f"/api/invoices/{invoice_id}")["lineItems"][:3]
    assert all(item["kind"] == "MANUAL" for item in page["items"])


def test_a_cursor_of_another_list_is_refused(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    first = insert_invoice(database, account.account_id, customer)
    second = insert_invoice(database, account.account_id, customer)
    cursor = ok(api, f"/api/invoices/{first}/line-items", limit=1)["pagination"].get("after")
    response = api.get(f"/api/invoices/{second}/line-items", params={"after": cursor})
    assert response.status_code == 400, response.text
    assert api.get(f"/api/invoices/{first}/line-items", params={"after": "%%"}).status_code == 400
    both = api.get(f"/api/invoices/{first}/line-items", params={"after": cursor, "before": cursor})
    assert both.status_code == 400


def test_unknown_and_foreign_invoices_are_404(
    api: ApiClient, other_api: ApiClient, invoice_id: str
) -> None:
    for client, id_ in (
        (other_api, invoice_id),
        (api, "01900000-0000-7000-8000-000000000000"),
        (api, "not-an-id"),
    ):
        for url in (
            f"/api/invoices/{id_}",
            f"/api/invoices/{id_}/line-items",
            f"/api/invoices/{id_}/line-item-groups",
        ):
            response = client.get(url)
            assert response.status_code == 404, f"{url}: {response.text}"
            assert response.json()["error"]["type"] == "NotFound"
    assert ok(other_api, "/api/invoices")["items"] == []
    assert ok(api, "/api/invoices")["pagination"]["totalResultSize"] == 1


def test_reading_costs_a_fixed_number_of_queries(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    """However many invoices, customers, lines and groups."""
    customers = [new_customer(api, f"Customer {n}") for n in range(4)]

    def cost(url: str) -> int:
        paged = not url.rstrip("/").split("/")[-1].startswith("0")  # lists take `limit`
        with counting_statements(database) as statements:
            ok(api, url, **({"limit": 100} if paged else {}))
        return len(statements)

    first = insert_invoice(database, account.account_id, customers[0])
    few = {
        "list": cost("/api/invoices"),
        "get": cost(f"/api/invoices/{first}"),
        "lines": cost(f"/api/invoices/{first}/line-items"),
        "groups": cost(f"/api/invoices/{first}/line-item-groups"),
    }
    groups, lines = many_lines(12)
    for customer in customers:
        last = insert_invoice(database, account.account_id, customer, groups=groups, lines=lines)
    assert api.post(f"/api/customers/{customers[1]['id']}/archive").status_code == 200
    assert len(ok(api, "/api/invoices")["items"]) == 5
    many = {
        "list": cost("/api/invoices"),
        "get": cost(f"/api/invoices/{last}"),
        "lines": cost(f"/api/invoices/{last}/line-items"),
        "groups": cost(f"/api/invoices/{last}/line-item-groups"),
    }
    assert many == few
