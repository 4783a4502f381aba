"""The contract walk's steps for the invoice operations of branch p-invoices: each is called
once with a valid request; the client validates the answers against Sequence's schema."""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from tests.invoices.helpers import insert_invoice
from tests.support import api_client
from tests.support.api_client import ApiClient
from tests.support.sequence_schema import find_operation, response_errors

Ok = Callable[..., dict[str, Any]]


def _accepted(api: ApiClient, url: str, **kwargs: Any) -> None:
    """A 202 without a body: Sequence's schema documents no content for it."""
    response = api.post(url, **kwargs)
    assert response.status_code == 202, f"POST {url}: {response.text}"
    operation = find_operation("POST", url)
    assert operation is not None
    assert response_errors(operation, 202, None) == []
    api_client.VALIDATED.add((operation.method, operation.path))


def walk(ok: Ok, api: ApiClient, app: FastAPI, account_id: str, customer: dict[str, Any]) -> None:
    ok("GET", "/api/invoices/list-summary", params={"sortBy": "GROSS_TOTAL", "netTotal": "225"})
    draft = insert_invoice(app.state.db, account_id, customer)
    ok("PUT", f"/api/invoices/{draft}", json={"memo": "Thanks", "currency": "GBP"})
    ok("PATCH", f"/api/invoices/{draft}", json={"purchaseOrderNumber": "PO-9"})
    ok("GET", f"/api/invoices/{draft}/currency-conversions")
    other = insert_invoice(app.state.db, account_id, customer)
    ok("POST", "/api/invoices/merge", json={"invoiceIds": [draft, other]})
    sent = insert_invoice(
        app.state.db, account_id, customer, status="SENT", invoice_number="INV-W1"
    )
    ok("POST", f"/api/invoices/{sent}/send-payment-reminder")
    settings = ok("GET", "/api/invoices/render-settings")
    ok(
        "PUT",
        f"/api/invoices/render-settings/{settings['id']}",
        json={"paymentLinkDisplay": "HIDE_PAYMENT_LINK"},
    )
    _accepted(api, "/api/invoices/fix-billing-runs")
    body = {"integrationService": "Xero", "invoiceIds": [sent], "propertiesToCompare": ["STATUS"]}
    _accepted(api, "/api/invoices/reconcile-with-integration", json=body)
