"""Billing schedules end to end: periods elapsed and to come, phases, discounts, minimums,
mixed frequencies, roll-up billing, auto-issue, late usage and archiving."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.billing.helpers import Merchant, amounts, totals
from tests.catalog.price_bodies import graduated, linear, seat_based
from tests.metering.helpers import event, send
from tests.schedules.helpers import ok, phase
from tests.support.api_client import ApiClient

FIXED_100 = {"pricingType": "FIXED", "price": "100.00"}


def _fixed(merchant: Merchant, price: str, name: str, **fields: Any) -> str:
    return merchant.price({"pricingType": "FIXED", "price": price}, name=name, **fields)


def test_a_schedule_started_in_the_past_gets_an_invoice_for_every_elapsed_period(
    api: ApiClient,
) -> None:
    merchant = Merchant(api)
    price = _fixed(merchant, "100.00", "Platform")
    schedule = merchant.schedule(merchant.customer(), [price], "2024-01-01")

    merchant.bill("2024-06-15")

    invoices = merchant.invoices(schedule["id"])
    assert [(i["invoiceDate"], i["status"]) for i in invoices] == [
        ("2024-02-01", "DRAFT"),
        ("2024-03-01", "DRAFT"),
        ("2024-04-01", "DRAFT"),
        ("2024-05-01", "DRAFT"),
        ("2024-06-01", "DRAFT"),
        ("2024-07-01", "IN_PROGRESS"),
    ]
    assert all(totals(i) == (Decimal(100), Decimal(20), Decimal(120)) for i in invoices)
    assert ok(api.get(f"/api/billing-schedules/{schedule['id']}"))["status"] == "ACTIVE"


def test_a_partial_first_period_is_prorated(api: ApiClient) -> None:
    """From 17 January, aligned on the 1st: 15 of January's 31 days."""
    merchant = Merchant(api)
    price = _fixed(merchant, "310.00", "Platform")
    schedule = merchant.schedule(
        merchant.customer(), [price], "2024-01-17", taxed=False, recurrenceDayOfMonth=1
    )
    merchant.bill("2024-02-01")
    january = merchant.invoice_for(schedule["id"], "2024-01-17")
    assert amounts(january) == {"Platform": Decimal("150.00")}
    assert january["lineItems"][0]["description"] == "Prorated: 15 of 31 days"


def test_prices_of_different_frequencies_due_together_share_one_invoice(api: ApiClient) -> None:
    merchant = Merchant(api)
    monthly = _fixed(merchant, "100.00", "Monthly support")
    quarterly = _fixed(merchant, "300.00", "Quarterly audit", billingFrequency="QUARTERLY")
    schedule = merchant.schedule(merchant.customer(), [monthly, quarterly], "2024-01-01")

    merchant.bill("2024-04-01")

    by_date = {i["invoiceDate"]: amounts(i) for i in merchant.invoices(schedule["id"])}
    assert by_date["2024-03-01"] == {"Monthly support": Decimal("100.00")}
    assert by_date["2024-04-01"] == {
        "Monthly support": Decimal("100.00"),
        "Quarterly audit": Decimal("300.00"),
    }


def test_two_phases_split_the_period_they_change_in(api: ApiClient) -> None:
    """Starter to 15 April, Growth from 16 April: April bills 15/30 of each."""
    merchant = Merchant(api)
    starter = _fixed(merchant, "100.00", "Starter")
    growth = _fixed(merchant, "200.00", "Growth")
    customer = merchant.customer()
    schedule = merchant.schedule(
        customer,
        [],
        "2024-03-01",
        "2024-12-31",
        taxed=False,
        phases=[
            phase([starter], "2024-03-01", "2024-04-15"),
            phase([growth], "2024-04-16", "2024-12-31"),
        ],
    )
    merchant.bill("2024-05-01")
    march = merchant.invoice_for(schedule["id"], "2024-03-01")
    april = merchant.invoice_for(schedule["id"], "2024-04-01")
    assert amounts(march) == {"Starter": Decimal("100.00")}
    assert amounts(april) == {"Starter": Decimal("50.00"), "Growth": Decimal("100.00")}
    assert april["invoiceDate"] == "2024-05-01"  # one invoice for the period, both phases


