"""A credit grant, and with `createInvoice` the DRAFT one-off invoice for its cost: credits and
invoices meet here, so that credits never imports invoices (invoices spend credits)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from tally.api.types import Currency
from tally.billed.revenue import RevenueClassification
from tally.credits import service as credits
from tally.credits.schemas import CreditGrantCreate
from tally.engine.money import ZERO
from tally.invoices import drafts
from tally.invoices.schemas import InvoiceCreate, LineItemIn
from tally.models import Account, CreditGrant, InvoiceLineItem, TaxRateVersion


def create_grant(session: Session, account: Account, data: CreditGrantCreate) -> CreditGrant:
    """A grant and its GRANT ledger entry; with `createInvoice`, a DRAFT one-off invoice for
    the cost of the credit (one line, taxed at `taxRateId`'s current rate)."""
    grant, tax = credits.new_grant(session, account, data)
    line = None
    if data.create_invoice:
        line = invoice_cost(session, account, grant, tax)
        grant.invoice_id = line.invoice_id
    recorded = credits.record_grant(session, grant)
    if line is not None:
        line.credit_grant_id = recorded.id  # the line sells this grant's credits
    return recorded


def invoice_cost(
    session: Session, account: Account, grant: CreditGrant, tax: TaxRateVersion | None
) -> InvoiceLineItem:
    invoice = drafts.create_invoice(
        session,
        account,
        InvoiceCreate(currency=Currency(grant.currency), customer_id=grant.customer_id),
    )
    _, line = drafts.add_line(
        session,
        account,
        invoice.id,
        LineItemIn(
            title=grant.name,
            quantity=Decimal(1),
            rate=grant.cost_of_credit or ZERO,
            tax_rate=tax.amount if tax is not None else ZERO,
            # Paid ahead for credits: deferred revenue until they are drawn down.
            revenue_classification=RevenueClassification.PREPAYMENT,
        ),
    )
    if tax is not None and line.tax_rate == tax.amount:
        line.tax_rate_version_id = tax.id  # the invoice keeps the version it was taxed with
    return line
