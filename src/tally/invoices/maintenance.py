"""Sequence's invoice maintenance operations: `fix-billing-runs` and
`reconcile-with-integration`, both answered 202 Accepted with no body.

fix-billing-runs ("fix invoices with missing billing runs"): billing writes each run and its
invoice together, naming each other. An invoice of a billing schedule that a run names but that
does not name its run back is linked to it here; nothing else changes (an invoice no run names,
a one-off or merged invoice, has no run to link, and making one would tell billing its date was
billed). Each link is an activity log entry.

reconcile-with-integration compares invoices with their records in an accounting integration
(Xero). Tally connects to none, so no invoice has a record there and there is nothing to
compare: the request is checked (its invoices must be the account's) and accepted, changing
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.api import references
from tally.models import BillingRun, Invoice
from tally.models.scoped import scoped


def fix_billing_runs(session: Session, account_id: str) -> int:
    """Link the account's invoices to the billing runs that name them; how many."""
    pairs = session.execute(
        scoped(Invoice, account_id)
        .with_only_columns(Invoice.id, Invoice.customer_id, Invoice.billing_run_id, BillingRun.id)
        .join(
            BillingRun,
            (BillingRun.invoice_id == Invoice.id) & (BillingRun.account_id == Invoice.account_id),
        )
        .where(
            Invoice.billing_schedule_id == BillingRun.billing_schedule_id,
            or_(Invoice.billing_run_id.is_(None), Invoice.billing_run_id != BillingRun.id),
        )
        .order_by(Invoice.id)
    ).all()
    if not pairs:
        return 0
    session.execute(
        update(Invoice),
        [{"id": invoice_id, "billing_run_id": run_id} for invoice_id, _, _, run_id in pairs],
    )
    activity.record_all(
        session,
        account_id,
        [
            activity.Entry(
                verb="UPDATED",
                object_type="INVOICE",
                object_id=invoice_id,
                name="Invoice linked to its billing run",
                summary=f"Invoice {invoice_id} linked to billing run {run_id}, which wrote it",
                changes=({"field": "billingRunId", "before": before, "after": run_id},),
                target_type="CUSTOMER",
                target_id=customer_id,
            )
            for invoice_id, customer_id, before, run_id in pairs
        ],
    )
    return len(pairs)


def reconcile_with_integration(
    session: Session, account_id: str, invoice_ids: Sequence[str]
) -> None:
    """Check the invoices are the account's (404 naming the first that is not); with no
    integration connected there is nothing to reconcile."""
    references.resolve(session, account_id, Invoice, references.fields("invoiceIds", invoice_ids))
