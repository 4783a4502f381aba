"""Usage from the dashboard: the events explorer (the API's filters and pages, a customer's
every alias, local times, unmapped aliases) and metric values per month, which must be the
numbers `GET /api/usage-metrics/{id}/calculate` answers. Another account's events never show;
its customers and metrics are 404 pages. The section only reads: nothing to post."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.credits.helpers import account_id
from tests.factories import new_customer_id
from tests.metering.helpers import calculate, create_metric, event, send
from tests.support.api_client import ApiClient

EVENTS = "/dashboard/usage"
METRICS = "/dashboard/usage/metrics"
ROW = re.compile(r'<tr data-(?:event|month|customer)="([^"]+)">(.*?)</tr>', re.S)
CELL = re.compile(r'data-(value|events|skipped)="([^"]*)"')


def add_alias(api: ApiClient, customer_id: str, value: str) -> None:
    answer = api.post("/api/customer-aliases", json={"customerId": customer_id, "value": value})
    assert answer.status_code == 201, answer.text


def ids(sent: dict[str, Any]) -> list[str]:
    return [str(result["id"]) for result in sent["results"]]


def page(dashboard: TestClient, path: str = EVENTS, **params: str) -> str:
    answer = dashboard.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return str(answer.text)


def shown(dashboard: TestClient, **params: str) -> set[str]:
    """The ids of the events the explorer lists for these filters (one page)."""
    return {key for key, _ in ROW.findall(page(dashboard, **params))}


def rows(text: str) -> dict[str, dict[str, str]]:
    """Each row's key -> its value, event and skipped counts (data attributes)."""
    return {key: dict(CELL.findall(body)) for key, body in ROW.findall(text)}


def set_timezone(api: ApiClient, zone: str) -> None:
    answer = api.put(f"/api/sequence-accounts/{account_id(api)}", json={"timezone": zone})
    assert answer.status_code == 200, answer.text


# --- the events explorer ---------------------------------------------------------------------


def test_the_explorer_shows_the_accounts_events_with_their_customers(
    dashboard: TestClient, api: ApiClient, other_api: ApiClient
) -> None:
    acme = new_customer_id(api, legalName="Acme Rockets Ltd")
    add_alias(api, acme, "acme-prod")
    mapped, by_id, ghost = ids(
        send(
            api,
            event("acme-prod", "2024-05-01T10:00:00Z", region="eu", tokens=12),
            event(acme, "2024-05-02T10:00:00Z"),
            event("ghost-1", "2024-05-03T10:00:00Z"),
        )
    )
    [theirs] = ids(send(other_api, event("their-secret-alias", "2024-05-01T10:00:00Z")))

    text = page(dashboard)
    assert 'aria-current="page">Usage<' in text
    assert {key for key, _ in ROW.findall(text)} == {mapped, by_id, ghost}
    assert theirs not in text and "their-secret-alias" not in text
    assert '<span class="muted" id="event-count">3 events</span>' in text
    listed = dict(ROW.findall(text))
    for event_id in (mapped, by_id):
        assert f'href="/dashboard/customers/{acme}">Acme Rockets Ltd</a>' in listed[event_id]
        assert "unmapped" not in listed[event_id]
    assert "unmapped" in listed[ghost] and "/dashboard/customers/" not in listed[ghost]
    # Local time (UTC here), and the properties as compact JSON.
    assert "1 May 2024, 10:00:00" in listed[mapped]
    assert '{"region": "eu", "tokens": 12}' in html.unescape(listed[mapped])


def test_a_customer_means_its_every_alias_and_an_alias_just_that_one(
    dashboard: TestClient, api: ApiClient
) -> None:
    acme = new_customer_id(api, legalName="Acme Rockets Ltd")
    add_alias(api, acme, "acme-prod")
    add_alias(api, acme, "acme-staging")
    hooli = new_customer_id(api, legalName="Hooli")
    prod, staging, own_id, other = ids(
        send(
            api,
            event("acme-prod", "2024-05-01T10:00:00Z"),
            event("acme-staging", "2024-05-01T11:00:00Z"),
            event(acme, "2024-05-01T12:00:00Z"),
            event(hooli, "2024-05-01T13:00:00Z"),
        )
    )
    assert shown(dashboard, customerId=acme) == {prod, staging, own_id}
    assert shown(dashboard, customerId=hooli) == {other}
    assert shown(dashboard, customerAlias="acme-staging") == {staging}
    assert shown(dashboard, customerId=acme, customerAlias="acme-prod") == {prod}
    # An alias that is not the chosen customer's: nothing, rather than someone else's events.
    assert shown(dashboard, customerId=hooli, customerAlias="acme-prod") == set()


