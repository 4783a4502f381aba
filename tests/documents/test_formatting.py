"""Amounts in documents and emails round half up to the minor unit, as invoice lines do
(£0.125 reads £0.13, its 20% tax of £0.025 reads £0.03); rates read as percentages."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI

from tally.accounts.service import Credentials
from tally.documents import render
from tally.models import Account, Invoice, InvoiceStatus
from tally.notifications.email import invoice_content
from tests.documents.helpers import pdf_text
from tests.factories import new_customer
from tests.invoices.helpers import GroupSpec, LineSpec, insert_invoice
from tests.support.api_client import ApiClient

D = Decimal
HALF_EVEN = re.compile(r"£0\.(12|02)(?!\d)")  # what Babel's own rounding would print


def half_penny_invoice(app: FastAPI, api: ApiClient, account_id: str, **columns: Any) -> str:
    """One line of 1 x £0.125 at 20% tax: net 0.125, tax 0.025, gross 0.15."""
    return insert_invoice(
        app.state.db,
        account_id,
        new_customer(api, "Half Penny Ltd"),
        groups=[GroupSpec(0, "Platform", D("0.125"), D("0.025"), D("0.15"))],
        lines=[
            LineSpec(
                0, 0, "Tiny fee", D("1"), D("0.125"), D("0.2"), D("0.125"), D("0.025"), D("0.15")
            ),
        ],
        status=InvoiceStatus.SENT,
        invoice_number="INV-0125",
        net_total=D("0.125"),
        total_tax=D("0.025"),
        gross_total=D("0.15"),
        **columns,
    )


def test_the_pdf_rounds_half_a_penny_up_and_shows_the_rate_as_a_percentage(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    invoice_id = half_penny_invoice(app, api, account.account_id)
    with app.state.db.transaction() as session:
        pdf = render.invoice_pdf(
            session, account.account_id, invoice_id, settings=app.state.settings
        )
    text = pdf_text(pdf)
    assert "1 £0.125 20% £0.13" in text  # the unit price keeps its places; the amount rounds
    assert "Tax 20% £0.13 £0.03" in text  # the tax table: rate, taxable, tax
    assert "Net total £0.13\nTax £0.03\nTotal £0.15" in text
    assert not HALF_EVEN.search(text) and "2E+1" not in text


def test_the_email_rounds_half_a_penny_up(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    invoice_id = half_penny_invoice(app, api, account.account_id, balance=D("0.125"))
    with app.state.db.session() as session:
        invoice = session.get(Invoice, invoice_id)
        merchant = session.get(Account, account.account_id)
        assert invoice is not None and merchant is not None
        content = invoice_content(merchant, invoice, "https://example.com/p", reminder="due")
    assert "for £0.15 is due today" in content.text  # the gross total
    assert "£0.13 remains to be paid." in content.text  # half a penny: up
    assert "£0.13 remains to be paid." in content.html
    assert not HALF_EVEN.search(content.text)


@pytest.mark.parametrize(
    ("value", "rate", "percentage", "quantity"),
    [
        ("2E+1", "£20.00", "2,000%", "20"),
        ("0.2E0", "£0.20", "20%", "0.2"),
        ("1E-1", "£0.10", "10%", "0.1"),
        ("1.25E-2", "£0.0125", "1.25%", "0.0125"),
        ("1.5E+3", "£1,500.00", "150,000%", "1,500"),
        ("0E-5", "£0.00", "0%", "0"),
        ("-0E-3", "£0.00", "0%", "0"),  # never "-£0.00" nor "-0"
        ("-1E-1", "-£0.10", "-10%", "-0.1"),
    ],
)
def test_rates_and_quantities_in_exponent_form_read_as_people_write_them(
    value: str, rate: str, percentage: str, quantity: str
) -> None:
    fmt = render.Formatter("GBP")
    assert fmt.rate(D(value), "ABSOLUTE") == rate
    assert fmt.rate(D(value), "PERCENTAGE") == percentage
    assert fmt.quantity(D(value)) == quantity
    assert fmt.quantity(value, "PERCENTAGE") == rate  # a percentage line's quantity is money
