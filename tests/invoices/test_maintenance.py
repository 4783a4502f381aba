"""fix-billing-runs, reconcile-with-integration and currency-conversions: Sequence's answers,
with what they mean in Tally."""

from typing import Any

import pytest
from sqlalchemy import select, update

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import BillingRun, Invoice
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.invoices.states import get, ok
from tests.schedules.helpers import Setup
from tests.support.api_client import ApiClient

RECONCILE = {"integrationService": "Xero", "invoiceIds": [], "propertiesToCompare": ["STATUS"]}


def billed_invoice(api: ApiClient, database: Database, account: Credentials) -> str:
    """An invoice billing wrote, with its billing run."""
    schedule = Setup(api).create()
    return insert_invoice(
        database,
        account.account_id,
        new_customer(api),
        billing_schedule_id=schedule["id"],
        billing_run=True,
    )


def unlink(database: Database, invoice_id: str) -> None:
    with database.transaction() as session:
        session.execute(update(Invoice).where(Invoice.id == invoice_id).values(billing_run_id=None))


def run_of(database: Database, invoice_id: str) -> str | None:
    with database.session() as session:
        return session.scalar(select(BillingRun.id).where(BillingRun.invoice_id == invoice_id))


def test_fix_billing_runs_links_invoices_back_to_the_runs_that_wrote_them(
    api: ApiClient, other_api: ApiClient, database: Database, account: Credentials
) -> None:
    broken = billed_invoice(api, database, account)
    intact = billed_invoice(api, database, account)
    one_off = insert_invoice(database, account.account_id, new_customer(api))
    unlink(database, broken)
    assert "billingRunId" not in get(api, broken)
    intact_before = get(api, intact)

    # Another account's call fixes nothing of this one.
    assert other_api.post("/api/invoices/fix-billing-runs").status_code == 202
    assert "billingRunId" not in get(api, broken)

    response = api.post("/api/invoices/fix-billing-runs")
    assert response.status_code == 202
    assert response.content == b""
    assert get(api, broken)["billingRunId"] == run_of(database, broken)
    assert get(api, intact) == intact_before
    assert "billingRunId" not in get(api, one_off)  # no run wrote it: none is made up
    logs = api.get("/api/activity-logs", params={"activityLogObjectId": broken}).json()
    [entry] = [log["activityLogItems"][0] for log in logs["items"]]
    assert entry["verb"] == "UPDATED"
    # Nothing left to fix: nothing more changes or is logged.
    assert api.post("/api/invoices/fix-billing-runs").status_code == 202
    again = api.get("/api/activity-logs", params={"activityLogObjectId": broken}).json()
    assert len(again["items"]) == 1


def test_fix_billing_runs_takes_no_body_fields_or_parameters(api: ApiClient) -> None:
    assert api.post("/api/invoices/fix-billing-runs?dryRun=true").status_code == 400


def test_reconcile_with_no_integration_connected_accepts_and_changes_nothing(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice_id = insert_invoice(database, account.account_id, new_customer(api))
    before = get(api, invoice_id)
    body = {**RECONCILE, "invoiceIds": [invoice_id], "propertiesToCompare": ["INVOICE_NUMBER"]}
    response = api.post("/api/invoices/reconcile-with-integration", json=body)
    assert response.status_code == 202
    assert response.content == b""
    assert api.post("/api/invoices/reconcile-with-integration", json=RECONCILE).status_code == 202
    assert get(api, invoice_id) == before


@pytest.mark.parametrize(
    "body",
    [
        {**RECONCILE, "integrationService": "QuickBooks"},
        {**RECONCILE, "propertiesToCompare": ["TOTAL"]},
        {"integrationService": "Xero", "invoiceIds": []},
        {**RECONCILE, "extra": True},
    ],
    ids=["service", "property", "missing", "unknown-field"],
)
def test_reconcile_refuses_bad_bodies(body: dict[str, Any], api: ApiClient) -> None:
    assert api.post("/api/invoices/reconcile-with-integration", json=body).status_code == 400


def test_reconcile_with_another_accounts_invoice_is_not_found(
    api: ApiClient, other_api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice_id = insert_invoice(database, account.account_id, new_customer(api))
    body = {**RECONCILE, "invoiceIds": [invoice_id]}
    response = other_api.post("/api/invoices/reconcile-with-integration", json=body)
    assert response.status_code == 404
    assert "invoiceIds.0" in response.text


def test_currency_conversions_are_none(
    api: ApiClient, other_api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice_id = insert_invoice(database, account.account_id, new_customer(api), currency="EUR")
    assert ok(api.get(f"/api/invoices/{invoice_id}/currency-conversions")) == {"items": []}
    assert other_api.get(f"/api/invoices/{invoice_id}/currency-conversions").status_code == 404
    assert api.get("/api/invoices/nope/currency-conversions").status_code == 404
    url = f"/api/invoices/{invoice_id}/currency-conversions"
    assert api.get(url, params={"limit": 5}).status_code == 400
