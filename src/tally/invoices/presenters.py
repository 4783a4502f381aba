"""Invoices as webhook events carry them: the API's InvoiceResponse, in three queries for any
number of invoices (the invoices, their archived customers, the account's time zone)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from tally.core.clock import local_today
from tally.invoices import service
from tally.invoices.schemas import InvoiceOut
from tally.models import Invoice, InvoiceCollection
from tally.models.scoped import get_account
from tally.notifications.events import INVOICE, presents


@presents(INVOICE)
def present_invoices(
    session: Session, account_id: str, invoice_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    rows = session.execute(
        select(Invoice, InvoiceCollection.status)
        # The dunning status, read with the invoice (collections are payments' table).
        .outerjoin(
            InvoiceCollection,
            and_(
                InvoiceCollection.account_id == Invoice.account_id,
                InvoiceCollection.invoice_id == Invoice.id,
            ),
        )
        .where(Invoice.account_id == account_id, Invoice.id.in_(invoice_ids))
        # Bulk updates (finalize) bypass the objects a session may hold: read the rows.
        .execution_options(populate_existing=True)
    ).all()
    if not rows:
        return {}
    invoices = [invoice for invoice, _ in rows]
    dunning = {invoice.id: status for invoice, status in rows if status is not None}
    archived = service.archived_customers(session, account_id, invoices)
    today = local_today(get_account(session, account_id).timezone)
    return {
        invoice.id: InvoiceOut.build(invoice, archived, today, dunning=dunning).model_dump(
            mode="json", by_alias=True
        )
        for invoice in invoices
    }
