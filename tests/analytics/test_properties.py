"""Hypothesis, over random invoices of a fresh account: billed revenue by month adds up to the
issued invoices of the window (net + tax = gross in every month), and the aging buckets add up
to what the issued, unpaid invoices still owe, invoice by invoice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tally.analytics import service
from tally.db import Database
from tally.models import InvoiceStatus, PaymentStatus
from tests.analytics.scenario import months_back
from tests.conftest import make_account
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.support.api_client import ApiClient

ISSUED = (InvoiceStatus.FINAL, InvoiceStatus.SENT)
cents = st.integers(0, 10_000_000).map(lambda n: Decimal(n) / 100)
invoices = st.lists(
    st.tuples(
        st.sampled_from(list(InvoiceStatus)),
        st.sampled_from(list(PaymentStatus)),
        st.sampled_from(["GBP", "EUR", "JPY"]),
        st.integers(0, 14),  # months ago issued
        st.integers(-60, 200),  # days past due today
        cents,  # net
        cents,  # tax
        st.integers(0, 100),  # per cent of the gross still owed
    ),
    max_size=12,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(made=invoices)
def test_months_and_buckets_add_up(
    http: TestClient, database: Database, made: list[tuple[Any, ...]]
) -> None:
    credentials = make_account(database, "Property merchant")
    api = ApiClient(http, (credentials.api_key, credentials.api_secret))
    customer = new_customer(api, "Prop Ltd")
    today = datetime.now(UTC).date()
    window = months_back(today, 11)
    issued_net: dict[str, Decimal] = {}
    issued_gross: dict[str, Decimal] = {}
    owed: dict[str, Decimal] = {}
    owed_count = 0
    for status, paid, currency, ago, late, net, tax, left in made:
        issued = months_back(today, ago) + timedelta(days=ago % 27)
        issued = min(issued, today)
        balance = ((net + tax) * left / 100).quantize(Decimal("0.01"))
        insert_invoice(
            database, credentials.account_id, customer, groups=[], lines=[], status=status,
            payment_status=paid, currency=currency, issue_date=issued,
            due_date=today - timedelta(days=late), net_total=net, total_tax=tax,
            gross_total=net + tax, balance=balance,
        )  # fmt: skip
        if status in ISSUED and issued >= window:
            issued_net[currency] = issued_net.get(currency, Decimal(0)) + net
            issued_gross[currency] = issued_gross.get(currency, Decimal(0)) + net + tax
        if status in ISSUED and paid is not PaymentStatus.PAID:
            owed[currency] = owed.get(currency, Decimal(0)) + balance
            owed_count += 1
    with database.session(write=False) as session:
        months = service.months_window(today)
        revenue = service.revenue(session, credentials.account_id, months)
        aging = service.receivables_aging(session, credentials.account_id, today)
    assert {f.currency: f.total.net for f in revenue} == issued_net
    assert {f.currency: f.total.gross for f in revenue} == issued_gross
    for figure in revenue:
        for month in figure.months:
            assert month.net + month.tax == month.gross
    assert {f.currency: f.total for f in aging} == owed
    assert sum(f.count for f in aging) == owed_count
    for figure in aging:
        assert sum((b.amount for b in figure.buckets), Decimal(0)) == figure.total
