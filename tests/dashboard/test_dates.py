"""One date format per account: its language in its country's conventions (Babel's medium
date), moments in its time zone, on every page; never an ISO date or a UTC time beside it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tally.dashboard.web import format_day, format_when
from tally.db import Database
from tally.models import Account
from tests.dashboard.helpers import Merchant
from tests.dashboard.reading import get, world
from tests.support.api_client import ApiClient

ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def read_as(database: Database, merchant: Merchant, **account: str) -> None:
    with database.transaction() as session:
        session.execute(
            update(Account).where(Account.id == merchant.account.account_id).values(**account)
        )


def test_moments_read_in_the_accounts_time_zone() -> None:
    late = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    assert format_when(late, "en_GB", "UTC") == "7 Dec 2026, 23:30"
    assert format_when(late, "en_GB", "Europe/Berlin") == "8 Dec 2026, 00:30"  # the next day
    assert format_day(late, "de_DE", "Europe/Berlin") == "08.12.2026"
    assert format_when(None, "en_GB") == "\u2014"


@pytest.mark.parametrize(
    ("language", "country", "invoice_date", "due_date"),
    [
        ("en", "GB", "1 Jun 2024", "1 Jul 2024"),
        ("en", "US", "Jun 1, 2024", "Jul 1, 2024"),
        ("de", "DE", "01.06.2024", "01.07.2024"),
    ],
)
def test_an_account_reads_its_own_date_format_everywhere(
    dashboard: TestClient,
    database: Database,
    api: ApiClient,
    merchant: Merchant,
    language: str,
    country: str,
    invoice_date: str,
    due_date: str,
) -> None:
    made = world(database, api, merchant.account.account_id)
    read_as(database, merchant, language=language, country=country, timezone="Europe/Berlin")

    invoices, _ = get(dashboard, "/dashboard/invoices")
    assert f"{invoice_date} {due_date}" in invoices  # the rows' invoice and due dates

    # A moment: the customer's creation, in Berlin's time, in the account's format.
    created = datetime.fromisoformat(
        api.get(f"/api/customers/{made.customer_id}").json()["createdAt"].replace("Z", "+00:00")
    ).astimezone(ZoneInfo("Europe/Berlin"))
    day = {
        "GB": f"{created.day} {created:%b %Y}",
        "US": f"{created:%b} {created.day}, {created.year}",
        "DE": f"{created:%d.%m.%Y}",
    }[country]
    hour = created.strftime("%H:%M")
    if country == "US":  # 12-hour clock
        hour = f"{created.hour % 12 or 12}:{created:%M} {'AM' if created.hour < 12 else 'PM'}"
    customers, _ = get(dashboard, "/dashboard/customers")
    assert f"{day}, {hour}" in customers

    for path in (
        "/dashboard/invoices",
        "/dashboard/customers",
        f"/dashboard/customers/{made.customer_id}",
        f"/dashboard/invoices/{made.in_progress_id}",
        "/dashboard/billing-schedules",
        f"/dashboard/billing-schedules/{made.schedule_id}",
        "/dashboard/credits",
        f"/dashboard/credits/customers/{made.customer_id}",
        "/dashboard/catalog",
    ):
        text, _ = get(dashboard, path)
        # The activity log's changes are the stored values, as the API answers them.
        text = text.split(" Activity ", 1)[0]
        assert not ISO_DAY.findall(text), (path, ISO_DAY.findall(text))
        assert " UTC" not in text, path
