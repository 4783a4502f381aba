"""Alerts that depend on billing: SPEND reads the IN_PROGRESS invoice (re-billed before it is
evaluated), and a price's default alert applies to the customers billed that price, unless
their own alert of the same type and metric replaces it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tally.core.clock import utcnow
from tally.db import Database
from tests.alerts.helpers import create_alert, drain, firings, triggered
from tests.alerts.test_evaluation import calls
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import linear
from tests.metering.helpers import send
from tests.support.api_client import ApiClient


def _billed(api: ApiClient) -> tuple[Merchant, str, str]:
    """A merchant with a COUNT metric billed 1.00 GBP a call, monthly in arrears."""
    merchant = Merchant(api)
    metric = merchant.usage_metric("calls", "api_call", aggregationType="COUNT")
    price = merchant.price(linear(metric, pricePerUnit="1.00"), name="Calls")
    return merchant, metric, price


def _month_start() -> str:
    return utcnow().date().replace(day=1).isoformat()


def test_spend_alerts_read_the_in_progress_invoice_net_or_gross(
    api: ApiClient, database: Database
) -> None:
    merchant, _, price = _billed(api)
    customer = merchant.customer()
    merchant.schedule(customer, [price], _month_start())
    spend: dict[str, Any] = {"type": "SPEND", "customerId": customer, "currency": "GBP"}
    net = create_alert(api, name="Net", threshold="26", **spend)
    gross = create_alert(api, name="Gross", threshold="30", includeTax=True, **spend)
    drain(database)
    send(api, *calls(customer, 25))
    drain(database)  # re-bills the schedule, then evaluates: net 25.00, gross 30.00
    assert firings(database, merchant.account_id, net["id"]) == []
    fired = firings(database, merchant.account_id, gross["id"])
    assert [(f.value, f.period_start.isoformat() if f.period_start else None) for f in fired] == [
        (Decimal("30.00"), _month_start())
    ]
    send(api, *calls(customer, 1, prefix="one-more"))
    drain(database)
    assert [f.value for f in firings(database, merchant.account_id, net["id"])] == [
        Decimal("26.00")
    ]
    assert len(firings(database, merchant.account_id, gross["id"])) == 1


def test_a_price_default_applies_to_its_customers_unless_their_own_alert_replaces_it(
    api: ApiClient, database: Database
) -> None:
    merchant, metric, price = _billed(api)
    billed, replaced, unbilled = (merchant.customer(f"C{n}") for n in range(3))
    for customer in (billed, replaced):
        merchant.schedule(customer, [price], _month_start())
    default = create_alert(api, name="Default", priceId=price, metricId=metric, threshold="5")
    own = create_alert(api, name="Own", customerId=replaced, metricId=metric, threshold="100")
    for customer in (billed, replaced, unbilled):
        send(api, *calls(customer, 10))
    drain(database)
    assert [f.customer_id for f in firings(database, merchant.account_id, default["id"])] == [
        billed
    ]
    assert firings(database, merchant.account_id, own["id"]) == []
    assert len(triggered(database, merchant.account_id)) == 0  # no webhook policy: no event
    status = api.get(f"/api/alert-status/{replaced}").json()["items"]
    assert [(s["alert"]["id"], s["value"], s["fired"]) for s in status] == [
        (own["id"], "10", False)
    ]
    assert api.get(f"/api/alert-status/{unbilled}").json()["items"] == []
