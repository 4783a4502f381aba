"""GET /api/billing-schedules: Sequence's filters, pagination, and bulk loading."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tally.db import Database
from tests.factories import new_customer_id
from tests.schedules.helpers import Setup, new_tax_rate, ok, phase
from tests.support.api_client import ApiClient
from tests.support.paging import walk


class Schedules:
    """Four schedules of two customers; the last archived."""

    def __init__(self, api: ApiClient) -> None:
        setup = Setup(api)
        self.first_customer = setup.customer_id
        self.second_customer = new_customer_id(api, "Second Ltd")
        self.a = setup.create(
            end="2024-06-30",
            recurrenceDayOfMonth=1,
            label="Alpha Plan",
            autoIssueInvoices=True,
            phases=[phase([setup.price_id], "2024-01-01", "2024-06-30")],
        )["id"]
        self.b = setup.create(start="2024-03-15", end=None, label="Beta 100%", isDraft=True)["id"]
        setup.customer_id = self.second_customer
        self.c = setup.create(start="2024-07-01", end="2024-12-31", recurrenceDayOfMonth=1)["id"]
        self.d = setup.create(start="2025-01-01", end=None, recurrenceDayOfMonth=28)["id"]
        ok(api.post(f"/api/billing-schedules/{self.d}/archive"))


@pytest.fixture
def schedules(api: ApiClient) -> Schedules:
    return Schedules(api)


def found(api: ApiClient, **params: Any) -> list[str]:
    page = ok(api.get("/api/billing-schedules", params=params))
    assert page["pagination"]["totalResultSize"] == len(page["items"])
    return [item["id"] for item in page["items"]]


def test_the_default_list_leaves_archived_schedules_out(
    api: ApiClient, schedules: Schedules
) -> None:
    s = schedules
    assert found(api) == [s.c, s.b, s.a]  # newest first
    assert found(api, includeArchivedSchedules="true") == [s.d, s.c, s.b, s.a]
    assert found(api, includeArchivedSchedules="false") == [s.c, s.b, s.a]


def test_filters(api: ApiClient, schedules: Schedules) -> None:
    s = schedules
    assert found(api, customerId=s.first_customer) == [s.b, s.a]
    assert found(api, customerId=s.second_customer, includeArchivedSchedules="true") == [s.d, s.c]
    assert found(api, customerId="nobody") == []

    assert found(api, billingScheduleStatus="DRAFT") == [s.b]
    assert found(api, billingScheduleStatus="draft") == [s.b]
    assert found(api, billingScheduleStatus="ACTIVE,DRAFT") == [s.c, s.b, s.a]
    assert found(api, billingScheduleStatus="CANCELLED") == []
    assert found(api, billingScheduleStatus="CANCELLED", includeArchivedSchedules="true") == [s.d]

    assert found(api, autoSendInvoices="true") == [s.a]
    assert found(api, autoSendInvoices="false") == [s.c, s.b]

    assert found(api, label="alpha") == [s.a]
    assert found(api, label="%") == [s.b]  # a literal percent sign, not a wildcard
    assert found(api, label="_") == []
    assert found(api, label="plan", customerId=s.second_customer) == []

    assert found(api, recurrenceDayOfMonth="15") == [s.b]
    assert found(api, recurrenceDayOfMonth="1,15") == [s.c, s.b, s.a]
    assert found(api, recurrenceDayOfMonth="28, 1", includeArchivedSchedules="true") == [
        s.d,
        s.c,
        s.a,
    ]


def test_date_filters(api: ApiClient, schedules: Schedules) -> None:
    """Before and after are strict; an open-ended schedule has no end to compare."""
    s = schedules
    assert found(api, startingBefore="2024-03-15") == [s.a]
    assert found(api, startingBefore="2024-03-16") == [s.b, s.a]
    assert found(api, startingAfter="2024-03-15") == [s.c]
    assert found(api, startingAfter="2024-01-01", startingBefore="2024-07-01") == [s.b]
    assert found(api, startingAfter="2024-03-15", includeArchivedSchedules="true") == [s.d, s.c]

    assert found(api, endingBefore="2024-12-31") == [s.a]
    assert found(api, endingBefore="2025-01-01") == [s.c, s.a]
    assert found(api, endingAfter="2024-06-30") == [s.c]
    assert found(api, endingAfter="2024-06-29", endingBefore="2024-07-01") == [s.a]
    assert found(api, endingBefore="2024-12-31", includeOpenEndedSchedules="true") == [s.b, s.a]
    assert found(api, includeOpenEndedSchedules="false") == [s.c, s.a]
    assert found(api, includeOpenEndedSchedules="true") == [s.c, s.b, s.a]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"billingScheduleStatus": "ACTIVE,FINISHED"}, "billingScheduleStatus"),
        ({"recurrenceDayOfMonth": "0"}, "recurrenceDayOfMonth"),
        ({"recurrenceDayOfMonth": "1,32"}, "recurrenceDayOfMonth"),
        ({"recurrenceDayOfMonth": "first"}, "recurrenceDayOfMonth"),
        ({"startingBefore": "01/02/2024"}, "startingBefore"),
        ({"endingAfter": "2024-02-30"}, "endingAfter"),
        ({"includeArchivedSchedules": "maybe"}, "includeArchivedSchedules"),
    ],
)
def test_invalid_filters(api: ApiClient, params: dict[str, str], field: str) -> None:
    response = api.get("/api/billing-schedules", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"][0]["field"] == field


def test_pages(api: ApiClient, schedules: Schedules) -> None:
    s = schedules
    ids, pages = walk(api, "/api/billing-schedules", limit=2)
    assert ids == [s.c, s.b, s.a]
    assert [p["pagination"]["totalResultSize"] for p in pages] == [3, 3]
    assert walk(api, "/api/billing-schedules", limit=2, sort_order="ASC")[0] == [s.a, s.b, s.c]
    assert walk(api, "/api/billing-schedules", limit=1)[0] == [s.c, s.b, s.a]


@contextmanager
def counting_statements(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


def test_a_page_loads_in_a_fixed_number_of_queries(api: ApiClient, database: Database) -> None:
    """However many schedules, phases, prices, discounts and minimums a page holds."""
    setup = Setup(api)
    tax_rate = new_tax_rate(api)
    setup.create()

    def listed() -> int:
        with counting_statements(database) as statements:
            page = ok(api.get("/api/billing-schedules", params={"limit": 100}))
        assert page["items"]
        return len(statements)

    few = listed()
    for number in range(5):
        prices = [setup.price(name=f"Price {number}-{i}") for i in range(3)]
        setup.create(
            prices,
            end=None,
            taxRates=[{"priceId": prices[0], "taxRateId": tax_rate}],
            phases=[
                phase(
                    prices[:2],
                    "2024-01-01",
                    "2024-06-30",
                    discounts=[
                        {"type": "NOMINAL", "amount": 5, "message": "Off", "separateLineItem": True}
                    ],
                    minimums=[{"amount": 100}],
                ),
                phase(prices, "2024-07-01", None, minimums=[{"amount": 200}]),
            ],
        )
    assert len(ok(api.get("/api/billing-schedules"))["items"]) == 6
    assert listed() == few
