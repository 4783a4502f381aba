"""Webhook events of invoices: INVOICE_CREATED (one-off and billing), INVOICE_ISSUED
(finalize, auto-issue), INVOICE_UPDATED (lines, sending, payment status, void ...), each
carrying the invoice as the API shows it; and the presenter's fixed number of queries."""

import json
from typing import Any

from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.db import Database
from tally.invoices.presenters import present_invoices
from tally.models import NotificationChannel, NotificationEvent, NotificationPolicy
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import fixed
from tests.factories import new_customer
from tests.invoices.helpers import counting_statements, insert_invoice
from tests.invoices.states import get, line_body, ok, patch
from tests.support.api_client import ApiClient


def listen(database: Database, account_id: str) -> None:
    with database.transaction() as session:
        session.add(
            NotificationPolicy(
                account_id=account_id,
                name="everything",
                channel=NotificationChannel.WEBHOOK,
                recipients=["https://example.com/hook"],
            )
        )


def events(database: Database, account_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    with database.session() as session:
        rows = session.scalars(
            select(NotificationEvent)
            .where(
                NotificationEvent.account_id == account_id,
                NotificationEvent.resource_type == "InvoiceResponse",
            )
            .order_by(NotificationEvent.id)
        )
        return [
            (row.notification_type, str(row.resource_id), json.loads(row.resource or "null"))
            for row in rows
        ]


def test_the_lifecycle_announces_itself(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    listen(database, account.account_id)
    customer = new_customer(api)
    invoice_id = ok(
        api.post("/api/invoices", json={"currency": "GBP", "customerId": customer["id"]}), 201
    )["id"]
    url = f"/api/invoices/{invoice_id}"

    ok(api.post(f"{url}/line-items", json=line_body()), 201)
    ok(api.post(f"{url}/finalize"))
    ok(api.post(f"{url}/send"))
    ok(api.put(f"{url}/payment-status", json={"paymentStatus": "UNCOLLECTIBLE"}))
    ok(api.put(f"{url}/payment-status", json={"paymentStatus": "UNCOLLECTIBLE"}))  # no change
    ok(patch(api, f"{url}/sent", {"memo": "Written off"}))
    ok(api.post(f"{url}/void"))

    announced = events(database, account.account_id)
    assert [(kind, resource["status"]) for kind, _, resource in announced] == [
        ("INVOICE_CREATED", "DRAFT"),
        ("INVOICE_UPDATED", "DRAFT"),  # a line added
        ("INVOICE_ISSUED", "FINAL"),
        ("INVOICE_UPDATED", "SENT"),
        ("INVOICE_UPDATED", "SENT"),  # payment status
        ("INVOICE_UPDATED", "SENT"),  # memo
        ("INVOICE_UPDATED", "VOIDED"),
    ]
    assert {resource_id for _, resource_id, _ in announced} == {invoice_id}
    *_, (_, _, last) = announced
    shown = get(api, invoice_id)
    assert last == {k: v for k, v in shown.items() if k not in ("lineItems", "lineItemGroups")}
    assert announced[1][2]["grossTotal"] == "360.00"


def test_billing_announces_the_invoices_it_creates_and_issues(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    listen(database, account.account_id)
    merchant = Merchant(api)
    price = merchant.price(fixed("100.00"), billingFrequency="MONTHLY")
    schedule = merchant.schedule(
        merchant.customer(), [price], "2024-01-01", "2024-12-31", autoIssueInvoices=True
    )

    merchant.bill("2024-02-01")
    merchant.bill("2024-02-01")  # nothing new: nothing announced

    january, february = merchant.invoices(schedule["id"])
    assert [
        (kind, resource_id) for kind, resource_id, _ in events(database, account.account_id)
    ] == [
        ("INVOICE_CREATED", january["id"]),
        ("INVOICE_CREATED", february["id"]),
        ("INVOICE_ISSUED", january["id"]),
        ("INVOICE_UPDATED", january["id"]),  # sent
    ]


def _selects(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


# The invoices, their archived customers, the account's time zone, their credit lines,
# payments, latest Stripe attempts and automatic collections (dunning status).
PRESENTER_QUERIES = 7


def test_the_presenter_reads_any_number_of_invoices_in_a_fixed_number_of_queries(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    ids = [insert_invoice(database, account.account_id, customer) for _ in range(5)]
    with database.session() as session:
        with counting_statements(database) as statements:
            presented = present_invoices(session, account.account_id, ids)
        assert len(_selects(statements)) == PRESENTER_QUERIES
        with counting_statements(database) as statements:
            assert present_invoices(session, account.account_id, ids[:1]).keys() == {ids[0]}
        assert len(_selects(statements)) == PRESENTER_QUERIES
        assert present_invoices(session, "another-account", ids) == {}
    assert presented.keys() == set(ids)
    shown = get(api, ids[0])
    assert presented[ids[0]] == {
        k: v for k, v in shown.items() if k not in ("lineItems", "lineItemGroups")
    }
