"""/api/analytics/...: each figure against numbers computed in the test from the invoices,
payments, schedules and usage it made (`scenario.py`); another account's never appear; query
parameters are checked (400 naming what is wrong)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tally.db import Database
from tests.analytics.scenario import (
    ZERO,
    Scenario,
    bucket,
    build,
    month_end,
    month_key,
    months_back,
)
from tests.support.api_client import ApiClient

D = Decimal


@pytest.fixture(scope="module")
def scenario(http: TestClient, database: Database) -> Scenario:
    return build(http, database)


def get(api: ApiClient, path: str, **params: Any) -> dict[str, Any]:
    answer = api.get(f"/api/analytics/{path}", params=params)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def by_currency(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["currency"]: entry for entry in answer["currencies"]}


def test_revenue_per_month_is_what_issued_invoices_billed(scenario: Scenario) -> None:
    answer = get(scenario.api, "revenue")
    assert answer["from"] == scenario.months[0] and answer["to"] == scenario.months[-1]
    expected: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO] * 3)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for made in scenario.issued():
        sums = expected[(made.currency, month_key(made.issued))]
        sums[0] += made.net
        sums[1] += made.tax
        sums[2] += made.gross
        counts[(made.currency, month_key(made.issued))] += 1
    credited: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for note in scenario.credit_notes():
        credited[(note["currency"], note["issueDate"][:7])] += D(note["netTotal"])
    figures = by_currency(answer)
    assert set(figures) == {"GBP", "EUR"}
    for currency, figure in figures.items():
        assert [m["month"] for m in figure["months"]] == scenario.months
        for month in figure["months"]:
            key = (currency, month["month"])
            net, tax, gross = expected[key]
            assert (month["net"], month["tax"], month["gross"]) == (
                f"{net:.2f}",
                f"{tax:.2f}",
                f"{gross:.2f}",
            ), key
            assert month["invoiceCount"] == counts[key]
            assert month["creditedNet"] == f"{credited[key]:.2f}"
            assert month["netAfterCredits"] == f"{net - credited[key]:.2f}"
        total_net = sum((v[0] for k, v in expected.items() if k[0] == currency), ZERO)
        assert figure["total"]["net"] == f"{total_net:.2f}"
    # The invoice issued 12 months ago, drafts, voided and in-progress ones: nowhere.
    assert "999.00" not in str(answer) and "777.00" not in str(answer)
    assert "888.00" not in str(answer) and "5555" not in str(answer)


def test_revenue_of_chosen_months_and_one_currency(scenario: Scenario) -> None:
    last_month = month_key(months_back(scenario.today, 1))
    answer = get(scenario.api, "revenue", **{"from": last_month, "to": last_month}, currency="GBP")
    (figure,) = answer["currencies"]
    assert figure["currency"] == "GBP"
    (month,) = figure["months"]
    assert month["net"] == "200.00" and month["gross"] == "240.00"
    assert figure["total"]["net"] == "200.00"


def test_cash_is_payments_less_refunds_by_the_month_paid(scenario: Scenario) -> None:
    answer = get(scenario.api, "cash")
    expected: dict[str, Decimal] = defaultdict(lambda: ZERO)
    refunded: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for currency, day, amount in scenario.payments:
        if currency == "GBP":
            expected[month_key(day)] += amount
    for currency, day, amount in scenario.refunds:
        if currency == "GBP":
            refunded[month_key(day)] += amount
    (figure,) = answer["currencies"]  # GBP only: the EUR invoice was never paid
    assert figure["currency"] == "GBP"
    for month in figure["months"]:
        key = month["month"]
        assert month["received"] == f"{expected[key]:.2f}", key
        assert month["refunded"] == f"{refunded[key]:.2f}", key
        assert month["net"] == f"{expected[key] - refunded[key]:.2f}", key
    total = sum(expected.values(), ZERO) - sum(refunded.values(), ZERO)
    assert figure["total"]["net"] == f"{total:.2f}"
    assert figure["total"]["paymentCount"] == len(scenario.payments)


def test_receivables_aging_buckets_what_is_owed(scenario: Scenario) -> None:
    answer = get(scenario.api, "receivables-aging")
    assert answer["asOf"] == scenario.today.isoformat()
    expected: dict[str, dict[str, list[Decimal]]] = {}
    for invoice in scenario.owed():
        buckets = expected.setdefault(invoice["currency"], {})
        due = date.fromisoformat(invoice["dueDate"])
        entry = buckets.setdefault(bucket(due, scenario.today), [ZERO, ZERO])
        entry[0] += 1
        entry[1] += D(invoice["balance"])
    figures = by_currency(answer)
    assert set(figures) == set(expected)
    for currency, figure in figures.items():
        for entry in figure["buckets"]:
            count, amount = expected[currency].get(entry["bucket"], [ZERO, ZERO])
            assert (entry["invoiceCount"], entry["amount"]) == (count, f"{amount:.2f}"), entry
        total = sum((v[1] for v in expected[currency].values()), ZERO)
        assert figure["total"] == f"{total:.2f}"
    gbp = {b["bucket"]: b for b in figures["GBP"]["buckets"]}
    # By hand: current 120 (Acme, due in 10 days); 1-30 240; 31-60 300 (FINAL); 61-90
    # 60.60 - 20.60 paid; over 90 the invoice issued a year ago (999).
    assert gbp["current"]["amount"] == "120.00"
    assert gbp["days_1_to_30"]["amount"] == "240.00"
    assert gbp["days_31_to_60"]["amount"] == "300.00"
    assert gbp["over_90_days"]["amount"] == "999.00"
    assert by_currency(answer)["EUR"]["buckets"][-1]["amount"] == "480.00"


def test_aging_as_of_another_day(scenario: Scenario) -> None:
    later = scenario.today + timedelta(days=400)
    answer = get(scenario.api, "receivables-aging", asOf=later.isoformat(), currency="EUR")
    (figure,) = answer["currencies"]
    assert [b["amount"] for b in figure["buckets"]][-1] == figure["total"] == "480.00"


def test_overdue_invoices_are_sent_unpaid_and_past_due(scenario: Scenario) -> None:
    answer = get(scenario.api, "overdue-invoices")
    expected = [
        (made.due, made.number)
        for made in scenario.invoices
        if made.status.value == "SENT" and made.paid < made.gross and made.due < scenario.today
    ]
    assert [i["invoiceNumber"] for i in answer["items"]] == [n for _, n in sorted(expected)]
    first = answer["items"][0]
    assert first["daysOverdue"] == (scenario.today - date.fromisoformat(first["dueDate"])).days
    assert "THEIRS" not in str(answer)


def test_mrr_and_arr_from_active_schedules(scenario: Scenario) -> None:
    answer = get(scenario.api, "mrr")
    figures = by_currency(answer)
    assert set(figures) == {"GBP", "EUR"}
    for currency, expected in scenario.mrr.items():
        assert figures[currency]["mrr"] == f"{expected:.2f}", currency
    assert figures["GBP"]["arr"] == "2380.00"  # 12 x (100 + 100/12 + 90), exactly
    assert figures["EUR"]["arr"] == "400.00"  # 12 x 300/3
    assert figures["GBP"]["scheduleCount"] == 2 and figures["GBP"]["customerCount"] == 2
    for currency, figure in figures.items():
        trend = figure["trend"]
        assert len(trend) == 12
        for point in trend:
            assert point["mrr"] == f"{scenario.mrr_by_month[point['month']][currency]:.2f}"
        assert trend[-1]["date"] == scenario.today.isoformat()
        assert trend[0]["date"] == month_end(months_back(scenario.today, 11)).isoformat()
    assert len(get(scenario.api, "mrr", months=3, currency="EUR")["currencies"][0]["trend"]) == 3


def test_top_customers_by_revenue_and_usage(scenario: Scenario) -> None:
    answer = get(scenario.api, "top-customers")
    expected: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for made in scenario.issued():
        expected[(made.currency, made.customer)] += made.net
    names = {c["id"]: key for key, c in scenario.customers.items()}
    for entry in answer["byRevenue"]:
        ranked = sorted(
            ((k[1], v) for k, v in expected.items() if k[0] == entry["currency"]),
            key=lambda kv: -kv[1],
        )
        assert [(names[c["customerId"]], D(c["net"])) for c in entry["customers"]] == ranked
    (usage,) = answer["byUsage"]
    assert usage["metricId"] == scenario.metric["id"] and usage["measure"] == "events"
    got = {names[c["customerId"]]: int(D(c["value"])) for c in usage["customers"]}
    assert got == scenario.usage_by_customer
    values = [D(c["value"]) for c in usage["customers"]]
    assert values == sorted(values, reverse=True)


def test_usage_per_day(scenario: Scenario) -> None:
    answer = get(scenario.api, "usage")
    assert answer["to"] == scenario.today.isoformat()
    (metric,) = answer["metrics"]
    assert len(metric["days"]) == 30
    got = {
        date.fromisoformat(d["date"]): int(d["value"]) for d in metric["days"] if d["value"] != "0"
    }
    assert got == scenario.usage_by_day
    assert metric["total"] == str(sum(scenario.usage_by_day.values()))


def test_another_account_sees_only_its_own(http: TestClient, other_api: ApiClient) -> None:
    for path in ("revenue", "cash", "receivables-aging", "mrr"):
        assert get(other_api, path)["currencies"] == [], path
    assert get(other_api, "overdue-invoices")["items"] == []
    assert get(other_api, "usage")["metrics"] == []


@pytest.mark.parametrize(
    ("path", "params", "names"),
    [
        ("revenue", {"from": "2026-13"}, "from"),
        ("revenue", {"to": "26-01"}, "to"),
        ("cash", {"from": "2026-05", "to": "2026-04"}, "from"),
        ("cash", {"from": "2020-01", "to": "2026-01"}, "at most 36"),
        ("usage", {"from": "2026-01-01", "to": "2027-06-01"}, "366"),
        ("usage", {"from": "yesterday"}, "from"),
        ("mrr", {"months": "0"}, "months"),
        ("revenue", {"currency": "POUNDS"}, "currency"),
        ("revenue", {"month": "2026-01"}, "month"),  # unknown parameter
        ("receivables-aging", {"asOf": "soon"}, "asOf"),
    ],
)
def test_bad_parameters_are_400_naming_them(
    api: ApiClient, path: str, params: dict[str, str], names: str
) -> None:
    answer = api.get(f"/api/analytics/{path}", params=params)
    assert answer.status_code == 400, answer.text
    assert names in answer.text
