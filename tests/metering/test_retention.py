"""Retention (PostgreSQL): a month of usage events is dropped only once its export reported
every event; afterwards its usage still bills, shows in the portal and survives a rebuild of
the rollups, from the rollups kept."""

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from tally import jobs
from tally.db import Database
from tally.metering import partitions, rollups
from tally.metering.retention import (
    ExportFailed,
    ExportReceipt,
    MonthToExport,
    due_months,
    maintain,
    retire_month,
)
from tally.models import Account, UsageEventKey, UsageEventRetirement, UsageMetric
from tally.settings import Settings
from tests.billing.helpers import Merchant, amounts
from tests.catalog.price_bodies import linear
from tests.metering.helpers import event, send, value
from tests.portal.helpers import issue_session, portal_client
from tests.schedules.helpers import ok
from tests.support.api_client import ApiClient
from tests.support.databases import postgres_server_url

pytestmark = pytest.mark.skipif(postgres_server_url() is None, reason="PostgreSQL's partitions")

MARCH, APRIL = date(1971, 3, 1), date(1971, 4, 1)


@pytest.fixture
def forget_retirements(database: Database) -> Iterator[None]:
    """The retirement this test records would freeze other tests' rollups before it."""
    yield
    with database.transaction() as session:
        session.execute(delete(UsageEventRetirement).where(UsageEventRetirement.month < APRIL))


class Exporter:
    """An export hook that reads the month's partition, as the Parquet export does."""

    def __init__(self, short_by: int = 0) -> None:
        self.short_by = short_by
        self.exported: list[str] = []

    def __call__(self, session: Session, month: MonthToExport) -> ExportReceipt | None:
        rows = session.execute(
            text(f"SELECT customer_event_id FROM {month.table} ORDER BY 1")
        ).scalars()
        self.exported = list(rows)
        return ExportReceipt(f"memory://{month.month:%Y-%m}", len(self.exported) - self.short_by)


def _keys(database: Database, account_id: str) -> set[str]:
    with database.session(write=False) as session:
        return set(
            session.scalars(
                select(UsageEventKey.customer_event_id).where(
                    UsageEventKey.account_id == account_id
                )
            )
        )


def test_a_retired_month_still_bills_from_its_rollups(
    api: ApiClient, app: FastAPI, database: Database, forget_retirements: None
) -> None:
    with database.transaction() as session:
        partitions.ensure_ahead(session, MARCH, ahead=1)
    merchant = Merchant(api, currency="USD")
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    price = merchant.price(linear(metric, pricePerUnit="0.10"), name="Calls")
    customer = merchant.customer()
    send(
        api,
        *(
            {**event(customer, f"1971-03-1{n}T10:00:00Z"), "customerEventId": f"m-{n}"}
            for n in (1, 2, 3)
        ),
        *(
            {**event(customer, f"1971-04-0{n}T10:00:00Z"), "customerEventId": f"a-{n}"}
            for n in (1, 2)
        ),
    )
    schedule = merchant.schedule(customer, [price], "1971-03-01", taxed=False)
    merchant.bill("1971-05-02")
    assert amounts(merchant.invoice_for(schedule["id"], "1971-03-01")) == {"Calls": Decimal("0.30")}

    # An export that misses an event drops nothing.
    refused = pytest.raises(ExportFailed, match="3 events, the export reported 2 events")
    with refused, database.transaction() as session:
        retire_month(session, MARCH, Exporter(short_by=1))
    assert {"m-1", "m-2", "m-3"} <= _keys(database, merchant.account_id)
    with database.transaction() as session:
        assert MARCH in partitions.monthly_partitions(session)

    exporter = Exporter()
    with database.transaction() as session:
        retired = retire_month(session, MARCH, exporter)
    assert {"m-1", "m-2", "m-3"} <= set(exporter.exported)
    assert retired.month == MARCH and retired.events == len(exporter.exported)
    with database.transaction() as session:
        assert MARCH not in partitions.monthly_partitions(session)
        assert partitions.retired_until(session) == APRIL
    # The raw events and their keys are gone; April's are not.
    assert ok(api.get("/api/usage-events", params={"customerEventId": "m-1"}))["items"] == []
    assert _keys(database, merchant.account_id) == {"a-1", "a-2"}
    logs = ok(api.get("/api/activity-logs", params={"limit": 100}))["items"]
    summaries = [item["summary"] for log in logs for item in log["activityLogItems"]]
    assert any("exported to memory://1971-03" in summary for summary in summaries)

    # Usage: calculate, a full rebuild of the rollups, billing again, the portal.
    calls = {"id": metric}
    assert value(api, calls, customer, "1971-03-01", "1971-03-31") == 3
    with database.transaction() as session:
        stored = session.get(UsageMetric, metric)
        account = session.get(Account, merchant.account_id)
        assert stored is not None and account is not None
        rollups.recompute(session, stored, account.timezone, None)
    assert value(api, calls, customer, "1971-03-01", "1971-03-31") == 3
    assert value(api, calls, customer, "1971-04-01", "1971-04-30") == 2
    merchant.bill("1971-05-03")
    march = merchant.invoice_for(schedule["id"], "1971-03-01")
    assert amounts(march) == {"Calls": Decimal("0.30")}
    client = portal_client(app)
    token = issue_session(api, customer)["token"]
    usage = client.get(
        "/portal/api/usage", headers={"X-Session-Token": token}, params={"period": "1971-03-01"}
    )
    assert usage.status_code == 200, usage.text
    (group,) = usage.json()["groups"]
    assert [Decimal(m["total"]) for m in group["metrics"]] == [3]

    # Usage of the retired month is refused (it could not be replaced exactly); later is not.
    late = [event(customer, "1971-03-31T23:59:59Z"), event(customer, "1971-04-01T00:00:00Z")]
    answer = ok(api.post("/api/usage-events/batch", json={"events": late}))
    assert [result["status"] for result in answer["results"]] == ["rejected", "accepted"]
    assert "removed by retention" in answer["results"][0]["error"]["message"]
    assert value(api, calls, customer, "1971-03-01", "1971-04-30") == 6


