"""Issue 24 through the API: seat prices billed in advance bill every seat change.

The level at the start is billed when a period starts; what changed during it is billed on
the next invoice as its own line naming the period (its service period); overages above a
contracted minimum at their own frequency, equal or shorter, at the end of each overage
period. Over a whole schedule an in-advance price bills what the same price in arrears does.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.billing.helpers import Merchant, amounts
from tests.catalog.price_bodies import seat_based
from tests.invoices.helpers import counting_statements
from tests.schedules.helpers import ok
from tests.support.api_client import ApiClient

D = Decimal


def _seat_price(merchant: Merchant, seat_metric: str, **fields: Any) -> str:
    timing = {
        "billingFrequency": fields.pop("billingFrequency", "MONTHLY"),
        "billingType": fields.pop("billingType", "IN_ADVANCE"),
    }
    name = fields.pop("name", "Seats")
    return merchant.price(seat_based(seat_metric, **fields), name=name, **timing)


def _by_date(merchant: Merchant, schedule_id: str) -> dict[str, dict[str, Decimal]]:
    return {i["invoiceDate"]: amounts(i) for i in merchant.invoices(schedule_id)}


def _net(merchant: Merchant, schedule_id: str) -> Decimal:
    return sum((D(i["netTotal"]) for i in merchant.invoices(schedule_id)), D(0))


def test_1_seats_added_during_an_in_advance_period_bill_on_the_next_invoice(
    api: ApiClient,
) -> None:
    """£15 a seat a month in advance, PRORATE_INCREMENTS, 10 seats, 14 from 16 January:
    £150 on 1 January; on 1 February £210 for February and the 4 seats for 16 days of
    January (4 x 15 x 16/31 = £30.97) on a line covering January; March only £210."""
    merchant = Merchant(api)
    price = _seat_price(merchant, merchant.seat_metric("editor"), pricePerSeat="15.00")
    customer = merchant.customer()
    merchant.seats(customer, "editor", "2023-12-20T09:00:00Z", 10)
    merchant.seats(customer, "editor", "2024-01-16T09:00:00Z", 14)
    schedule = merchant.schedule(customer, [price], "2024-01-01", taxed=False)

    merchant.bill("2024-02-15")  # March's invoice is the one in progress

    changes = "Seats: changes 2024-01-01 to 2024-01-31"
    assert _by_date(merchant, schedule["id"]) == {
        "2024-01-01": {"Seats": D("150.00")},
        "2024-02-01": {"Seats": D("210.00"), changes: D("30.97")},
        "2024-03-01": {"Seats": D("210.00")},
    }
    february = next(
        i for i in merchant.invoices(schedule["id"]) if i["invoiceDate"] == "2024-02-01"
    )
    # The invoice still bills February; the changes line names the period it covers.
    assert february["billingPeriod"] == {"start": "2024-02-01", "endInclusive": "2024-02-29"}
    line = next(line for line in february["lineItems"] if line["title"] == changes)
    assert line["servicePeriod"] == {"startDate": "2024-01-01", "endDate": "2024-01-31"}
    assert line["description"] == "10 seats billed in advance; 14 from 2024-01-16"
    assert (line["quantity"], line["netTotal"]) == ("1", "30.97")


def test_2_a_yearly_overage_above_a_contracted_minimum_bills_at_the_end_of_the_year(
    api: ApiClient,
) -> None:
    """£120 a seat a year in advance, minimum 100, USE_MAXIMUM, overages YEARLY, seats 90 ->
    112 -> 95: £12,000 on 1 January, the 12 overage seats (£1,440) on 1 January after."""
    merchant = Merchant(api)
    seat_metric = merchant.seat_metric("editor")
    price = _seat_price(
        merchant,
        seat_metric,
        pricePerSeat="120.00",
        prorationStrategy="USE_MAXIMUM",
        contractedMinimumSeats=100,
        overagesBillingFrequency="YEARLY",
        billingFrequency="YEARLY",
    )
    customer = merchant.customer()
    for at, total in (("2024-01-01", 90), ("2024-04-10", 112), ("2024-09-01", 95)):
        merchant.seats(customer, "editor", f"{at}T00:00:00Z", total)
    schedule = merchant.schedule(customer, [price], "2024-01-01", "2024-12-31", taxed=False)

    merchant.bill("2025-01-02")

    assert _by_date(merchant, schedule["id"]) == {
        "2024-01-01": {"Seats": D("12000.00")},
        "2025-01-01": {"Seats: seats over 100": D("1440.00")},
    }
    last = merchant.invoices(schedule["id"])[-1]
    assert last["billingPeriod"] == {"start": "2024-01-01", "endInclusive": "2024-12-31"}


def test_3_a_seat_count_at_00_00_on_the_first_day_is_the_opening_level(
    api: ApiClient, other_api: ApiClient
) -> None:
    """6 seats sent at exactly the schedule's start, £25 in advance: the first invoice bills
    the 6 seats (£150), the next one February's 6 and no change; the same in an account
    whose day starts at another UTC time (00:00 in New York is 05:00 UTC)."""
    cases = (
        (api, "UTC", "2024-01-01T00:00:00Z"),
        (other_api, "America/New_York", "2024-01-01T05:00:00Z"),
    )
    for client, zone, at in cases:
        merchant = Merchant(client)
        ok(client.put(f"/api/sequence-accounts/{merchant.account_id}", json={"timezone": zone}))
        price = _seat_price(merchant, merchant.seat_metric("editor"), pricePerSeat="25.00")
        customer = merchant.customer()
        merchant.seats(customer, "editor", at, 6)
        schedule = merchant.schedule(customer, [price], "2024-01-01", taxed=False)

        merchant.bill("2024-01-20")  # February's invoice is the one in progress

        assert _by_date(merchant, schedule["id"]) == {
            "2024-01-01": {"Seats": D("150.00")},
            "2024-02-01": {"Seats": D("150.00")},
        }, zone
        first = merchant.invoices(schedule["id"])[0]
        assert first["lineItems"][0]["quantity"] == "6"


def test_in_advance_and_in_arrears_bill_the_same_over_a_whole_schedule(api: ApiClient) -> None:
    """One timeline (a count at 00:00 on the first day, rises and drops, several in a month,
    changes on a period's first and last days), the same price in advance and in arrears,
    every strategy: the in-advance schedule bills exactly the in-arrears total, seats given
    up (PRORATE_ALL_CHANGES) credited on the invoice after, the last period's changes on the
    day after the schedule ends."""
    merchant = Merchant(api)
    seat_metric = merchant.seat_metric("editor")
    customer = merchant.customer()
    timeline = (
        ("2024-01-01T00:00:00Z", 10),
        ("2024-01-16T08:00:00Z", 14),
        ("2024-01-31T23:00:00Z", 20),
        ("2024-02-01T00:00:00Z", 12),
        ("2024-02-10T10:00:00Z", 30),
        ("2024-02-10T16:00:00Z", 8),
        ("2024-03-20T10:00:00Z", 3),
    )
    for at, total in timeline:
        merchant.seats(customer, "editor", at, total)
    totals: dict[tuple[str, str], Decimal] = {}
    for strategy in ("PRORATE_INCREMENTS", "USE_MAXIMUM", "PRORATE_ALL_CHANGES"):
        for timing in ("IN_ADVANCE", "IN_ARREARS"):
            price = _seat_price(
                merchant,
                seat_metric,
                pricePerSeat="15.00",
                prorationStrategy=strategy,
                contractedMinimumSeats=5,
                billingType=timing,
                name=f"Seats {strategy} {timing}",
            )
            schedule = merchant.schedule(customer, [price], "2024-01-01", "2024-03-31")
            totals[(strategy, timing)] = D(0)
            merchant.bill("2024-04-01")
            totals[(strategy, timing)] = _net(merchant, schedule["id"])
            if timing == "IN_ADVANCE":
                dates = [i["invoiceDate"] for i in merchant.invoices(schedule["id"])]
                assert dates == ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]
        assert totals[(strategy, "IN_ADVANCE")] == totals[(strategy, "IN_ARREARS")], strategy
    # Seat-days: January 10 x 15 + 14 x 15 + 20 x 1 = 380 of 31 days, February 12 x 9 +
    # 8 x 20 = 268 of 29, March 8 x 19 + 5 x 12 = 212 of 31 (the minimum of 5 over 3).
    seat_days = (D(380) / 31 + D(268) / 29 + D(212) / 31) * 15
    assert abs(totals[("PRORATE_ALL_CHANGES", "IN_ARREARS")] - seat_days) < D("0.02")


def test_seats_given_up_in_advance_are_credited_on_the_next_invoice(api: ApiClient) -> None:
    """PRORATE_ALL_CHANGES in advance: 10 seats billed on 1 January, 4 from 11 January:
    seat-days are 10 x 10 + 4 x 21 = 184 of 31 at £15 (£89.03), so 1 February credits
    £60.97 beside February's 4 seats (£60)."""
    merchant = Merchant(api)
    price = _seat_price(
        merchant, merchant.seat_metric("editor"), prorationStrategy="PRORATE_ALL_CHANGES"
    )
    customer = merchant.customer()
    merchant.seats(customer, "editor", "2024-01-01T00:00:00Z", 10)
    merchant.seats(customer, "editor", "2024-01-11T12:00:00Z", 4)
    schedule = merchant.schedule(customer, [price], "2024-01-01", taxed=False)

    merchant.bill("2024-02-01")

    assert _by_date(merchant, schedule["id"])["2024-02-01"] == {
        "Seats": D("60.00"),
        "Seats: changes 2024-01-01 to 2024-01-31": D("-60.97"),
    }


def test_the_changes_of_an_open_period_follow_the_seats_until_it_closes(api: ApiClient) -> None:
    """The next invoice is IN_PROGRESS while the period runs: a rise shows on it at the next
    run, and the DRAFT it becomes is recalculated until finalized; a finalized one never."""
    merchant = Merchant(api)
    price = _seat_price(merchant, merchant.seat_metric("editor"))
    customer = merchant.customer()
    merchant.seats(customer, "editor", "2024-01-01T00:00:00Z", 10)
    schedule = merchant.schedule(customer, [price], "2024-01-01", taxed=False)
    changes = "Seats: changes 2024-01-01 to 2024-01-31"

    merchant.bill("2024-01-10")
    assert _by_date(merchant, schedule["id"])["2024-02-01"] == {"Seats": D("150.00")}
    merchant.seats(customer, "editor", "2024-01-16T00:00:00Z", 12)
    merchant.bill("2024-01-20")
    february = merchant.invoices(schedule["id"])[-1]
    assert february["status"] == "IN_PROGRESS"
    assert amounts(february) == {"Seats": D("180.00"), changes: D("15.48")}  # 2 x 15 x 16/31

    merchant.bill("2024-02-01")
    assert amounts(merchant.invoices(schedule["id"])[1]) == {
        "Seats": D("180.00"),
        changes: D("15.48"),
    }


def test_a_first_day_count_received_after_the_start_was_issued_bills_with_the_changes(
    api: ApiClient,
) -> None:
    """Auto-issue sends the 1 January invoice before the integration sends its count for
    that day (6 seats at 00:00): the start billed none, so 1 February bills January's 6
    seats (£150) with the changes, against what the issued invoice billed, not the rule."""
    merchant = Merchant(api)
    price = _seat_price(merchant, merchant.seat_metric("editor"), pricePerSeat="25.00")
    customer = merchant.customer()
    schedule = merchant.schedule(
        customer, [price], "2024-01-01", taxed=False, autoIssueInvoices=True
    )
    merchant.bill("2024-01-01")
    [issued, _] = merchant.invoices(schedule["id"])
    assert (issued["status"], issued["netTotal"]) == ("SENT", "0.00")

    merchant.seats(customer, "editor", "2024-01-01T00:00:00Z", 6)
    merchant.bill("2024-01-20")

    february = merchant.invoices(schedule["id"])[1]
    assert amounts(february) == {
        "Seats": D("150.00"),
        "Seats: changes 2024-01-01 to 2024-01-31": D("150.00"),
    }
    line = next(line for line in february["lineItems"] if "changes" in line["title"])
    assert line["description"] == "0 seats billed in advance; 6 from 2024-01-01"


def test_a_discount_and_a_minimum_are_not_billed_again_for_the_last_periods_changes(
    api: ApiClient,
) -> None:
    """The invoice after an ended schedule carries only its last period's changes: its
    phase's percentage discount applies to them, its nominal discount and minimum (billed
    with the period, on the invoice that opened it) do not come again."""
    merchant = Merchant(api)
    price = _seat_price(merchant, merchant.seat_metric("editor"))
    customer = merchant.customer()
    merchant.seats(customer, "editor", "2024-01-01T00:00:00Z", 10)
    merchant.seats(customer, "editor", "2024-01-16T00:00:00Z", 14)
    phases = [
        {
            "priceIds": [price],
            "startDate": "2024-01-01",
            "endDate": "2024-01-31",
            "discounts": [
                {
                    "type": "PERCENTAGE",
                    "amount": 10,
                    "message": "10 % off",
                    "separateLineItem": False,
                },
                {"type": "NOMINAL", "amount": 5, "message": "£5 off", "separateLineItem": False},
            ],
            "minimums": [{"amount": 500}],
        }
    ]
    schedule = merchant.schedule(
        customer, [price], "2024-01-01", "2024-01-31", taxed=False, phases=phases
    )

    merchant.bill("2024-02-01")

    invoices = merchant.invoices(schedule["id"])
    assert [i["invoiceDate"] for i in invoices] == ["2024-01-01", "2024-02-01"]
    # 150 less 10 % (135) less £5 (130), topped up to the £500 minimum.
    assert D(invoices[0]["netTotal"]) == D("500.00")
    # 4 x 15 x 16/31 = 30.97, less 10 %: 27.87; no £5 off, no true-up.
    assert amounts(invoices[1]) == {"Seats: changes 2024-01-01 to 2024-01-31": D("27.87")}


def test_billing_seats_in_advance_takes_the_same_queries_for_more_schedules(
    api: ApiClient, other_api: ApiClient
) -> None:
    """The changes lines read the seat levels the period's own charges read: a batch of six
    schedules takes the statements a batch of two does."""
    counts = []
    for client, schedules in ((api, 2), (other_api, 6)):
        merchant = Merchant(client)
        price = _seat_price(merchant, merchant.seat_metric("editor"))
        for index in range(schedules):
            customer = merchant.customer(f"Customer {index}")
            merchant.seats(customer, "editor", "2024-01-01T00:00:00Z", 10 + index)
            merchant.seats(customer, "editor", "2024-02-10T00:00:00Z", 20 + index)
            merchant.schedule(customer, [price], "2024-01-01", taxed=False)
        with counting_statements(merchant.database) as statements:
            merchant.bill("2024-04-01")
        counts.append(len(statements))
    assert counts[0] == counts[1]
