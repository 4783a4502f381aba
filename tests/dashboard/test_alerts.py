"""The dashboard's alerts: created through the form (the API's rules, errors next to their
fields), listed with their scope and figures, a page with its firings, edited through the
same form (prefilled, the API's rules, logged), archived; the customer page's section shows
how close each applying alert is; another account's alert is a 404."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tally.dashboard.alerts import PAGE_SIZE
from tally.db import Database
from tests.alerts.helpers import create_alert, drain
from tests.alerts.test_evaluation import calls
from tests.dashboard.helpers import page_token
from tests.factories import customer_body
from tests.metering.helpers import create_metric, send
from tests.support.api_client import ApiClient


def _post(dashboard: TestClient, path: str, **data: str) -> Any:
    token = page_token(dashboard, "/dashboard/alerts/new")
    return dashboard.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def _customer_with_usage(api: ApiClient, alias: str, count: int) -> tuple[str, str]:
    customer = api.post("/api/customers", json=customer_body(legalName="Acme Rockets Ltd"))
    assert customer.status_code == 201, customer.text
    customer_id = str(customer.json()["id"])
    body = {"customerId": customer_id, "value": alias}
    assert api.post("/api/customer-aliases", json=body).status_code == 201
    metric = create_metric(api, name="API calls", aggregationType="COUNT")
    if count:
        send(api, *calls(alias, count))
    return customer_id, str(metric["id"])


def test_an_alert_created_through_the_form_shows_its_figures_and_fires(
    dashboard: TestClient, api: ApiClient, database: Database
) -> None:
    customer_id, metric_id = _customer_with_usage(api, "acme-dash-1", 8)
    answer = _post(
        dashboard, "/dashboard/alerts",
        name="Usage cap", scope="customer", customerId=customer_id, type="USAGE",
        metricId=metric_id, threshold="10", currency="", emailAddresses="ops@example.com",
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    [alert] = api.get("/api/alerts").json()["items"]
    assert alert["customerId"] == customer_id and alert["emailAddresses"] == ["ops@example.com"]
    assert answer.headers["location"] == f"/dashboard/alerts/{alert['id']}?done=created"
    listed = dashboard.get("/dashboard/alerts").text
    assert f'data-alert="{alert["id"]}"' in listed and "Acme Rockets Ltd" in listed
    assert "API calls" in listed and "ops@example.com" in listed
    # The customer page: 8 of 10, not fired; then 12 of 10, fired, and the firing listed.
    page = dashboard.get(f"/dashboard/customers/{customer_id}").text
    section = page[page.index('id="alerts"') :]
    assert re.search(r'alert-value">8</span> of <span class="alert-threshold">10<', section)
    assert "(80 %)" in section and 'value="80"' in section and "Not fired" in section
    assert f"/dashboard/alerts/new?customerId={customer_id}" in section
    send(api, *calls("acme-dash-1", 4, prefix="more"))
    drain(database)
    section = dashboard.get(f"/dashboard/customers/{customer_id}").text
    assert "(100 %)" in section and ">Fired<" in section and "Recent firings" in section
    detail = dashboard.get(f"/dashboard/alerts/{alert['id']}?done=created").text
    assert 'data-firing="' in detail and "Alert created." in detail
    assert re.search(r'class="num">12</td>\s*<td class="num">10</td>', detail)


def test_a_price_default_is_listed_and_archived(dashboard: TestClient, api: ApiClient) -> None:
    product = api.post("/api/products", json={"name": "Compute"}).json()
    price = api.post(
        "/api/prices",
        json={
            "productId": product["id"], "name": "Compute monthly", "currency": "GBP",
            "billingFrequency": "MONTHLY", "billingType": "IN_ARREARS",
            "structure": {"pricingType": "FIXED", "price": "10"},
        },
    )  # fmt: skip
    assert price.status_code == 201, price.text
    answer = _post(
        dashboard, "/dashboard/alerts",
        name="Spend cap", scope="price", priceId=price.json()["id"], type="SPEND",
        threshold="500", currency="GBP", includeTax="on", notifyCustomer="on",
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    [alert] = api.get("/api/alerts").json()["items"]
    assert alert["priceId"] == price.json()["id"] and alert["includeTax"] is True
    listed = dashboard.get("/dashboard/alerts").text
    assert "Price default" in listed and "Compute monthly" in listed and "incl. tax" in listed
    detail = dashboard.get(f"/dashboard/alerts/{alert['id']}").text
    assert "This alert has not fired yet." in detail
    archived = _post(dashboard, f"/dashboard/alerts/{alert['id']}/archive")
    assert archived.status_code == 303
    assert api.get(f"/api/alerts/{alert['id']}").json()["archived"] is True
    detail = dashboard.get(f"/dashboard/alerts/{alert['id']}?done=archived").text
    assert "Alert archived" in detail and "Archive alert" not in detail


def test_the_apis_rules_show_next_to_their_fields(dashboard: TestClient, api: ApiClient) -> None:
    customer_id, _ = _customer_with_usage(api, "acme-dash-2", 0)
    # A USAGE alert without its metric: the service's rule, next to the metric.
    answer = _post(
        dashboard, "/dashboard/alerts",
        name="No metric", scope="customer", customerId=customer_id, type="USAGE",
        threshold="10", currency="",
    )  # fmt: skip
    assert answer.status_code == 422
    assert re.search(
        r'id="metricId-error">Usage metric: a USAGE alert names its metric', answer.text
    )
    # A threshold that is no number, and no customer chosen.
    answer = _post(
        dashboard, "/dashboard/alerts",
        name="Bad", scope="customer", customerId="", type="SPEND", threshold="ten", currency="GBP",
    )  # fmt: skip
    assert answer.status_code == 422
    assert 'id="threshold-error">Threshold: enter a number' in answer.text
    assert 'id="customerId-error">Customer: choose one' in answer.text
    assert api.get("/api/alerts").json()["items"] == []


def test_another_accounts_alert_is_not_found(
    dashboard: TestClient, api: ApiClient, other_api: ApiClient
) -> None:
    customer = other_api.post("/api/customers", json=customer_body()).json()
    theirs = create_alert(
        other_api, type="SPEND", customerId=customer["id"], currency="GBP", threshold="5"
    )
    assert dashboard.get(f"/dashboard/alerts/{theirs['id']}").status_code == 404
    assert _post(dashboard, f"/dashboard/alerts/{theirs['id']}/archive").status_code == 404
    assert other_api.get(f"/api/alerts/{theirs['id']}").json()["archived"] is False
    # Their customer in our form: refused next to the field, nothing written.
    answer = _post(
        dashboard, "/dashboard/alerts",
        name="X", scope="customer", customerId=customer["id"], type="SPEND", threshold="5",
        currency="GBP",
    )  # fmt: skip
    assert answer.status_code == 422 and 'id="customerId-error"' in answer.text
    assert api.get("/api/alerts").json()["items"] == []


def test_an_alert_is_edited_through_its_prefilled_form(
    dashboard: TestClient, api: ApiClient, other_api: ApiClient
) -> None:
    customer_id, metric_id = _customer_with_usage(api, "acme-dash-3", 0)
    alert = create_alert(
        api, customerId=customer_id, metricId=metric_id, threshold="10",
        emailAddresses=["ops@example.com"], notifyCustomer=True,
    )  # fmt: skip
    form = dashboard.get(f"/dashboard/alerts/{alert['id']}/edit").text
    assert 'value="Usage cap"' in form and 'value="10"' in form and "ops@example.com" in form
    assert f'<option value="{customer_id}" selected>' in form
    assert re.search(r'id="alert-notify-customer" name="notifyCustomer" checked', form)
    assert f'action="/dashboard/alerts/{alert["id"]}"' in form and "Save alert" in form
    fields = {
        "name": "Usage cap, raised", "scope": "customer", "customerId": customer_id,
        "type": "USAGE", "metricId": metric_id, "threshold": "25.5", "currency": "",
        "emailAddresses": "ops@example.com\nfinance@example.com", "notifyCustomer": "on",
    }  # fmt: skip
    refused = _post(dashboard, f"/dashboard/alerts/{alert['id']}", **{**fields, "threshold": "x"})
    assert refused.status_code == 422 and 'id="threshold-error"' in refused.text
    assert "The alert was not saved" in refused.text
    assert api.get(f"/api/alerts/{alert['id']}").json()["threshold"] == alert["threshold"]
    saved = _post(dashboard, f"/dashboard/alerts/{alert['id']}", **fields)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/dashboard/alerts/{alert['id']}?done=updated"
    now = api.get(f"/api/alerts/{alert['id']}").json()
    assert now["id"] == alert["id"] and now["name"] == "Usage cap, raised"
    assert now["threshold"] == "25.5" and now["notifyCustomer"] is True
    assert now["emailAddresses"] == ["ops@example.com", "finance@example.com"]
    logged = api.get("/api/activity-logs", params={"activityLogObjectId": alert["id"]})
    changes = [
        item["metadata"] for log in logged.json()["items"] for item in log["activityLogItems"]
    ]
    assert any({"field": "threshold", "before": "10", "after": "25.5"} in c for c in changes)
    # Archived: no edit form, no change; another account's: not found.
    assert _post(dashboard, f"/dashboard/alerts/{alert['id']}/archive").status_code == 303
    assert dashboard.get(f"/dashboard/alerts/{alert['id']}/edit").status_code == 400
    assert _post(dashboard, f"/dashboard/alerts/{alert['id']}", **fields).status_code == 400
    customer = other_api.post("/api/customers", json=customer_body()).json()
    theirs = create_alert(
        other_api, type="SPEND", customerId=customer["id"], currency="GBP", threshold="5"
    )
    assert dashboard.get(f"/dashboard/alerts/{theirs['id']}/edit").status_code == 404
    assert _post(dashboard, f"/dashboard/alerts/{theirs['id']}", **fields).status_code == 404
    assert other_api.get(f"/api/alerts/{theirs['id']}").json()["threshold"] == "5"


def test_the_list_pages_through_every_alert(dashboard: TestClient, api: ApiClient) -> None:
    customer = api.post("/api/customers", json=customer_body()).json()
    made = [
        create_alert(
            api, name=f"Cap {n}", type="SPEND", customerId=customer["id"], currency="GBP",
            threshold=str(n + 1),
        )["id"]
        for n in range(PAGE_SIZE + 3)
    ]  # fmt: skip
    seen: list[str] = []
    path = "/dashboard/alerts"
    while path:
        page = dashboard.get(path)
        assert page.status_code == 200
        seen += re.findall(r'data-alert="([^"]+)"', page.text)
        following = re.search(r'href="(\?after=[^"]+)" rel="next"', page.text)
        path = f"/dashboard/alerts{following.group(1)}" if following else ""
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    assert dashboard.get("/dashboard/alerts?after=nonsense").status_code == 400
