"""`queries.period_totals`: every metric over every period in one grouped query gives, pair by
pair, what `queries.totals` (the API's `/calculate`) gives for that metric and period alone,
for every aggregation, whatever the events."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tally.db import Database
from tally.metering import queries
from tally.models import UsageMetric
from tests.factories import customer_body
from tests.metering.helpers import create_metric, send
from tests.support.api_client import ApiClient

KINDS = {"COUNT": None, "SUM": "n", "MAX": "n", "UNIQUE": "user", "LATEST": "n"}
# Three months and a lone day, in no order; the day between them belongs to none.
PERIODS = [
    (date(2024, 3, 1), date(2024, 3, 31)),
    (date(2024, 1, 1), date(2024, 1, 31)),
    (date(2024, 2, 2), date(2024, 2, 29)),
    (date(2024, 4, 15), date(2024, 4, 15)),
]

# Always sent too: each period's first and last day, the day between periods, the days around.
EDGES = [
    {"alias": alias, "day": day, "n": "1.5", "user": "u9"}
    for day in {day for period in PERIODS for day in period}
    | {date(2024, 2, 1), date(2023, 12, 31), date(2024, 4, 16)}
    for alias in ("a", "stranger")
]

EVENT = st.fixed_dictionaries(
    {
        "alias": st.sampled_from(["a", "b", "stranger"]),
        "day": st.dates(min_value=date(2023, 12, 30), max_value=date(2024, 4, 16)),
        "n": st.one_of(
            st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False),
            st.just("x"),
        ),
        "user": st.sampled_from(["u1", "u2", "u3"]),
    }
)


def _metrics(api: ApiClient, database: Database, run: str) -> list[UsageMetric]:
    ids = [
        create_metric(
            api,
            name=f"{kind}-{run}",
            eventType=f"call-{run}",
            aggregationType=kind,
            **({"aggregationProperty": prop} if prop else {}),
            allowNegativeValues=True,  # the events' values are signed
        )["id"]
        for kind, prop in KINDS.items()
    ]
    with database.session(write=False) as session:
        return list(session.scalars(select(UsageMetric).where(UsageMetric.id.in_(ids))))


def _send(api: ApiClient, run: str, events: list[dict[str, Any]]) -> None:
    send(
        api,
        *(
            {
                "customerAlias": f"{item['alias']}-{run}",
                "eventType": f"call-{run}",
                "eventTimestamp": f"{item['day'].isoformat()}T{index % 24:02}:30:00Z",
                "eventProperties": {"n": str(item["n"]), "user": item["user"]},
            }
            for index, item in enumerate(events)
        ),
    )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=st.lists(EVENT, min_size=0, max_size=20))
def test_one_query_for_every_metric_and_period_equals_each_alone(
    api: ApiClient, database: Database, events: list[dict[str, Any]]
) -> None:
    run = api.post("/api/customers", json=customer_body()).json()["id"][-8:]  # fresh names
    metrics = _metrics(api, database, run)
    _send(api, run, EDGES + events)
    aliases = [f"a-{run}", f"b-{run}"]  # one customer's two names; "stranger" is someone else
    with database.session(write=False) as session:
        together = queries.period_totals(session, metrics, aliases, PERIODS)
        for metric in metrics:
            for index, (start, end) in enumerate(PERIODS):
                alone = queries.totals(session, metric, aliases, start, end)
                got = together.get((metric.id, index), queries.ZERO)
                assert got == alone, (metric.aggregation_type, index)
        assert set(together) <= {(m.id, i) for m in metrics for i in range(len(PERIODS))}


def test_nothing_asked_nothing_read(api: ApiClient, database: Database) -> None:
    metrics = _metrics(api, database, "empty")
    with database.session(write=False) as session:
        assert queries.period_totals(session, metrics, ["a-empty"], []) == {}
        assert queries.period_totals(session, [], ["a-empty"], PERIODS) == {}