def test_discounts_netted_and_on_their_own_line(api: ApiClient) -> None:
    merchant = Merchant(api)
    platform = _fixed(merchant, "100.00", "Platform")
    support = _fixed(merchant, "50.00", "Support")
    discounts = [
        {
            "type": "PERCENTAGE",
            "amount": 10,
            "message": "Launch offer",
            "separateLineItem": False,
            "restrictToPrices": [platform],
        },
        {"type": "NOMINAL", "amount": 30, "message": "Loyalty credit", "separateLineItem": True},
    ]
    schedule = merchant.schedule(
        merchant.customer(),
        [],
        "2024-01-01",
        phases=[phase([platform, support], "2024-01-01", None, discounts=discounts)],
    )
    merchant.bill("2024-02-01")
    january = merchant.invoice_for(schedule["id"], "2024-01-01")
    assert amounts(january) == {
        "Platform": Decimal("90.00"),
        "Support": Decimal("50.00"),
        "Loyalty credit": Decimal("-30.00"),
    }
    platform_line = next(line for line in january["lineItems"] if line["title"] == "Platform")
    assert platform_line["description"] == "Includes Launch offer"
    # 20 % VAT on what is charged after discounts: (90 + 50 - 30) x 0.2
    assert totals(january) == (Decimal("110.00"), Decimal("22.00"), Decimal("132.00"))


def test_a_minimum_adds_a_true_up_line(api: ApiClient) -> None:
    merchant = Merchant(api)
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    price = merchant.price(linear(metric, pricePerUnit="0.10"), name="API calls")
    customer = merchant.customer()
    send(api, *(event(customer, "2024-01-05T10:00:00Z") for _ in range(550)))
    schedule = merchant.schedule(
        customer,
        [],
        "2024-01-01",
        taxed=False,
        phases=[phase([price], "2024-01-01", None, minimums=[{"amount": 500}])],
    )
    merchant.bill("2024-02-01")
    january = merchant.invoice_for(schedule["id"], "2024-01-01")
    assert amounts(january) == {"API calls": Decimal("55.00"), "True-up charge": Decimal("445.00")}
    assert totals(january)[0] == Decimal("500.00")


def test_roll_up_billing_prices_the_childrens_combined_usage_and_seats(api: ApiClient) -> None:
    """Two children's 60 and 65 calls reach the second tier together (188.75; apart they
    would make 80 + 85); their 3 and 4 seats bill as 7. Lines show each child's share."""
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    tiers = [{"upperBound": "100", "price": "1.00", "fee": "20.00"}, {"price": "0.75", "fee": "50"}]
    calls = merchant.price(graduated(metric, tiers), name="Calls")
    seats = merchant.price(seat_based(merchant.seat_metric("editor")), name="Seats")
    parent = merchant.customer("Group plc")
    first = merchant.customer("Child one", parentId=parent, customerAliases=["child-one"])
    second = merchant.customer("Child two", parentId=parent)
    send(api, *(event("child-one", "2024-01-09T10:00:00Z") for _ in range(60)))
    send(api, *(event(second, "2024-01-19T10:00:00Z") for _ in range(65)))
    merchant.seats(first, "editor", "2024-01-01T00:00:00Z", 3)
    merchant.seats(second, "editor", "2024-01-01T00:00:00Z", 4)
    schedule = merchant.schedule(
        parent, [calls, seats], "2024-01-01", taxed=False, rollUpBilling=True
    )

    merchant.bill("2024-02-01")

    january = merchant.invoice_for(schedule["id"], "2024-01-01")
    assert amounts(january) == {"Calls": Decimal("188.75"), "Seats": Decimal("105.00")}
    lines = {line["title"]: line for line in january["lineItems"]}
    assert lines["Calls"]["quantity"] == "125"
    assert {s["customerId"]: s["quantity"] for s in lines["Calls"]["breakdown"]} == {
        parent: "0",
        first: "60",
        second: "65",
    }
    assert {s["customerId"]: s["quantity"] for s in lines["Seats"]["breakdown"]} == {
        parent: "0",
        first: "3",
        second: "4",
    }


def test_a_tax_exempt_customer_pays_no_tax(api: ApiClient) -> None:
    merchant = Merchant(api)
    price = _fixed(merchant, "100.00", "Platform")
    customer = merchant.customer(taxStatus="TAX_EXEMPT")
    schedule = merchant.schedule(customer, [price], "2024-01-01")
    merchant.bill("2024-02-01")
    january = merchant.invoice_for(schedule["id"], "2024-01-01")
    assert totals(january) == (Decimal("100.00"), Decimal(0), Decimal("100.00"))
    assert january["customerTaxStatus"] == "TAX_EXEMPT"


