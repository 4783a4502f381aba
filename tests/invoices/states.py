"""Invoices in every state of their lifecycle, written as billing and the API leave them, and
small helpers the lifecycle tests share."""

from datetime import UTC, date, datetime
from typing import Any

import httpx

from tally.db import Database
from tally.models import InvoiceStatus, PaymentStatus
from tests.invoices.helpers import D, insert_invoice
from tests.support.api_client import ApiClient

ISSUED = {
    "invoice_number": "OLD00042",
    "issue_date": date(2024, 6, 2),
    "due_date": date(2024, 7, 2),
    "finalized_at": datetime(2024, 6, 2, 9, tzinfo=UTC),
    "balance": D("270"),
    "balance_version": 1,
}

# name -> the invoice's columns in that state
STATES: dict[str, dict[str, Any]] = {
    "IN_PROGRESS": {"status": InvoiceStatus.IN_PROGRESS},
    "DRAFT": {"status": InvoiceStatus.DRAFT},
    "FINAL": {"status": InvoiceStatus.FINAL, **ISSUED},
    "FINAL_PAID": {"status": InvoiceStatus.FINAL, **ISSUED, "payment_status": PaymentStatus.PAID},
    "SENT": {
        "status": InvoiceStatus.SENT,
        **ISSUED,
        "sent_at": datetime(2024, 6, 2, 10, tzinfo=UTC),
    },
    "SENT_PARTIALLY_PAID": {
        "status": InvoiceStatus.SENT,
        **ISSUED,
        "payment_status": PaymentStatus.PARTIALLY_PAID,
    },
    "SENT_PAID": {"status": InvoiceStatus.SENT, **ISSUED, "payment_status": PaymentStatus.PAID},
    "SENT_UNCOLLECTIBLE": {
        "status": InvoiceStatus.SENT,
        **ISSUED,
        "payment_status": PaymentStatus.UNCOLLECTIBLE,
    },
    "VOIDED": {
        "status": InvoiceStatus.VOIDED,
        **ISSUED,
        "voided_at": datetime(2024, 6, 3, tzinfo=UTC),
    },
}


def invoice_in(
    database: Database, account_id: str, customer: dict[str, Any], state: str, **columns: Any
) -> str:
    return insert_invoice(database, account_id, customer, **{**STATES[state], **columns})


def line_body(**overrides: Any) -> dict[str, Any]:
    return {"title": "Consulting", "quantity": "2", "rate": "150.00", "taxRate": "0.2", **overrides}


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def conflict(
    response: httpx.Response, *words: str, error_type: str = "InvalidStateTransition"
) -> str:
    """A refused request (400 whose `type` names the conflict) whose message says why
    (contains every one of `words`)."""
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == error_type, response.text
    message = str(response.json()["error"]["message"])
    for word in words:
        assert word in message, message
    return message


def get(api: ApiClient, invoice_id: str) -> dict[str, Any]:
    return ok(api.get(f"/api/invoices/{invoice_id}"))


def patch(api: ApiClient, url: str, body: Any) -> httpx.Response:
    return api.request("PATCH", url, json=body)


def account_settings(api: ApiClient, **fields: Any) -> dict[str, Any]:
    account_id = ok(api.get("/api/sequence-accounts"))["items"][0]["id"]
    return ok(api.put(f"/api/sequence-accounts/{account_id}", json=fields))
