"""A merchant whose billing pass takes a few seconds, built through the real API on a scratch
database, for tests that bill it with real `tally worker` processes: customers on monthly,
auto-issued schedules that ended last month after a year of usage, and credit grants (money
or units) on two customers in three, small enough that billing spends them whole."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text

from tally import migrations
from tally.accounts.service import Credentials
from tally.app import create_app
from tally.db import Database
from tally.settings import Settings
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import fixed, linear
from tests.conftest import make_account
from tests.credits.billing_helpers import grant
from tests.metering.helpers import event, send
from tests.support.api_client import ApiClient
from tests.support.databases import postgres_server_url

MONTHS = 12
CASH_GRANT = Decimal(150)  # about seven months of a customer's invoices
UNIT_GRANT = Decimal(10)  # API calls: at least 12 are made over the year
EVENTS_PER_REQUEST = 1000  # the batch endpoint's limit


@dataclass(frozen=True)
class BillingBook:
    """What was set up: the account, its schedules (one per customer) and its grants."""

    account: Credentials
    schedule_ids: list[str]
    grants: dict[str, Decimal]  # grant id -> credits granted (money or units)
    months: int

    @property
    def invoices_due(self) -> int:
        # Monthly in arrears from the first of a month to the end of the last one: every
        # period is over, so every one is invoiced (and auto-issued) once.
        return len(self.schedule_ids) * self.months


def first_of_month(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def open_books(
    database: Database, data_dir: Path, customers: int, months: int = MONTHS
) -> BillingBook:
    """Migrate the (empty) database and set the merchant up on it through the API."""
    migrations.upgrade(database.engine)
    account = make_account(database)
    # Dates from today, so that every period is over whenever the test runs.
    this_month = first_of_month(datetime.now(UTC).date(), 0)
    start = first_of_month(this_month, months)
    end = this_month - timedelta(days=1)
    month_starts = [first_of_month(this_month, months - m) for m in range(months)]
    # An app of its own: the suite's session database is not needed. No rate limits.
    settings = Settings(
        data_dir=data_dir,
        database_url=database.url,
        billing_scheduler=False,
        rate_limit_per_minute=0,
        ingestion_rate_limit_per_minute=0,
        auth_failure_limit=0,
    )
    app = create_app(settings, database)
    with TestClient(app) as http:
        merchant = Merchant(ApiClient(http, (account.api_key, account.api_secret)))
        calls = merchant.usage_metric("API calls", "api_call", aggregationType="COUNT")
        prices = [
            merchant.price(fixed("20.00"), name="Platform fee"),
            merchant.price(linear(calls, pricePerUnit="0.10"), name="API calls"),
        ]
        schedule_ids: list[str] = []
        grants: dict[str, Decimal] = {}
        events = []
        for n in range(customers):
            # Names identify the same customer across databases (ids differ).
            customer = merchant.customer(f"Customer {n:03d}")
            schedule = merchant.schedule(
                customer, prices, start.isoformat(), end.isoformat(), autoIssueInvoices=True
            )
            schedule_ids.append(str(schedule["id"]))
            if n % 3 == 0:
                cash = grant(merchant.api, customer, str(CASH_GRANT), effective=str(start))
                grants[cash] = CASH_GRANT
            elif n % 3 == 1:
                units = grant(
                    merchant.api, customer, str(UNIT_GRANT), metric_id=calls, effective=str(start)
                )
                grants[units] = UNIT_GRANT
            events += [
                event(customer, f"{month}T12:00:00Z", "api_call", call=f"{n}-{month}-{k}")
                for month in month_starts
                for k in range(n % 4 + 1)
            ]
        for at in range(0, len(events), EVENTS_PER_REQUEST):
            send(merchant.api, *events[at : at + EVENTS_PER_REQUEST])
    return BillingBook(account, schedule_ids, grants, months)


@contextmanager
def twin_database(database: Database) -> Iterator[Database]:
    """An exact copy of a PostgreSQL `database` (same rows, same ids), dropped afterwards: the
    same books billed another way. The original must have no connection open meanwhile."""
    server = postgres_server_url()
    assert server, "twin databases need PostgreSQL"
    source = make_url(database.url)
    name = f"{source.database}_twin"
    database.dispose()  # PostgreSQL copies a template only while no one is connected to it
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"'))
    twin = Database(source.set(database=name).render_as_string(hide_password=False))
    try:
        yield twin
    finally:
        twin.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
