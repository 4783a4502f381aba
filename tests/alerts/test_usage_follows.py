"""As usage arrives, the evaluator also brings threshold-invoiced schedules up to date: the
batch that takes a period's charges past the threshold gets its threshold invoice from the
next evaluator pass, not from the next billing run; an account with none of alerts,
threshold phases or auto-recharges queues nothing, and one whose alerts are all per customer
queues only those customers (by id or alias)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import AlertCheck
from tests.alerts.helpers import create_alert, drain, queued
from tests.billing.helpers import Merchant, totals
from tests.catalog.price_bodies import linear
from tests.metering.helpers import event, send
from tests.schedules.helpers import phase
from tests.support.api_client import ApiClient


def _threshold_schedule(api: ApiClient, threshold: str | None) -> tuple[Merchant, str, str]:
    merchant = Merchant(api, currency="EUR")
    metric = merchant.usage_metric(
        f"Compute {uuid4().hex[:8]}", "compute", aggregationType="SUM", aggregationProperty="units"
    )
    price = merchant.price(linear(metric, pricePerUnit="1.00"), name="Compute")
    customer = merchant.customer()
    start = datetime.now(UTC).date().replace(day=1).isoformat()
    stage = phase([price], start, None)
    if threshold is not None:
        stage["thresholdInvoicing"] = {"amount": threshold}
    schedule = merchant.schedule(customer, [price], start, phases=[stage])
    return merchant, customer, str(schedule["id"])


def _units(api: ApiClient, customer: str, units: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    send(api, event(customer, now, "compute", units=units))


def test_a_crossing_batch_gets_its_threshold_invoice_from_the_evaluator(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    merchant, customer, schedule = _threshold_schedule(api, "100.00")
    _units(api, customer, "60")
    assert queued(database, account.account_id) == 1  # marked by the batch itself
    drain(database)
    assert merchant.invoices(schedule) == [] or all(
        invoice["status"] == "IN_PROGRESS" for invoice in merchant.invoices(schedule)
    )
    _units(api, customer, "55")  # 115.00 so far: past 100.00
    drain(database)
    issued = [i for i in merchant.invoices(schedule) if i["status"] != "IN_PROGRESS"]
    assert [(i["status"], totals(i)[0]) for i in issued] == [("SENT", Decimal("115.00"))]
    drain(database)  # evaluated again: nothing more to issue
    assert len([i for i in merchant.invoices(schedule) if i["status"] != "IN_PROGRESS"]) == 1


def test_an_account_without_anything_to_watch_queues_nothing(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    _, customer, _ = _threshold_schedule(api, None)
    _units(api, customer, "500")
    assert queued(database, account.account_id) == 0


def _marked(database: Database, account_id: str) -> set[str]:
    with database.session(write=False) as session:
        names = session.scalars(
            select(AlertCheck.customer_name).where(AlertCheck.account_id == account_id)
        )
        return set(names)


def test_only_customers_an_alert_watches_are_queued(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    merchant = Merchant(api, currency="EUR")
    metric = merchant.usage_metric(
        f"Compute {uuid4().hex[:8]}", "compute", aggregationType="SUM", aggregationProperty="units"
    )
    watched, other = merchant.customer(), merchant.customer("Other Ltd")
    alias = f"signup-{uuid4().hex[:8]}"
    api.post("/api/customer-aliases", json={"customerId": watched, "value": alias})
    create_alert(api, customerId=watched, metricId=metric, threshold="1000000")
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    batch = [event(name, now, "compute", units="1") for name in (watched, alias, other)]
    send(api, *batch)
    assert _marked(database, account.account_id) == {watched, alias}
    drain(database)

    price = merchant.price(linear(metric, pricePerUnit="1.00"), name="Compute by price")
    create_alert(api, priceId=price, metricId=metric, threshold="1000000")  # every customer
    send(api, event(other, now, "compute", units="1"))
    assert _marked(database, account.account_id) == {other}
