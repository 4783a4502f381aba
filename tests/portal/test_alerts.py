"""The portal's Overview shows the customer its alerts and how close each is, in its
language; a customer without alerts sees no alerts card; a new alert changes the cached
page at once (the cache's version covers the alert tables)."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from tally.db import Database
from tests.alerts.helpers import create_alert, drain
from tests.alerts.test_evaluation import calls
from tests.factories import new_customer
from tests.metering.helpers import create_metric, send
from tests.portal.helpers import issue_session, link_path
from tests.support.api_client import ApiClient


def test_the_overview_shows_how_close_each_alert_is_in_german(
    api: ApiClient, portal: TestClient, database: Database
) -> None:
    customer = new_customer(api, language="de")
    metric = create_metric(api, name="API-Aufrufe", aggregationType="COUNT")
    send(api, *calls(str(customer["id"]), 82, prefix="de"))
    before = portal.get(link_path(customer))
    assert before.status_code == 200 and 'class="card alerts"' not in before.text
    create_alert(api, customerId=customer["id"], metricId=metric["id"], threshold="100")
    create_alert(
        api, name="Guthaben", type="CREDIT_BALANCE", customerId=customer["id"],
        currency="GBP", threshold="25",
    )  # fmt: skip
    page = portal.get(link_path(customer)).text
    assert "Benachrichtigungen" in page
    assert 'API-Aufrufe:</strong> <span class="spend-alert-said">82 von 100 in diesem' in page
    assert "(82\xa0%)" in page and 'value="82"' in page
    assert "Guthaben 0,00\xa0£, Benachrichtigung unter 25,00\xa0£" in page
    assert "Erreicht" not in page
    drain(database)  # the evaluator fires the balance alert (no credits: below the level)
    page = portal.get(link_path(customer)).text
    assert page.count("Erreicht") == 1
    # The JSON API's same figures.
    token = issue_session(api, customer["id"])["token"]
    answer = portal.get("/portal/api/alerts", headers={"X-Session-Token": token})
    assert answer.status_code == 200, answer.text
    usage, balance = sorted(answer.json()["items"], key=lambda item: item["type"])[::-1]
    assert usage["type"] == "USAGE" and usage["metricName"] == "API-Aufrufe"
    assert (usage["value"], usage["threshold"], usage["fired"]) == ("82", "100", False)
    assert Decimal(usage["progress"]) == Decimal("0.82")
    assert balance["type"] == "CREDIT_BALANCE" and balance["fired"] is True


def test_a_customer_without_alerts_sees_no_alerts_card(api: ApiClient, portal: TestClient) -> None:
    mine = new_customer(api)
    other = new_customer(api)
    create_alert(api, type="SPEND", customerId=other["id"], currency="GBP", threshold="5")
    page = portal.get(link_path(mine))
    assert page.status_code == 200 and 'class="card alerts"' not in page.text
    assert "Alerts" not in page.text