def test_event_type_times_and_event_id_each_narrow_the_list(
    dashboard: TestClient, api: ApiClient
) -> None:
    set_timezone(api, "Europe/London")  # BST in May: UTC+1
    early, late, other_type = ids(
        send(
            api,
            event("acme", "2024-05-01T10:00:00Z"),  # 11:00 in London
            event("acme", "2024-05-01T12:00:00Z"),  # 13:00 in London
            event("acme", "2024-05-01T11:00:00Z", event_type="login"),
        )
    )
    keyed = send(
        api, {**event("acme", "2024-05-02T10:00:00Z"), "customerEventId": "order-77/line-1"}
    )
    [with_key] = ids(keyed)

    assert shown(dashboard, eventType="login") == {other_type}
    # From includes its instant, Until does not; both are London time.
    assert shown(dashboard, eventType="api_call", **{"from": "2024-05-01T11:00"}) == {
        early,
        late,
        with_key,
    }
    assert shown(dashboard, eventType="api_call", to="2024-05-01T13:00") == {early}
    assert shown(dashboard, **{"from": "2024-05-01T11:01", "to": "2024-05-01T13:01"}) == {
        late,
        other_type,
    }
    text = page(dashboard, eventId=early)
    assert {key for key, _ in ROW.findall(text)} == {early}
    assert "1 May 2024, 11:00:00" in text  # shown in the account's time (BST)
    assert shown(dashboard, eventId="order-77/line-1") == {with_key}
    assert shown(dashboard, eventId="no-such-event") == set()


def test_unmapped_only_shows_the_aliases_that_name_no_customer(
    dashboard: TestClient, api: ApiClient
) -> None:
    acme = new_customer_id(api, legalName="Acme Rockets Ltd")
    add_alias(api, acme, "acme-prod")
    _, _, ghost, phantom = ids(
        send(
            api,
            event("acme-prod", "2024-05-01T10:00:00Z"),
            event(acme, "2024-05-01T10:00:00Z"),
            event("ghost-1", "2024-05-01T10:00:00Z"),
            event("phantom-2", "2024-05-01T10:00:00Z", event_type="login"),
        )
    )
    text = page(dashboard, unmappedAliasesOnly="true")
    assert {key for key, _ in ROW.findall(text)} == {ghost, phantom}
    assert text.count(">unmapped</span>") == 2
    assert 'name="unmappedAliasesOnly" value="true" checked' in text
    assert shown(dashboard, unmappedAliasesOnly="true", eventType="login") == {phantom}


def test_pages_of_events_keep_the_filters(dashboard: TestClient, api: ApiClient) -> None:
    sent = set(
        ids(send(api, *(event("acme", f"2024-05-01T10:{minute:02d}:00Z") for minute in range(30))))
    )
    send(api, event("acme", "2024-05-01T11:00:00Z", event_type="login"))

    first = page(dashboard, eventType="api_call")
    assert "30 events" in first
    first_ids = {key for key, _ in ROW.findall(first)}
    assert len(first_ids) == 25
    older = re.search(r'<a href="\?([^"]+)" rel="next">', first)
    assert older and 'rel="prev"' not in first
    assert "eventType=api_call" in html.unescape(older.group(1))

    second = dashboard.get(EVENTS + "?" + html.unescape(older.group(1))).text
    second_ids = {key for key, _ in ROW.findall(second)}
    assert len(second_ids) == 5 and first_ids | second_ids == sent
    newer = re.search(r'<a href="\?([^"]+)" rel="prev">', second)
    assert newer and 'rel="next"' not in second
    back = dashboard.get(EVENTS + "?" + html.unescape(newer.group(1))).text
    assert {key for key, _ in ROW.findall(back)} == first_ids


