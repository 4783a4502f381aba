"""Invoices for tests, written with the ORM into the real database, as the billing engine
writes them: a customer made through the API, then an invoice with groups and lines.

Groups and lines are inserted in an order other than their `index`, so reading them back in
index order is not an accident of their ids.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import event

from tally.db import Database, new_id
from tally.models import (
    BillingRun,
    BillingRunStatus,
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    InvoiceStatus,
    LineKind,
)

D = Decimal


@dataclass
class GroupSpec:
    index: int
    title: str
    net: Decimal
    tax: Decimal
    gross: Decimal
    product_id: str | None = None
    description: str | None = None


@dataclass
class LineSpec:
    index: int
    group: int | None  # the `index` of its group
    title: str
    quantity: Decimal
    rate: Decimal
    tax_rate: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal
    kind: LineKind = LineKind.PRICE
    rate_display: str = "ABSOLUTE"
    description: str | None = None
    price_id: str | None = None
    product_id: str | None = None
    service_period: tuple[date, date] | None = None
    breakdown: list[dict[str, str]] = field(default_factory=list)


def gbp_groups() -> list[GroupSpec]:
    """The groups of the default GBP invoice, last first."""
    return [
        GroupSpec(1, "Adjustments", D("-25"), D("-5"), D("-30")),
        GroupSpec(0, "Platform", D("250"), D("50.0"), D("300"), product_id=new_id()),
    ]


def gbp_lines() -> list[LineSpec]:
    """Net 225.00, tax 45.00, gross 270.00 in all; inserted out of index order."""
    return [
        LineSpec(
            2, 1, "10% off", D("1"), D("0.10"), D("0.2"), D("-25"), D("-5"), D("-30"),
            kind=LineKind.DISCOUNT, rate_display="PERCENTAGE",
        ),
        LineSpec(
            0, 0, "Platform fee", D("1"), D("100"), D("0.20"), D("100"), D("20"), D("120"),
            description="Monthly", price_id=new_id(),
            service_period=(date(2024, 5, 1), date(2024, 5, 31)),
        ),
        LineSpec(
            1, 0, "API calls", D("12000.000"), D("0.0125"), D("0.2"), D("150"), D("30"),
            D("180.00"),
            breakdown=[
                {"customerId": "child-a", "quantity": "4000"},
                {"customerId": "child-b", "quantity": "8000"},
            ],
        ),
    ]  # fmt: skip


def insert_invoice(
    database: Database,
    account_id: str,
    customer: dict[str, Any],
    *,
    groups: list[GroupSpec] | None = None,
    lines: list[LineSpec] | None = None,
    billing_run: bool = False,
    **columns: Any,
) -> str:
    """A GBP DRAFT invoice for May 2024 of `customer` (an API customer), net 225.00, with the
    default groups and lines unless given; `columns` override the invoice's."""
    groups = gbp_groups() if groups is None else groups
    lines = gbp_lines() if lines is None else lines
    values: dict[str, Any] = {
        "status": InvoiceStatus.DRAFT,
        "currency": "GBP",
        "invoice_date": date(2024, 6, 1),
        "due_date": date(2024, 7, 1),
        "payment_term_days": 30,
        "billing_period_start": date(2024, 5, 1),
        "billing_period_end": date(2024, 5, 31),
        "accounting_date": date(2024, 5, 31),
        "net_total": D("225"),
        "total_tax": D("45.0"),
        "gross_total": D("270"),
        "customer_legal_company_name": customer["legalName"],
        "customer_emails": [contact["email"] for contact in customer["contacts"]],
        "customer_billing_address": customer["address"],
        "customer_tax_status": customer["taxStatus"],
        **columns,
    }
    with database.transaction() as session:
        invoice = Invoice(id=new_id(), account_id=account_id, customer_id=customer["id"], **values)
        session.add(invoice)
        session.flush()
        if billing_run:
            assert invoice.billing_schedule_id is not None, "a billing run needs a schedule"
            run = BillingRun(
                account_id=account_id,
                billing_schedule_id=invoice.billing_schedule_id,
                invoice_date=invoice.invoice_date,
                billing_period_start=invoice.billing_period_start,
                billing_period_end=invoice.billing_period_end,
                status=BillingRunStatus.COMPLETED,
                invoice_id=invoice.id,
            )
            session.add(run)
            session.flush()
            invoice.billing_run_id = run.id
        group_ids: dict[int, str] = {}
        for spec in groups:
            group = InvoiceLineItemGroup(
                id=new_id(),
                account_id=account_id,
                invoice_id=invoice.id,
                index=spec.index,
                title=spec.title,
                description=spec.description,
                product_id=spec.product_id,
                net_total=spec.net,
                total_tax=spec.tax,
                gross_total=spec.gross,
            )
            session.add(group)
            session.flush()  # one at a time: ids in the order given
            group_ids[spec.index] = group.id
        for line in lines:
            start, end = line.service_period or (None, None)
            session.add(
                InvoiceLineItem(
                    id=new_id(),
                    account_id=account_id,
                    invoice_id=invoice.id,
                    group_id=group_ids[line.group] if line.group is not None else None,
                    index=line.index,
                    kind=line.kind,
                    title=line.title,
                    description=line.description,
                    quantity=line.quantity,
                    rate=line.rate,
                    rate_display=line.rate_display,
                    tax_rate=line.tax_rate,
                    net_total=line.net,
                    total_tax=line.tax,
                    gross_total=line.gross,
                    price_id=line.price_id,
                    product_id=line.product_id,
                    service_period_start=start,
                    service_period_end=end,
                    breakdown=line.breakdown,
                )
            )
            session.flush()
        return invoice.id


@contextmanager
def counting_statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements run meanwhile."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
