"""Threshold invoicing end to end: usage in over HTTP, billing runs between the events, the
threshold invoices and the period's own invoice out; and the API's `thresholdInvoicing`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.billing.scheduler import bill_account, bill_thresholds
from tally.db import Database
from tally.models import ActivityLog, ThresholdInvoice
from tests.billing.helpers import Merchant, totals
from tests.catalog.price_bodies import graduated, linear, volume
from tests.invoices.test_events import events, listen
from tests.metering.helpers import event, send
from tests.schedules.helpers import phase
from tests.support.api_client import ApiClient

ZERO = Decimal(0)


def _units(api: ApiClient, customer: str, day: str, value: str) -> None:
    send(api, event(customer, f"{day}T10:00:00Z", "compute", units=value))


def _setup(
    api: ApiClient, threshold: str | None, structure: str = "linear", **schedule: Any
) -> tuple[Merchant, str, dict[str, Any]]:
    merchant = Merchant(api, currency="EUR")
    metric = merchant.usage_metric(
        f"Compute {uuid4().hex[:8]}", "compute", aggregationType="SUM", aggregationProperty="units"
    )
    if structure == "linear":
        body = linear(metric, pricePerUnit="1.00")
    elif structure == "graduated":
        body = graduated(
            metric,
            [
                {"upperBound": "100", "price": "1.00", "fee": "0"},
                {"price": "0.50", "fee": "0"},
            ],
        )
    else:
        body = volume(
            metric,
            [
                {"upperBound": "100", "price": "1.00", "fee": "0"},
                {"price": "0.90", "fee": "0"},
            ],
        )
    price = merchant.price(body, name="Compute")
    customer = merchant.customer()
    stage = phase([price], "2024-01-01", None)
    if threshold is not None:
        stage["thresholdInvoicing"] = {"amount": threshold}
    created = merchant.schedule(customer, [price], "2024-01-01", phases=[stage], **schedule)
    return merchant, customer, created


def _by_kind(merchant: Merchant, schedule_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The schedule's threshold invoices of January (by number) and January's own invoice."""
    invoices = merchant.invoices(schedule_id)
    january = [i for i in invoices if i["billingPeriod"]["start"] == "2024-01-01"]
    own = [i for i in january if i["invoiceDate"] == "2024-02-01"]
    assert len(own) == 1, [(i["invoiceDate"], i["status"]) for i in january]
    at_threshold = sorted(
        (i for i in january if i["invoiceDate"] != "2024-02-01"),
        key=lambda i: i["invoiceNumber"] or "",
    )
    return at_threshold, own[0]


def test_the_field_round_trips_and_is_checked(api: ApiClient) -> None:
    _, customer, schedule = _setup(api, "500.00")
    assert schedule["phases"][0]["thresholdInvoicing"] == {"amount": "500.00"}
    fetched = api.get(f"/api/billing-schedules/{schedule['id']}").json()
    assert fetched["phases"][0]["thresholdInvoicing"] == {"amount": "500.00"}
    price = schedule["phases"][0]["priceIds"][0]
    for amount, problem in (("0", "more than 0"), ("-5", "more than 0"), ("1.001", "0.01")):
        stage = phase([price], "2024-01-01", None)
        stage["thresholdInvoicing"] = {"amount": amount}
        body = {"customerId": customer, "startDate": "2024-01-01", "phases": [stage]}
        response = api.post("/api/billing-schedules", json=body)
        assert response.status_code == 400, response.text
        assert problem in response.text
    stage = phase([price], "2024-01-01", None)
    stage["thresholdInvoicing"] = {"amount": "5", "basis": "GROSS"}
    body = {"customerId": customer, "startDate": "2024-01-01", "phases": [stage]}
    response = api.post("/api/billing-schedules", json=body)
    assert response.status_code == 400 and "basis" in response.text
    copied = api.post(
        f"/api/billing-schedules/{schedule['id']}/duplicate", json={"customerId": customer}
    )
    assert copied.status_code == 201, copied.text
    assert copied.json()["phases"][0]["thresholdInvoicing"] == {"amount": "500.00"}
    # An update that leaves it out turns it off (phases are replaced whole).
    stage = phase([price], "2024-01-01", None)
    body = {"startDate": "2024-01-01", "phases": [stage]}
    updated = api.put(f"/api/billing-schedules/{schedule['id']}", json=body)
    assert updated.status_code == 200, updated.text
    assert updated.json()["phases"][0].get("thresholdInvoicing") is None


