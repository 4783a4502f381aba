"""GET /api/invoices/list-summary, and the list filters netTotal, excludeNetTotal,
excludeZeroQuantity and sortBy (on /invoices and /invoices/list-summary alike)."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tally.accounts.service import Credentials
from tally.db import Database
from tests.factories import new_customer
from tests.invoices.helpers import LineSpec, insert_invoice
from tests.invoices.states import ok
from tests.support.api_client import ApiClient

D = Decimal
LISTS = ["/api/invoices", "/api/invoices/list-summary"]


def one_line(quantity: str, net: str) -> list[LineSpec]:
    value = D(net)
    return [LineSpec(0, None, "Usage", D(quantity), D("1"), D("0"), value, D(0), value)]


def invoice(
    database: Database,
    account: Credentials,
    customer: dict[str, Any],
    net: str,
    quantity: str = "1",
    **columns: Any,
) -> str:
    return insert_invoice(
        database,
        account.account_id,
        customer,
        groups=[],
        lines=one_line(quantity, net),
        net_total=D(net),
        total_tax=D(0),
        gross_total=D(net),
        **columns,
    )


def ids(api: ApiClient, url: str, **params: Any) -> list[str]:
    return [item["id"] for item in ok(api.get(url, params=params))["items"]]


def test_the_summary_lists_the_fields_of_an_invoice_table(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api, "Acme Widgets Ltd")
    invoice_id = invoice(database, account, customer, "1234.50", currency="EUR")
    page = ok(api.get("/api/invoices/list-summary"))
    assert page["pagination"]["totalResultSize"] == 1
    [item] = page["items"]
    assert item == {
        "id": invoice_id,
        "status": "DRAFT",
        "paymentStatus": "UNPAID",
        "currency": "EUR",
        "grossTotal": "1234.50",
        "customerId": customer["id"],
        "customerLegalCompanyName": "Acme Widgets Ltd",
        "billingPeriod": {"start": "2024-05-01", "endInclusive": "2024-05-31"},
        "dueDate": "2024-07-01",
        "dueDateSource": "CALCULATED",
        "accountingDate": "2024-05-31",
        "links": [],
    }


def test_the_summary_pages_and_filters_like_the_list(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    made = [invoice(database, account, customer, str(10 + i)) for i in range(5)]
    sent = invoice(database, account, customer, "99", status="SENT", invoice_number="INV9")
    first = ok(api.get("/api/invoices/list-summary", params={"limit": 3}))
    assert [item["id"] for item in first["items"]] == [sent, *made[::-1][:2]]
    after = first["pagination"]["after"]
    rest = ids(api, "/api/invoices/list-summary", limit=3, after=after)
    assert rest == made[::-1][2:]
    assert ids(api, "/api/invoices/list-summary", invoiceStatus="SENT") == [sent]
    assert ids(api, "/api/invoices/list-summary", search="inv9") == [sent]


@pytest.mark.parametrize("url", LISTS)
def test_net_total_filters_compare_exact_amounts(
    url: str, api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    hundred = invoice(database, account, customer, "100.00")
    other = invoice(database, account, customer, "100.01")
    big = invoice(database, account, customer, "12345678901234.57")
    assert ids(api, url, netTotal="100") == [hundred]
    assert ids(api, url, netTotal="100.010") == [other]
    assert ids(api, url, netTotal="12345678901234.57") == [big]
    assert ids(api, url, excludeNetTotal="100.00") == [big, other]
    assert ids(api, url, netTotal="7") == []


@pytest.mark.parametrize("url", LISTS)
def test_exclude_zero_quantity_leaves_out_invoices_with_nothing_billed(
    url: str, api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    zero = invoice(database, account, customer, "0", quantity="0.000")
    empty = insert_invoice(database, account.account_id, customer, groups=[], lines=[])
    used = invoice(database, account, customer, "5", quantity="0.5")
    assert set(ids(api, url)) == {zero, empty, used}
    assert ids(api, url, excludeZeroQuantity="true") == [used]
    assert set(ids(api, url, excludeZeroQuantity="false")) == {zero, empty, used}


def test_the_summary_endpoint_takes_the_amount_filters(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    invoice(database, account, customer, "100.00")
    invoice(database, account, customer, "0", quantity="0")
    totals = ok(api.get("/api/invoices/summary", params={"netTotal": "100"}))
    assert totals["totalsByCurrency"] == [{"currency": "GBP", "invoiceCount": 1, "grossTotal": 100}]
    totals = ok(api.get("/api/invoices/summary", params={"excludeZeroQuantity": "true"}))
    assert totals["totalsByCurrency"][0]["invoiceCount"] == 1


@pytest.mark.parametrize("url", LISTS)
def test_sort_by_orders_the_list_and_pages_through_it(
    url: str, api: ApiClient, database: Database, account: Credentials
) -> None:
    names = ["Zeta Ltd", "Alpha Ltd", "Mid Ltd"]
    customers = [new_customer(api, name) for name in names]
    nets = ["9.50", "10.00", "-2.00", "100.00"]
    dues = [date(2024, 7, 3), None, date(2024, 7, 1), date(2024, 7, 2)]
    made = [
        invoice(
            database,
            account,
            customers[i % 3],
            net,
            due_date=dues[i],
            accounting_date=date(2024, 5, 10 + (3 - i)),
        )
        for i, net in enumerate(nets)
    ]
    by_total = ids(api, url, sortBy="GROSS_TOTAL", sortOrder="ASC")
    assert by_total == [made[2], made[0], made[1], made[3]]
    assert ids(api, url, sortBy="gross_total") == by_total[::-1]
    assert ids(api, url, sortBy="DUE_DATE", sortOrder="ASC") == [made[2], made[3], made[0], made[1]]
    assert ids(api, url, sortBy="ACCOUNTING_DATE", sortOrder="ASC") == made[::-1]
    by_name = ids(api, url, sortBy="CUSTOMER_LEGAL_COMPANY_NAME", sortOrder="ASC")
    assert by_name == [made[1], made[2], made[0], made[3]]  # Alpha, Mid, Zeta (ties by id)
    # Pages in the sort's order.
    first = ok(api.get(url, params={"sortBy": "GROSS_TOTAL", "sortOrder": "ASC", "limit": 2}))
    after = first["pagination"]["after"]
    second = ids(api, url, sortBy="GROSS_TOTAL", sortOrder="ASC", limit=2, after=after)
    assert [item["id"] for item in first["items"]] + second == by_total
    # No issue date yet on any: ties, by creation.
    assert ids(api, url, sortBy="ISSUE_DATE", sortOrder="ASC") == made


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    "params",
    [
        {"sortBy": "AMOUNT"},
        {"netTotal": "lots"},
        {"excludeNetTotal": "NaN"},
        {"excludeZeroQuantity": "maybe"},
        {"sortOrder": "UP"},
        {"notAFilter": "1"},
    ],
    ids=lambda params: next(iter(params)),
)
def test_bad_parameters_are_400_naming_them(
    url: str, params: dict[str, str], api: ApiClient
) -> None:
    response = api.get(url, params=params)
    assert response.status_code == 400, response.text
    assert next(iter(params)) in response.text


def test_another_accounts_invoices_are_not_listed(
    api: ApiClient, other_api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice(database, account, new_customer(api), "10")
    assert ok(other_api.get("/api/invoices/list-summary"))["items"] == []
