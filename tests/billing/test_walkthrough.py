"""Seed 002 end to end through the HTTP API: seats in, a VAT invoice out, to the penny."""

from decimal import Decimal

from tests.billing.helpers import Merchant, amounts, totals
from tests.catalog.price_bodies import seat_based
from tests.support.api_client import ApiClient


def test_ten_editor_seats_in_january_with_vat(api: ApiClient) -> None:
    merchant = Merchant(api)
    seat_metric = merchant.seat_metric("editor")
    price = merchant.price(seat_based(seat_metric), name="Standard seat price")
    customer = merchant.customer("John Doe")
    schedule = merchant.schedule(
        customer, [price], "2024-01-01", "2024-12-31", recurrenceDayOfMonth=1, rollUpBilling=True
    )
    merchant.seats(customer, "editor", "2024-01-01T00:00:00Z", 10)

    report = merchant.bill("2024-02-01")

    assert report["invoicesCreated"] == 2  # January's DRAFT, February's IN_PROGRESS
    january = merchant.invoice_for(schedule["id"], "2024-01-01")
    assert january["status"] == "DRAFT"
    assert january["billingPeriod"] == {"start": "2024-01-01", "endInclusive": "2024-01-31"}
    assert january["accountingDate"] == "2024-01-31"
    assert (january["netTotal"], january["totalTax"], january["grossTotal"]) == (
        "150.00",
        "30.00",
        "180.00",
    )
    assert january["customerLegalCompanyName"] == "John Doe"
    assert january["customerTaxStatus"] == "TAXED"
    assert january["customerEmails"] == ["jane@example.com"]
    [line] = january["lineItems"]
    assert (line["title"], line["quantity"], line["taxRate"]) == (
        "Standard seat price",
        "10",
        "0.2",
    )
    assert [group["title"] for group in january["lineItemGroups"]] == ["Platform access"]
    february = merchant.invoice_for(schedule["id"], "2024-02-01")
    assert february["status"] == "IN_PROGRESS"
    assert totals(february) == (Decimal("150.00"), Decimal("30.00"), Decimal("180.00"))


def test_seats_added_mid_month_prorate_then_bill_in_full(api: ApiClient) -> None:
    """Sequence's example: £15 a seat, none until 27 from 18 April: April is 27 x 13/30 of
    £15 = £175.50, May the full 27 x £15."""
    merchant = Merchant(api)
    price = merchant.price(seat_based(merchant.seat_metric("editor")), name="Seats")
    customer = merchant.customer()
    schedule = merchant.schedule(customer, [price], "2024-04-01", "2024-12-31")
    merchant.seats(customer, "editor", "2024-04-18T09:00:00Z", 27)

    merchant.bill("2024-06-01")

    april = merchant.invoice_for(schedule["id"], "2024-04-01")
    assert totals(april) == (Decimal("175.50"), Decimal("35.10"), Decimal("210.60"))
    may = merchant.invoice_for(schedule["id"], "2024-05-01")
    assert amounts(may) == {"Seats": Decimal("405.00")}


def test_billing_again_recalculates_drafts_and_never_duplicates(api: ApiClient) -> None:
    merchant = Merchant(api)
    price = merchant.price(seat_based(merchant.seat_metric("editor")), name="Seats")
    customer = merchant.customer()
    schedule = merchant.schedule(customer, [price], "2024-01-01", "2024-12-31")
    merchant.seats(customer, "editor", "2024-01-01T00:00:00Z", 10)
    merchant.bill("2024-02-01")

    merchant.seats(customer, "editor", "2024-01-16T00:00:00Z", 20)  # late: January is a draft
    again = merchant.bill("2024-02-01")

    assert (again["invoicesCreated"], again["invoicesUpdated"]) == (0, 2)
    invoices = merchant.invoices(schedule["id"])
    assert [i["billingPeriod"]["start"] for i in invoices] == ["2024-01-01", "2024-02-01"]
    # 10 seats all month, 10 more for 16 of 31 days: 150 + 10 x 15 x 16/31 = 227.42
    assert amounts(invoices[0]) == {"Seats": Decimal("227.42")}
