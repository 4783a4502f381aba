"""Invoices with many lines, and reading PDFs back as text."""

import base64
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pypdf import PdfReader

from tally.db import Database, new_id
from tally.models import CreditNote, CreditNoteLineItem, CreditNoteLineItemGroup, InvoiceStatus
from tests.invoices.helpers import GroupSpec, LineSpec
from tests.support.api_client import ApiClient

D = Decimal
PERIOD = (date(2024, 5, 1), date(2024, 5, 31))


@dataclass(frozen=True)
class ManyLines:
    groups: list[GroupSpec]
    lines: list[LineSpec]
    net: Decimal
    tax: Decimal
    gross: Decimal


def many_lines(count: int, *, per_group: int = 50) -> ManyLines:
    """`count` usage lines of a month, 20 % tax, in groups of `per_group` (one product each);
    line i costs i pounds and 25 pence, so every amount differs."""
    lines = []
    for i in range(count):
        net = D(i + 1) + D("0.25")
        tax = (net * D("0.2")).quantize(D("0.01"))
        lines.append(
            LineSpec(
                i, i // per_group, f"Metered feature {i + 1:03d}", D(i + 1), D("1.25"),
                D("0.2"), net, tax, net + tax, service_period=PERIOD,
            )
        )  # fmt: skip
    groups = []
    for index in range((count + per_group - 1) // per_group):
        members = [line for line in lines if line.group == index]
        groups.append(
            GroupSpec(
                index, f"Product {index + 1}",
                sum((line.net for line in members), D(0)),
                sum((line.tax for line in members), D(0)),
                sum((line.gross for line in members), D(0)),
            )
        )  # fmt: skip
    net = sum((line.net for line in lines), D(0))
    tax = sum((line.tax for line in lines), D(0))
    return ManyLines(groups, lines, net, tax, net + tax)


def pdf_pages(pdf: bytes) -> list[str]:
    """Each page's text."""
    assert pdf.startswith(b"%PDF-")
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def pdf_text(pdf: bytes) -> str:
    return "\n".join(pdf_pages(pdf))


# A 1x1 PNG: a logo that needs no network.
PNG_PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
DATA_LOGO = "data:image/png;base64," + base64.b64encode(PNG_PIXEL).decode()


def image_count(pdf: bytes) -> int:
    """Images drawn on the PDF's pages."""
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def account_id_of(api: ApiClient) -> str:
    return str(api.get("/api/sequence-accounts").json()["items"][0]["id"])


def insert_credit_note(
    database: Database,
    account_id: str,
    customer: dict[str, Any],
    invoice_id: str | None,
    **columns: Any,
) -> str:
    """A GBP credit note of 60.00 + 12.00 tax against the invoice: one group, two lines."""
    values: dict[str, Any] = {
        "status": InvoiceStatus.DRAFT,
        "currency": "GBP",
        "billing_period_start": date(2024, 5, 1),
        "billing_period_end": date(2024, 5, 31),
        "net_total": D("60"),
        "total_tax": D("12"),
        "gross_total": D("72"),
        "customer_legal_company_name": customer["legalName"],
        "customer_billing_address": customer["address"],
        **columns,
    }
    with database.transaction() as session:
        note = CreditNote(
            id=new_id(),
            account_id=account_id,
            customer_id=customer["id"],
            invoice_id=invoice_id,
            **values,
        )
        session.add(note)
        session.flush()
        group = CreditNoteLineItemGroup(
            account_id=account_id,
            credit_note_id=note.id,
            index=0,
            title="Platform",
            net_total=D("60"),
            total_tax=D("12"),
            gross_total=D("72"),
        )
        session.add(group)
        session.flush()
        for index, (title, net) in enumerate((("Service outage refund", D("50")),
                                              ("Goodwill credit", D("10")))):  # fmt: skip
            session.add(
                CreditNoteLineItem(
                    account_id=account_id,
                    credit_note_id=note.id,
                    group_id=group.id,
                    index=index,
                    title=title,
                    quantity=D(1),
                    rate=net,
                    tax_rate=D("0.2"),
                    net_total=net,
                    total_tax=net * D("0.2"),
                    gross_total=net * D("1.2"),
                    service_period_start=date(2024, 5, 1),
                    service_period_end=date(2024, 5, 31),
                )
            )
        return note.id
