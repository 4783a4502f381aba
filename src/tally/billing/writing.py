"""Writing a run's invoices: bulk statements with ids chosen here, so a batch of any size
costs a fixed number of round trips. Recalculated invoices get all their lines anew."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tally.billed.revenue import billed_revenue
from tally.billing.customers import CustomerSnapshot
from tally.billing.planning import Existing, PlannedInvoice
from tally.billing.terms import ScheduleRecord
from tally.billing.thresholds import Issued
from tally.core.wire import plain
from tally.db import bulk_insert, new_id, table_of
from tally.engine.invoice import InvoiceDraft, Line
from tally.engine.money import ZERO
from tally.models import (
    Account,
    BillingRun,
    BillingRunStatus,
    BillingSchedule,
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    InvoiceStatus,
    LineKind,
    Price,
    Product,
    ScheduleStatus,
)

ADJUSTMENTS_TITLE = "Adjustments"  # the group of discounts and true-ups spanning products


@dataclass(frozen=True)
class InvoiceWrite:
    planned: PlannedInvoice
    draft: InvoiceDraft
    snapshot: CustomerSnapshot


@dataclass(frozen=True)
class ThresholdWrite:
    """A threshold invoice of the period `planned` bills (`billing/thresholds.py`)."""

    planned: PlannedInvoice
    step: Issued
    draft: InvoiceDraft
    snapshot: CustomerSnapshot


@dataclass(frozen=True)
class Written:
    created: int
    updated: int
    unchanged: int
    deleted: int
    invoice_ids: list[str]


def _stamped(account_id: str, now: datetime, **values: Any) -> dict[str, Any]:
    return {"account_id": account_id, "created_at": now, "updated_at": now, **values}


def _invoice_values(write: InvoiceWrite, account: Account) -> dict[str, Any]:
    planned, totals, snapshot = write.planned, write.draft.totals, write.snapshot
    schedule = planned.loaded.schedule
    period = planned.billing_period
    terms_days = schedule.default_due_date_days
    if terms_days is None:
        terms_days = account.payment_terms_days
    return {
        "customer_id": schedule.customer_id,
        "billing_schedule_id": schedule.id,
        "status": planned.status,
        "currency": planned.loaded.currency,
        "invoice_date": planned.invoice_date,
        # Projected from the invoice date; set again from the issue date at finalize.
        "due_date": planned.invoice_date + timedelta(days=terms_days),
        "payment_term_days": terms_days,
        "billing_period_start": period.start,
        "billing_period_end": period.end,
        # Arrears invoices book revenue in the period they bill, advance ones when issued.
        "accounting_date": min(planned.invoice_date, period.end),
        "net_total": totals.net,
        "total_tax": totals.tax,
        "gross_total": totals.gross,
        "purchase_order_number": schedule.purchase_order_number,
        "reference": schedule.reference,
        "memo": schedule.memo,
        "customer_legal_company_name": snapshot.legal_name,
        "customer_emails": list(snapshot.emails),
        "customer_billing_address": snapshot.address,
        "customer_tax_status": snapshot.tax_status.value,
        "attachment_assets": list(schedule.attachment_assets),
    }


def _line_values(line: Line, prices: dict[str, Price]) -> dict[str, Any]:
    service = line.service
    price = prices.get(line.price_id) if line.price_id else None
    kind = LineKind(line.kind.value)
    classification, method = billed_revenue(kind, price.pricing_type if price else None)
    return {
        "revenue_classification": classification.value,
        "revenue_recognition_method": method.value if method else None,
        "kind": LineKind(line.kind.value),
        "title": line.title,
        "description": line.description,
        "quantity": line.quantity,
        "rate": line.rate,
        "rate_display": "PERCENTAGE" if line.percentage else "ABSOLUTE",
        "tax_rate": line.tax_rate,
        "tax_rate_version_id": line.tax_rate_version_id,
        "net_total": line.net,
        "total_tax": line.tax,
        "gross_total": line.gross,
        "price_id": line.price_id,
        "product_id": line.product_id,
        "service_period_start": service.start if service else None,
        "service_period_end": service.end if service else None,
        "breakdown": [
            {"customerId": share.customer_id, "quantity": str(share.quantity)}
            for share in line.breakdown
        ],
        "credit_grant_id": line.credit_grant_id,
        "tiers": [tier.wire() for tier in line.tiers],
        "netted_discounts": [
            {
                "title": netted.title,
                "percentage": None if netted.percentage is None else plain(netted.percentage),
                "amount": plain(netted.amount),
            }
            for netted in line.netted
        ],
    }


def _grouped(
    draft: InvoiceDraft, products: dict[str, str]
) -> list[tuple[str | None, str, list[Line]]]:
    """One group per product, in the order products first appear; lines of no single
    product (discounts or true-ups across products) in a last group."""
    groups: dict[str | None, list[Line]] = {}
    for line in draft.lines:
        key = line.product_id if line.product_id in products else None
        groups.setdefault(key, []).append(line)
    ordered = sorted(groups.items(), key=lambda item: item[0] is None)
    return [
        (product_id, products[product_id] if product_id else ADJUSTMENTS_TITLE, lines)
        for product_id, lines in ordered
    ]


def _product_names(
    session: Session, account_id: str, writes: Sequence[InvoiceWrite | ThresholdWrite]
) -> dict[str, str]:
    ids = {line.product_id for w in writes for line in w.draft.lines if line.product_id}
    rows = session.execute(
        select(Product.id, Product.name).where(
            Product.account_id == account_id, Product.id.in_(ids)
        )
    )
    return dict(rows.all())


def _delete_lines(session: Session, invoice_ids: list[str]) -> None:
    session.execute(delete(InvoiceLineItem).where(InvoiceLineItem.invoice_id.in_(invoice_ids)))
    session.execute(
        delete(InvoiceLineItemGroup).where(InvoiceLineItemGroup.invoice_id.in_(invoice_ids))
    )


def _delete_invoices(session: Session, invoice_ids: list[str]) -> None:
    _delete_lines(session, invoice_ids)
    session.execute(delete(Invoice).where(Invoice.id.in_(invoice_ids)))


@dataclass
class _Rows:
    """The rows a batch of invoices inserts and updates, gathered for bulk statements."""

    account_id: str
    now: datetime
    products: dict[str, str]
    runs: list[dict[str, Any]] = field(default_factory=list)
    run_links: list[dict[str, Any]] = field(default_factory=list)  # runs older than invoices
    new_invoices: list[dict[str, Any]] = field(default_factory=list)
    updated_invoices: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)

    def stamped(self, **values: Any) -> dict[str, Any]:
        return _stamped(self.account_id, self.now, **values)

    def add_invoice(self, planned: PlannedInvoice, values: dict[str, Any]) -> str:
        existing = planned.existing
        if existing is not None and existing.invoice_id is not None:
            self.updated_invoices.append({"id": existing.invoice_id, **values})
            return existing.invoice_id
        invoice_id = new_id()
        if existing is None:
            run_id = new_id()
            period = planned.billing_period
            self.runs.append(
                self.stamped(
                    id=run_id,
                    billing_schedule_id=planned.loaded.schedule.id,
                    invoice_date=planned.invoice_date,
                    billing_period_start=period.start,
                    billing_period_end=period.end,
                    status=BillingRunStatus.COMPLETED,
                    invoice_id=invoice_id,
                )
            )
        else:
            run_id = existing.run_id
            self.run_links.append({"id": run_id, "invoice_id": invoice_id})
        self.new_invoices.append(self.stamped(id=invoice_id, billing_run_id=run_id, **values))
        return invoice_id

    def add_lines(self, invoice_id: str, draft: InvoiceDraft, prices: dict[str, Price]) -> None:
        index = 0
        for group_index, (product_id, title, lines) in enumerate(_grouped(draft, self.products)):
            group_id = new_id()
            self.groups.append(
                self.stamped(
                    id=group_id,
                    invoice_id=invoice_id,
                    index=group_index,
                    title=title,
                    product_id=product_id,
                    net_total=sum((line.net for line in lines), ZERO),
                    total_tax=sum((line.tax for line in lines), ZERO),
                    gross_total=sum((line.gross for line in lines), ZERO),
                )
            )
            for line in lines:
                self.lines.append(
                    self.stamped(
                        id=new_id(),
                        invoice_id=invoice_id,
                        group_id=group_id,
                        index=index,
                        **_line_values(line, prices),
                    )
                )
                index += 1

    def flush(self, session: Session) -> None:
        # Parents before children: runs, invoices, groups, lines. Inserts go to the tables,
        # not the ORM: it splits a batch wherever a row leaves a defaulted column None.
        bulk_insert(session, table_of(BillingRun), self.runs)
        bulk_insert(session, table_of(Invoice), self.new_invoices)
        for statement, rows in (
            (update(Invoice), self.updated_invoices),
            (update(BillingRun), self.run_links),
        ):
            if rows:
                session.execute(statement, rows)
        bulk_insert(session, table_of(InvoiceLineItemGroup), self.groups)
        bulk_insert(session, table_of(InvoiceLineItem), self.lines)


def write_invoices(
    session: Session,
    account: Account,
    writes: Sequence[InvoiceWrite],
    stale: Sequence[Existing],
    now: datetime,
) -> Written:
    """Insert new invoices (with their billing runs), rewrite recalculated ones, delete
    editable invoices of dates a schedule no longer has."""
    if stale:
        _delete_invoices(session, [run.invoice_id for run in stale if run.invoice_id])
        session.execute(delete(BillingRun).where(BillingRun.id.in_([r.run_id for r in stale])))
    rows = _Rows(account.id, now, _product_names(session, account.id, writes))
    invoice_ids = []
    unchanged = []
    for write in writes:
        values = _invoice_values(write, account)
        digest = _digest(values, write.draft)
        existing = write.planned.existing
        if existing is not None and existing.invoice_id is not None:
            invoice_ids.append(existing.invoice_id)
            if existing.digest == digest:
                unchanged.append(existing.invoice_id)
                continue
        values.update(calculation_digest=digest, calculated_at=now, updated_at=now)
        invoice_id = rows.add_invoice(write.planned, values)
        rows.add_lines(invoice_id, write.draft, write.planned.loaded.prices)
        if existing is None or existing.invoice_id is None:
            invoice_ids.append(invoice_id)
    if rows.updated_invoices:
        _delete_lines(session, [row["id"] for row in rows.updated_invoices])
    if unchanged:
        session.execute(
            update(Invoice)
            .where(Invoice.id.in_(unchanged))
            .values(calculated_at=now)
            .execution_options(synchronize_session=False)
        )
    rows.flush(session)
    return Written(
        len(rows.new_invoices), len(rows.updated_invoices), len(unchanged), len(stale), invoice_ids
    )


def write_threshold_invoices(
    session: Session,
    account: Account,
    writes: Sequence[ThresholdWrite],
    today: date,
    now: datetime,
) -> None:
    """Insert threshold invoices as DRAFTs dated today, of their period, with no billing
    run of their own (the period's run is its own invoice's); the caller issues them."""
    rows = _Rows(account.id, now, _product_names(session, account.id, writes))
    for write in writes:
        values = _invoice_values(InvoiceWrite(write.planned, write.draft, write.snapshot), account)
        period = write.step.period
        values.update(
            status=InvoiceStatus.DRAFT,
            invoice_date=today,
            due_date=today + timedelta(days=values["payment_term_days"]),
            billing_period_start=period.start,
            billing_period_end=period.end,
            accounting_date=min(today, period.end),
            calculated_at=now,
        )
        rows.new_invoices.append(
            rows.stamped(id=write.step.invoice_id, billing_run_id=None, **values)
        )
        rows.add_lines(write.step.invoice_id, write.draft, write.planned.loaded.prices)
    rows.flush(session)


def _digest(values: dict[str, Any], draft: InvoiceDraft) -> str:
    """What an invoice would be written as, in 32 hex digits: equal digests, equal rows."""
    content = repr((sorted(values.items()), draft.lines))
    return hashlib.blake2b(content.encode(), digest_size=16).hexdigest()


def mark_schedules(
    session: Session,
    schedules: Sequence[ScheduleRecord],
    finished: set[str],
    today: date,
    now: datetime,
) -> None:
    """Billed now; PENDING schedules that have started become ACTIVE, and ended ones whose
    last invoice date has come, COMPLETED."""
    rows = []
    for schedule in schedules:
        status = schedule.status
        if status is ScheduleStatus.PENDING and schedule.start_date <= today:
            status = ScheduleStatus.ACTIVE
        if schedule.id in finished and status is ScheduleStatus.ACTIVE:
            status = ScheduleStatus.COMPLETED
        rows.append({"id": schedule.id, "status": status, "billed_at": now})
    if rows:
        session.execute(update(BillingSchedule), rows)