def test_auto_issue_sends_with_gapless_numbers_and_leaves_the_upcoming_invoice(
    api: ApiClient,
) -> None:
    merchant = Merchant(api)
    price = _fixed(merchant, "100.00", "Platform")
    first = merchant.schedule(merchant.customer("A"), [price], "2024-01-01", autoIssueInvoices=True)
    second = merchant.schedule(merchant.customer("B"), [price], "2024-02-01")

    report = merchant.bill("2024-03-01")

    assert report["invoicesFinalized"] == 2
    issued = merchant.invoices(first["id"])
    assert [(i["status"], i.get("invoiceNumber")) for i in issued] == [
        ("SENT", "INV00001"),
        ("SENT", "INV00002"),
        ("IN_PROGRESS", None),
    ]
    assert issued[0]["issueDate"] == "2024-03-01"
    assert issued[0]["dueDate"] == "2024-03-31"  # 30 days' terms from the issue date
    assert [i["status"] for i in merchant.invoices(second["id"])] == ["DRAFT", "IN_PROGRESS"]

    again = merchant.bill("2024-04-01")
    assert again["invoicesFinalized"] == 1
    assert [i.get("invoiceNumber") for i in merchant.invoices(first["id"])][:3] == [
        "INV00001",
        "INV00002",
        "INV00003",
    ]


def test_late_usage_updates_drafts_and_is_reported_for_finalized_periods(api: ApiClient) -> None:
    # "Late" is judged by when events arrive, by the machine's clock: so this test bills by
    # that clock too (the regular run of today), for last month's period.
    last_month = (datetime.now(UTC).date().replace(day=1) - timedelta(days=1)).replace(day=1)

    def on(day: int) -> str:
        return f"{last_month + timedelta(days=day - 1)}T10:00:00Z"

    merchant = Merchant(api)
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    price = merchant.price(linear(metric, pricePerUnit="1.00"), name="Calls")
    drafted, issued = merchant.customer("Drafted"), merchant.customer("Issued")
    send(api, event(drafted, on(10)), event(issued, on(10)))
    start = last_month.isoformat()
    draft_schedule = merchant.schedule(drafted, [price], start, taxed=False)
    issued_schedule = merchant.schedule(issued, [price], start, taxed=False, autoIssueInvoices=True)
    merchant.bill_now()

    send(api, event(drafted, on(20)), event(issued, on(20)))
    report = merchant.bill_now()

    draft = merchant.invoice_for(draft_schedule["id"], start)
    final = merchant.invoice_for(issued_schedule["id"], start)
    assert amounts(draft) == {"Calls": Decimal("2.00")}
    assert (final["status"], amounts(final)) == ("SENT", {"Calls": Decimal("1.00")})
    assert report["lateUsage"] == [{"billingScheduleId": issued_schedule["id"], "eventCount": 1}]
    assert merchant.bill_now()["lateUsage"] == []  # each late event reported once


def test_archiving_voids_open_invoices_and_stops_billing(api: ApiClient) -> None:
    merchant = Merchant(api)
    price = _fixed(merchant, "100.00", "Platform")
    customer = merchant.customer()
    kept = merchant.schedule(customer, [price], "2024-01-01", autoIssueInvoices=True)
    merchant.bill("2024-02-01")
    drafted = merchant.schedule(customer, [price], "2024-01-01")
    merchant.bill("2024-02-01")

    assert api.post(f"/api/customers/{customer}/archive").status_code == 200

    assert [i["status"] for i in merchant.invoices(kept["id"])] == ["SENT", "VOIDED"]
    assert [i["status"] for i in merchant.invoices(drafted["id"])] == ["VOIDED", "VOIDED"]
    assert merchant.bill("2024-03-01")["billingSchedules"] == 0


def test_archiving_a_schedule_drops_its_upcoming_invoice(api: ApiClient) -> None:
    merchant = Merchant(api)
    price = _fixed(merchant, "100.00", "Platform")
    schedule = merchant.schedule(merchant.customer(), [price], "2024-01-01")
    merchant.bill("2024-02-01")

    ok(api.post(f"/api/billing-schedules/{schedule['id']}/archive"))

    assert [i["status"] for i in merchant.invoices(schedule["id"])] == ["DRAFT"]