def test_wrong_filters_are_a_message_on_the_page(dashboard: TestClient, api: ApiClient) -> None:
    send(api, event("acme", "2024-05-01T10:00:00Z"))
    answer = dashboard.get(EVENTS, params={"from": "yesterday", "to": "2024-13-01T10:00"})
    assert answer.status_code == 422
    assert "&#39;yesterday&#39; is not a date and time" in answer.text
    assert 'id="to-error"' in answer.text and 'value="yesterday"' in answer.text
    assert "data-event=" not in answer.text

    reversed_times = dashboard.get(
        EVENTS, params={"from": "2024-05-02T00:00", "to": "2024-05-01T00:00"}
    )
    assert reversed_times.status_code == 422
    assert "must be later than From" in reversed_times.text

    beyond = dashboard.get(EVENTS, params={"from": "0001-01-01T00:00"})  # before year 1 in UTC
    assert beyond.status_code == 422 and 'id="from-error"' in beyond.text

    for path, name in ((EVENTS, "eventType"), (EVENTS, "eventId"), (METRICS, "metricId")):
        nul = dashboard.get(path, params={name: "api\x00call"})  # PostgreSQL cannot take it
        assert nul.status_code == 400 and "NUL characters" in nul.text

    cursor = dashboard.get(EVENTS, params={"after": "not-a-cursor"})
    assert cursor.status_code == 422 and "Invalid pagination cursor" in cursor.text


def test_another_accounts_customer_is_not_found(
    dashboard: TestClient, api: ApiClient, other_api: ApiClient
) -> None:
    theirs = new_customer_id(other_api, legalName="Their Customer")
    send(other_api, event(theirs, "2024-05-01T10:00:00Z"))
    send(api, event(theirs, "2024-05-01T10:00:00Z"))  # our event, naming their id as an alias
    answer = dashboard.get(EVENTS, params={"customerId": theirs})
    assert answer.status_code == 404
    assert "Their Customer" not in answer.text


def test_the_section_only_reads(dashboard: TestClient, visitor: TestClient) -> None:
    assert dashboard.post(EVENTS, data={"eventType": "x"}).status_code == 405
    assert dashboard.post(METRICS, data={"metricId": "x"}).status_code == 405
    signed_out = visitor.get(METRICS)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].endswith("next=/dashboard/usage/metrics")


# --- metric values ---------------------------------------------------------------------------


def api_total(
    api: ApiClient, metric: dict[str, Any], customer_id: str, start: str, end: str
) -> dict[str, str]:
    answer = calculate(api, metric, customer_id, start, end)
    return {
        "value": str(answer["value"]),
        "events": str(answer["eventCount"]),
        "skipped": str(answer["skippedEventCount"]),
    }


MONTHS = {
    "2024-03": ("2024-03-01", "2024-03-31"),
    "2024-04": ("2024-04-01", "2024-04-30"),
    "2024-05": ("2024-05-01", "2024-05-31"),
    "2024-06": ("2024-06-01", "2024-06-30"),
}


def usage_history(api: ApiClient) -> tuple[str, str]:
    """Acme (two aliases) and Hooli with usage over spring 2024, plus an unmapped alias."""
    acme = new_customer_id(api, legalName="Acme Rockets Ltd")
    add_alias(api, acme, "acme-prod")
    hooli = new_customer_id(api, legalName="Hooli")
    send(
        api,
        event("acme-prod", "2024-03-10T10:00:00Z", tokens="1.5"),
        event(acme, "2024-04-01T00:30:00Z", tokens="2.25"),
        event("acme-prod", "2024-04-30T23:30:00Z", tokens="10"),
        event("acme-prod", "2024-05-01T02:00:00Z", tokens="lots"),  # SUM skips it
        event(acme, "2024-06-15T10:00:00Z", tokens="0.1"),
        event(hooli, "2024-05-20T10:00:00Z", tokens="7"),
        event("ghost-1", "2024-05-20T10:00:00Z", tokens="100"),
    )
    return acme, hooli