def test_one_crossing_then_the_final_invoice_deducts_it(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    """60 then 50 units at 1.00 (threshold 100): a threshold invoice of 110.00 + 22.00 tax,
    issued at once. 30 more: January's own invoice bills 140 and deducts the 110."""
    merchant, customer, schedule = _setup(api, "100.00")
    _units(api, customer, "2024-01-05", "60")
    assert merchant.bill("2024-01-06")["invoicesCreated"] == 1  # January's IN_PROGRESS only
    _units(api, customer, "2024-01-10", "50")
    merchant.bill("2024-01-11")
    [issued], [upcoming] = _threshold_and_open(merchant, schedule["id"])
    # The run that issued it already names its number on the period's IN_PROGRESS invoice.
    titles = [line["title"] for line in upcoming["lineItems"] if line["kind"] == "THRESHOLD"]
    assert titles == [f"Invoiced at threshold: {issued['invoiceNumber']}"]
    assert totals(upcoming)[0] == ZERO
    _units(api, customer, "2024-01-20", "30")
    merchant.bill("2024-01-21")
    merchant.bill("2024-02-01")
    at_threshold, own = _by_kind(merchant, schedule["id"])
    assert len(at_threshold) == 1
    first = at_threshold[0]
    assert first["status"] in ("FINAL", "SENT") and first["invoiceNumber"]
    assert totals(first) == (Decimal("110.00"), Decimal("22.00"), Decimal("132.00"))
    assert first["billingPeriod"] == {"start": "2024-01-01", "endInclusive": "2024-01-31"} or (
        first["billingPeriod"]["start"] == "2024-01-01"
    )
    assert totals(own) == (Decimal("30.00"), Decimal("6.00"), Decimal("36.00"))
    deduction = [line for line in own["lineItems"] if line["kind"] == "THRESHOLD"]
    assert [line["title"] for line in deduction] == [
        f"Invoiced at threshold: {first['invoiceNumber']}"
    ]
    assert Decimal(deduction[0]["netTotal"]) == Decimal("-110.00")
    assert Decimal(deduction[0]["totalTax"]) == Decimal("-22.00")
    with database.session(write=False) as session:
        logged = session.scalars(
            select(ActivityLog.verb).where(
                ActivityLog.account_id == account.account_id,
                ActivityLog.object_id == first["id"],
            )
        ).all()
    assert "THRESHOLD_INVOICED" in logged


def test_several_crossings_in_one_period_and_exactly_at_the_threshold(api: ApiClient) -> None:
    """Exactly 100, then 100 more, then 99 (not enough), then a run on 1 February."""
    merchant, customer, schedule = _setup(api, "100.00")
    _units(api, customer, "2024-01-03", "100")
    merchant.bill("2024-01-03")
    _units(api, customer, "2024-01-08", "100")
    merchant.bill("2024-01-08")
    merchant.bill("2024-01-09")  # nothing new: nothing issued
    _units(api, customer, "2024-01-15", "99")
    merchant.bill("2024-01-15")
    merchant.bill("2024-02-01")
    at_threshold, own = _by_kind(merchant, schedule["id"])
    assert [totals(i)[0] for i in at_threshold] == [Decimal("100.00"), Decimal("100.00")]
    assert totals(own) == (Decimal("99.00"), Decimal("19.80"), Decimal("118.80"))
    assert len([line for line in own["lineItems"] if line["kind"] == "THRESHOLD"]) == 2


def test_tiers_are_priced_on_the_whole_periods_usage(api: ApiClient) -> None:
    """Graduated, 100 at 1.00 then 0.50: 120 units cross 100 (110.00 invoiced), 80 more make
    200 units = 150.00 for the period: the final invoice bills 40.00."""
    merchant, customer, schedule = _setup(api, "100.00", structure="graduated")
    _units(api, customer, "2024-01-05", "120")
    merchant.bill("2024-01-06")
    _units(api, customer, "2024-01-25", "80")
    merchant.bill("2024-02-01")
    at_threshold, own = _by_kind(merchant, schedule["id"])
    assert [totals(i)[0] for i in at_threshold] == [Decimal("110.00")]
    assert totals(own)[0] == Decimal("40.00")
    calls = [line for line in own["lineItems"] if line["kind"] == "PRICE"]
    assert calls[0]["quantity"] == "200" and Decimal(calls[0]["netTotal"]) == Decimal("150.00")


def test_volume_tiers_whose_total_falls_never_take_the_final_invoice_below_zero(
    api: ApiClient,
) -> None:
    """Volume: 100 units at 1.00 = 100.00 invoiced at the threshold; 105 units are all at
    0.90 = 94.50 for the period, less than invoiced: the final invoice is 0, not negative."""
    merchant, customer, schedule = _setup(api, "100.00", structure="volume")
    _units(api, customer, "2024-01-05", "100")
    merchant.bill("2024-01-06")
    _units(api, customer, "2024-01-25", "5")
    merchant.bill("2024-02-01")
    at_threshold, own = _by_kind(merchant, schedule["id"])
    assert [totals(i)[0] for i in at_threshold] == [Decimal("100.00")]
    assert totals(own) == (ZERO, ZERO, ZERO)


def test_a_voided_threshold_invoice_is_no_longer_deducted(api: ApiClient) -> None:
    merchant, customer, schedule = _setup(api, "100.00")
    _units(api, customer, "2024-01-05", "150")
    merchant.bill("2024-01-06")
    [first], _ = _threshold_and_open(merchant, schedule["id"])
    voided = api.post(f"/api/invoices/{first['id']}/void")
    assert voided.status_code == 200, voided.text
    # The charges are due again: the next run invoices them at the threshold again.
    merchant.bill("2024-01-07")
    _units(api, customer, "2024-01-25", "10")
    merchant.bill("2024-02-01")
    at_threshold, own = _by_kind(merchant, schedule["id"])
    live = [i for i in at_threshold if i["status"] != "VOIDED"]
    assert [totals(i)[0] for i in live] == [Decimal("150.00")]
    assert totals(own)[0] == Decimal("10.00")
    titles = [line["title"] for line in own["lineItems"] if line["kind"] == "THRESHOLD"]
    assert titles == [f"Invoiced at threshold: {live[0]['invoiceNumber']}"]


def _threshold_and_open(
    merchant: Merchant, schedule_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    invoices = merchant.invoices(schedule_id)
    issued = [i for i in invoices if i["status"] in ("FINAL", "SENT")]
    return issued, [i for i in invoices if i["status"] == "IN_PROGRESS"]


def _together(*calls: Callable[[], object]) -> None:
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def test_two_concurrent_runs_issue_one_threshold_invoice(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    merchant, customer, schedule = _setup(api, "100.00")
    _units(api, customer, "2024-01-05", "60")
    merchant.bill("2024-01-05")
    _units(api, customer, "2024-01-10", "70")
    now = merchant.noon("2024-01-10")

    def run() -> object:
        return bill_account(database, account.account_id, now=now)

    _together(run, run, run)
    with database.session(write=False) as session:
        steps = session.scalars(
            select(ThresholdInvoice.sequence).where(
                ThresholdInvoice.account_id == account.account_id,
                ThresholdInvoice.billing_schedule_id == schedule["id"],
            )
        ).all()
    assert steps == [1]
    issued, _ = _threshold_and_open(merchant, schedule["id"])
    assert [totals(i)[0] for i in issued] == [Decimal("130.00")]


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=st.lists(
        st.tuples(st.integers(2, 28), st.decimals(min_value="0.5", max_value="90", places=1)),
        min_size=1,
        max_size=6,
    ),
    runs=st.sets(st.integers(2, 29), max_size=5),
    threshold=st.decimals(min_value="10", max_value="120", places=2),
    structure=st.sampled_from(["linear", "graduated"]),
)
def test_billing_runs_at_any_points_sum_to_one_invoice_for_the_period(
    api: ApiClient,
    batches: list[tuple[int, Decimal]],
    runs: set[int],
    threshold: Decimal,
    structure: str,
) -> None:
    """Events on January days, runs on others: the threshold invoices and January's own
    invoice add up to what the same schedule without a threshold invoices for January."""
    merchant, customer, schedule = _setup(api, str(threshold), structure=structure)
    _, twin_customer, twin = _setup_twin(merchant, schedule)
    days = sorted({day for day, _ in batches} | runs)
    for day in days:
        for when, value in batches:
            if when == day:
                _units(api, customer, f"2024-01-{day:02d}", str(value))
                _units(api, twin_customer, f"2024-01-{day:02d}", str(value))
        if day in runs:
            merchant.bill(f"2024-01-{day:02d}")
    merchant.bill("2024-02-01")
    at_threshold, own = _by_kind(merchant, schedule["id"])
    whole = merchant.invoice_for(twin["id"], "2024-01-01")
    summed = tuple(sum((totals(i)[n] for i in [*at_threshold, own]), ZERO) for n in range(3))
    assert summed == totals(whole)
    for invoice in at_threshold:
        assert totals(invoice)[0] >= threshold


def _setup_twin(
    merchant: Merchant, schedule: dict[str, Any]
) -> tuple[Merchant, str, dict[str, Any]]:
    """The same terms, no threshold, for another customer of the same merchant."""
    price = schedule["phases"][0]["priceIds"][0]
    customer = merchant.customer("Twin Ltd")
    twin = merchant.schedule(customer, [price], "2024-01-01")
    return merchant, customer, twin


def test_bill_thresholds_issues_as_usage_arrives_and_announces_it(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    """What the usage evaluator calls: only schedules with threshold invoicing are billed;
    the threshold invoice is announced (INVOICE_CREATED, INVOICE_ISSUED) like any other."""
    listen(database, account.account_id)
    merchant, customer, schedule = _setup(api, "100.00")
    other_customer = merchant.customer("Plain Ltd")
    price = schedule["phases"][0]["priceIds"][0]
    plain = merchant.schedule(other_customer, [price], "2024-01-01")
    _units(api, customer, "2024-01-05", "120")
    _units(api, other_customer, "2024-01-05", "500")
    report = bill_thresholds(
        database,
        account.account_id,
        [customer, other_customer],
        now=merchant.noon("2024-01-05"),
    )
    assert (report.billing_schedules, report.threshold_invoices) == (1, 1)
    assert merchant.invoices(plain["id"]) == []  # left to the scheduler
    issued, _ = _threshold_and_open(merchant, schedule["id"])
    assert [totals(i)[0] for i in issued] == [Decimal("120.00")]
    kinds = [kind for kind, resource_id, _ in events(database, account.account_id)
             if resource_id == issued[0]["id"]]  # fmt: skip
    assert "INVOICE_CREATED" in kinds and "INVOICE_ISSUED" in kinds


def test_credits_go_to_threshold_invoices_first_and_are_never_spent_twice(
    api: ApiClient,
) -> None:
    """A 50.00 cash grant; 150 units at 1.00 (threshold 100): the threshold invoice bills
    150.00 less the 50.00 credit. 30 more: January's invoice bills 180, deducts the 150
    invoiced, and has no credit left to take: 30.00."""
    merchant, customer, schedule = _setup(api, "100.00", taxed=False)
    grant = {
        "customerId": customer,
        "name": "Welcome credit",
        "creditUnitType": "CURRENCY",
        "currency": "EUR",
        "amount": 50,
        "costOfCredit": 0,
        "effectiveDate": "2024-01-01",
    }
    assert api.post("/api/credits", json=grant).status_code == 201
    _units(api, customer, "2024-01-05", "150")
    merchant.bill("2024-01-06")
    _units(api, customer, "2024-01-25", "30")
    merchant.bill("2024-02-01")
    at_threshold, own = _by_kind(merchant, schedule["id"])
    assert [totals(i)[0] for i in at_threshold] == [Decimal("100.00")]
    kinds = [line["kind"] for line in at_threshold[0]["lineItems"]]
    assert "CREDIT" in kinds
    assert totals(own)[0] == Decimal("30.00")
    assert not [line for line in own["lineItems"] if line["kind"] == "CREDIT"]