def test_the_job_drops_nothing_without_an_export(database: Database) -> None:
    """Retention set but no export configured: partitions are made ahead, none dropped."""
    with database.transaction() as session:
        partitions.ensure_ahead(session, date(1972, 1, 1), ahead=0)
    done = maintain(database, date(1972, 6, 1), retention_months=2, export=None)
    assert done.retired == [] and done.refused == []
    with database.transaction() as session:
        assert date(1972, 1, 1) in partitions.monthly_partitions(session)
        assert date(1972, 1, 1) in due_months(session, date(1972, 6, 1), 2)
        assert date(1972, 5, 1) not in due_months(session, date(1972, 6, 1), 2)


def test_the_archive_hook_writes_each_accounts_month_as_parquet(
    api: ApiClient, other_api: ApiClient, database: Database, tmp_path: Path,
    forget_retirements: None,
) -> None:  # fmt: skip
    """The worker's retention with `TALLY_USAGE_EVENTS_ARCHIVE_DIR`: one Parquet file per
    account holding exactly its events of the month, then the partition dropped."""
    with database.transaction() as session:
        partitions.ensure_ahead(session, MARCH, ahead=1)
    sent: dict[str, set[str]] = {}
    for client, prefix, count in ((api, "ours", 3), (other_api, "theirs", 2)):
        merchant = Merchant(client, currency="USD")
        merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
        customer = merchant.customer()
        ids = {f"{prefix}-{n}" for n in range(count)}
        send(
            client,
            *({**event(customer, "1971-03-15T10:00:00Z"), "customerEventId": i} for i in ids),
        )
        sent[merchant.account_id] = ids
    hook = jobs.usage_event_export(Settings(usage_events_archive_dir=tmp_path))
    assert hook is not None
    with database.transaction() as session:
        in_partition = int(session.scalar(text(
            f"SELECT count(*) FROM {partitions.monthly_partitions(session)[MARCH]}"
        )) or 0)  # fmt: skip
        retired = retire_month(session, MARCH, hook)
    assert retired.events == in_partition and retired.location.endswith("usage-events/1971-03")
    for account_id, ids in sent.items():
        table = pq.read_table(tmp_path / "usage-events" / "1971-03" / f"{account_id}.parquet")
        assert set(table.column("customerEventId").to_pylist()) >= ids
    written = sum(
        pq.read_metadata(path).num_rows for path in (tmp_path / "usage-events").rglob("*.parquet")
    )
    assert written == in_partition
    assert not list(tmp_path.rglob("*.partial"))
    with database.transaction() as session:
        assert MARCH not in partitions.monthly_partitions(session)
