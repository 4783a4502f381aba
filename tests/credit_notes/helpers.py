"""Credit notes for tests: SENT invoices written with the ORM (as billing and the invoice
lifecycle leave them: numbered, with a balance), and credit notes made through the API."""

from datetime import UTC, date, datetime
from typing import Any

import httpx

from tally.db import Database
from tally.models import InvoiceStatus
from tests.invoices.helpers import D, insert_invoice
from tests.support.api_client import ApiClient

# The default invoice (tests/invoices/helpers.py): GBP, net 225.00, tax 45.00, gross 270.00.
# Its lines: "Platform fee" 100 + 20 = 120, "API calls" 150 + 30 = 180, "10% off" -25 - 5 = -30.
INVOICE_GROSS = D("270")


def sent_invoice(
    database: Database, account_id: str, customer: dict[str, Any], **columns: Any
) -> str:
    """A SENT invoice of `customer`, its whole gross total still owed (balance version 1)."""
    values: dict[str, Any] = {
        "status": InvoiceStatus.SENT,
        "invoice_number": "INV-T1",
        "issue_date": date(2024, 6, 1),
        "finalized_at": datetime(2024, 6, 1, 9, tzinfo=UTC),
        "sent_at": datetime(2024, 6, 1, 10, tzinfo=UTC),
        "balance": columns.get("gross_total", INVOICE_GROSS),
        "balance_version": 1,
        **columns,
    }
    return insert_invoice(database, account_id, customer, **values)


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return dict(response.json())


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json())


def refused(response: httpx.Response, expected: int | str) -> str:
    """The error message of a refusal: `expected` is its status, or the `type` of a 400 that
    names a conflict (`InvalidStateTransition`, ...)."""
    status, error_type = (expected, None) if isinstance(expected, int) else (400, expected)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if error_type is not None:
        assert error["type"] == error_type, response.text
    message: str = error["message"]
    return message


def invoice_lines(api: ApiClient, invoice_id: str) -> dict[str, dict[str, Any]]:
    """The invoice's lines by title."""
    items = ok(api.get(f"/api/invoices/{invoice_id}/line-items"))["items"]
    return {line["title"]: line for line in items}


def new_note(api: ApiClient, invoice_id: str, customer_id: str, **fields: Any) -> dict[str, Any]:
    body = {"invoiceId": invoice_id, "customerId": customer_id, "currency": "GBP", **fields}
    return created(api.post("/api/credit-notes", json=body))


def line_body(
    title: str = "Refund", quantity: str = "1", rate: str = "10.00", tax_rate: str = "0.2",
    **fields: Any,
) -> dict[str, Any]:  # fmt: skip
    return {
        "title": title,
        "quantity": quantity,
        "rate": rate,
        "taxRate": tax_rate,
        "externalIds": [],
        **fields,
    }


def add_line(api: ApiClient, note_id: str, **fields: Any) -> dict[str, Any]:
    return created(api.post(f"/api/credit-notes/{note_id}/line-items", json=line_body(**fields)))


def act(api: ApiClient, note_id: str, action: str) -> httpx.Response:
    return api.post(f"/api/credit-notes/{note_id}/{action}")


def issued_note(
    api: ApiClient, invoice_id: str, customer_id: str, rate: str = "10.00", action: str = "finalize"
) -> dict[str, Any]:
    """A credit note of one line (`rate` + 20 % tax), finalized (or sent)."""
    note = new_note(api, invoice_id, customer_id)
    add_line(api, note["id"], rate=rate)
    return ok(act(api, note["id"], action))


def apply(
    api: ApiClient, note: dict[str, Any], invoice: dict[str, Any], amount: Any, **overrides: Any
) -> httpx.Response:
    body = {
        "creditNoteId": note["id"],
        "invoiceId": invoice["id"],
        "amount": amount,
        "currency": note["currency"],
        "creditNoteBalanceVersion": note["balanceVersion"],
        "invoiceBalanceVersion": invoice["balanceVersion"],
        **overrides,
    }
    return api.post("/api/credit-note-applications", json=body)
