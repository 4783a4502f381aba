"""Invoices to pay, and the payments API, for the payments tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from tally.db import Database
from tests.credit_notes.helpers import sent_invoice
from tests.factories import customer_body
from tests.support.api_client import ApiClient


def new_customer(api: ApiClient, name: str = "Acme Ltd") -> dict[str, Any]:
    answer = api.post("/api/customers", json=customer_body(legalName=name))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def owed_invoice(
    api: ApiClient,
    database: Database,
    account_id: str,
    customer: dict[str, Any] | None = None,
    *,
    gross: str = "270.00",
    net: str | None = None,
    due: date = date(2024, 7, 1),
    currency: str = "GBP",
    number: str = "INV-T1",
    **columns: Any,
) -> str:
    """A SENT invoice of `customer` owing its whole gross total."""
    customer = customer or new_customer(api)
    gross_total = Decimal(gross)
    net_total = Decimal(net) if net is not None else gross_total
    return sent_invoice(
        database,
        account_id,
        customer,
        gross_total=gross_total,
        net_total=net_total,
        total_tax=gross_total - net_total,
        due_date=due,
        currency=currency,
        invoice_number=number,
        **columns,
    )


def pay(api: ApiClient, invoice_id: str, amount: str, **fields: Any) -> dict[str, Any]:
    answer = api.post(f"/api/invoices/{invoice_id}/payments", json={"amount": amount, **fields})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def refund(api: ApiClient, payment_id: str, amount: str, **fields: Any) -> dict[str, Any]:
    answer = api.post(f"/api/payments/{payment_id}/refund", json={"amount": amount, **fields})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def invoice(api: ApiClient, invoice_id: str) -> dict[str, Any]:
    answer = api.get(f"/api/invoices/{invoice_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def error(answer: Any, status: int = 400) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    return dict(answer.json()["error"])