def test_a_customers_months_are_the_apis_calculation(dashboard: TestClient, api: ApiClient) -> None:
    acme, _ = usage_history(api)
    count = create_metric(api, name="Calls", aggregationType="COUNT")
    tokens = create_metric(
        api, name="Tokens", aggregationType="SUM", aggregationProperty="tokens", unit="tokens"
    )
    # New York: 2024-05-01T02:00Z is still April 30th there, and 2024-04-01T00:30Z March.
    set_timezone(api, "America/New_York")
    for metric in (count, tokens):
        text = page(
            dashboard,
            METRICS,
            metricId=metric["id"],
            customerId=acme,
            fromMonth="2024-03",
            toMonth="2024-06",
        )
        shown_months = rows(text)
        assert list(shown_months) == ["2024-06", "2024-05", "2024-04", "2024-03"]
        for key, (start, end) in MONTHS.items():
            assert shown_months[key] == api_total(api, metric, acme, start, end), key
    default_range = rows(page(dashboard, METRICS, metricId=tokens["id"], customerId=acme))
    assert len(default_range) == 6  # the last six months up to this one, by default

    text = page(
        dashboard,
        METRICS,
        metricId=tokens["id"],
        customerId=acme,
        fromMonth="2024-04",
        toMonth="2024-04",
    )
    april_row = rows(text)["2024-04"]
    assert april_row == {"value": "10", "events": "2", "skipped": "1"}
    assert "Acme Rockets Ltd" in text and "tokens</span>" in text
    assert "customerId=" + acme in html.unescape(text)  # the month's events in the explorer


def test_every_customers_value_for_one_month(
    dashboard: TestClient, api: ApiClient, other_api: ApiClient
) -> None:
    acme, hooli = usage_history(api)
    tokens = create_metric(api, name="Tokens", aggregationType="SUM", aggregationProperty="tokens")
    their_metric = create_metric(other_api, name="Tokens", aggregationType="COUNT")
    theirs = new_customer_id(other_api, legalName="Their Customer")
    send(other_api, event(theirs, "2024-05-20T10:00:00Z", tokens="5"))

    text = page(dashboard, METRICS, metricId=tokens["id"], month="2024-05")
    by_customer = rows(text)
    assert list(by_customer) == [hooli, acme]  # the biggest first
    for customer_id in (acme, hooli):
        expected = api_total(api, tokens, customer_id, "2024-05-01", "2024-05-31")
        assert by_customer[customer_id] == expected
    assert f'href="/dashboard/customers/{hooli}">Hooli</a>' in text
    assert "Their Customer" not in text and their_metric["id"] not in text
    assert "May 2024" in text

    # Another account's metric or customer: a 404 page, never their numbers.
    assert dashboard.get(METRICS, params={"metricId": their_metric["id"]}).status_code == 404
    other = dashboard.get(METRICS, params={"metricId": tokens["id"], "customerId": theirs})
    assert other.status_code == 404 and "Their Customer" not in other.text


def test_this_month_is_the_default(dashboard: TestClient, api: ApiClient) -> None:
    acme = new_customer_id(api, legalName="Acme Rockets Ltd")
    metric = create_metric(api, name="Calls", aggregationType="COUNT")
    now = datetime.now(UTC)
    send(api, event(acme, now.isoformat()), event(acme, now.isoformat()))
    text = page(dashboard, METRICS)  # the first metric, every customer, this month
    assert f'value="{metric["id"]}" selected' in text
    this_month = now.strftime("%Y-%m")
    assert f'value="{this_month}"' in text
    assert rows(text)[acme] == {"value": "2", "events": "2", "skipped": "0"}
    months = rows(page(dashboard, METRICS, customerId=acme))
    assert next(iter(months)) == this_month and months[this_month]["value"] == "2"


def test_wrong_months_are_a_message(dashboard: TestClient, api: ApiClient) -> None:
    acme = new_customer_id(api)
    metric = create_metric(api, name="Calls", aggregationType="COUNT")
    cases = [
        ({"month": "May"}, "&#39;May&#39; is not a month"),
        ({"customerId": acme, "fromMonth": "2024-13"}, "is not a month"),
        ({"customerId": acme, "toMonth": "9999-12"}, "is not a month"),
        ({"customerId": acme, "fromMonth": "2024-06", "toMonth": "2024-05"}, "must not be before"),
        ({"customerId": acme, "fromMonth": "2023-01", "toMonth": "2024-05"}, "at most 12 months"),
    ]
    for params, message in cases:
        answer = dashboard.get(METRICS, params={"metricId": metric["id"], **params})
        assert answer.status_code == 422, params
        assert message in answer.text and 'class="alert field-error"' in answer.text
        assert "data-value=" not in answer.text


def test_without_metrics_the_page_says_where_to_make_one(dashboard: TestClient) -> None:
    text = page(dashboard, METRICS)
    assert "No usage metrics yet" in text and 'href="/dashboard/catalog"' in text
    assert "data-value=" not in text
