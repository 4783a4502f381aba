"""/api/invoices/{id}/payments, /api/payments, refunds, a customer's balance and the
receivables aging report: Tally's extensions (Sequence records payments through its
integrations only, and answers them as an invoice's `paymentAllocations`)."""

from datetime import date
from typing import Annotated

from fastapi import Query, Request
from sqlalchemy import Select

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, paginate
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.core.clock import local_today
from tally.core.wire import money
from tally.invoices.service import get_invoice
from tally.models import Payment
from tally.models.scoped import get_account
from tally.payments import aging, balances, manual, queries, refunds
from tally.payments.schemas import (
    AgingBuckets,
    AgingReportOut,
    CurrencyAging,
    CurrencyBalance,
    CustomerAging,
    CustomerBalanceOut,
    PaymentCreate,
    PaymentOut,
    RefundCreate,
    RefundOut,
)
from tally.settings import Settings

router = api_router(tags=["Payments"])


def _page(session: DbSession, query: Select[Payment], paging: Paging) -> Page[PaymentOut]:
    page = paginate(session, query, Payment.id, paging)
    return Page(items=[PaymentOut.build(p) for p in page.rows], pagination=page.pagination)


@router.post(
    "/invoices/{id}/payments", status_code=201, summary="Record a payment of an invoice (Tally)"
)
def record_payment(
    id: str, body: PaymentCreate, account: CurrentAccount, session: DbSession
) -> PaymentOut:
    """Money received outside any provider, against a FINAL or SENT invoice: partial allowed,
    more than the amount due refused (`BalanceExceeded`); the amount due and payment status
    follow."""
    return PaymentOut.build(manual.record(session, account.account_id, id, body))


@router.get("/invoices/{id}/payments", summary="List an invoice's payments (Tally)")
def list_invoice_payments(
    id: str, account: CurrentAccount, session: ReplicaSession, paging: Paging
) -> Page[PaymentOut]:
    get_invoice(session, account.account_id, id)  # 404 for another account's
    return _page(session, queries.payments_query(account.account_id, invoice_ids=[id]), paging)


@router.get("/payments", summary="List payments (Tally)")
def list_payments(
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    customer_id: Annotated[str | None, Query(alias="customerId")] = None,
    invoice_id: Annotated[str | None, Query(alias="invoiceId")] = None,
) -> Page[PaymentOut]:
    query = queries.payments_query(
        account.account_id,
        customer_ids=[customer_id] if customer_id else (),
        invoice_ids=[invoice_id] if invoice_id else (),
    )
    return _page(session, query, paging)


@router.get("/payments/{id}", summary="Get a payment (Tally)")
def get_payment(id: str, account: CurrentAccount, session: DbSession) -> PaymentOut:
    return PaymentOut.build(queries.get_payment(session, account.account_id, id))


@router.post("/payments/{id}/refund", summary="Refund a payment (Tally)")
def refund_payment(
    id: str, body: RefundCreate, account: CurrentAccount, session: DbSession, request: Request
) -> RefundOut:
    """A Stripe payment is refunded through Stripe; one recorded by hand is recorded as sent
    back. A credit note documents the refund and is applied to the invoice, so its amount due
    stays closed. More than is left to refund: `BalanceExceeded`."""
    settings: Settings = request.app.state.settings
    done = refunds.refund(session, settings, account.account_id, id, body.amount, body.reason)
    return RefundOut(
        payment=PaymentOut.build(done.payment),
        credit_note_id=done.credit_note.id if done.credit_note else None,
        provider_refund_id=done.provider_refund.id if done.provider_refund else None,
    )


@router.get("/customers/{id}/balance", summary="A customer's balance (Tally)")
def customer_balance(id: str, account: CurrentAccount, session: DbSession) -> CustomerBalanceOut:
    """Per currency: what its issued invoices owe, of that what is overdue, its credit notes'
    unapplied credit, and the payments received (and refunded) to date."""
    today, figures = balances.customer_balance(session, account.account_id, id)
    return CustomerBalanceOut(
        customer_id=id,
        as_of=today,
        balances=[
            CurrencyBalance(
                currency=currency,
                outstanding=money(f.outstanding, currency),
                overdue=money(f.overdue, currency),
                unapplied_credit=money(f.unapplied_credit, currency),
                payments_received=money(f.payments_received, currency),
                refunded=money(f.refunded, currency),
            )
            for currency, f in figures.items()
        ],
    )


def _buckets(row: aging.Row, currency: str) -> dict[str, str]:
    amounts = {name: money(amount, currency) for name, amount in row.amounts.items()}
    return {**amounts, "total": money(row.total, currency)}


@router.get("/receivables/aging", summary="Receivables aging report (Tally)")
def aging_report(
    account: CurrentAccount,
    session: DbSession,
    as_of: Annotated[
        date | None,
        Query(alias="asOf", description="Default: today, in the account's time zone."),
    ] = None,
) -> AgingReportOut:
    """What issued invoices (FINAL, SENT; not PAID or VOIDED) still owe, per currency, by
    customer and in total, in buckets of days past due as of `asOf`: current (not yet due),
    1-30, 31-60, 61-90 and over 90."""
    day = as_of or local_today(get_account(session, account.account_id).timezone)
    return AgingReportOut(
        as_of=day,
        currencies=[
            CurrencyAging(
                currency=report.currency,
                customers=[
                    CustomerAging(
                        customer_id=row.customer_id,
                        customer_name=row.customer_name,
                        **_buckets(row, report.currency),
                    )
                    for row in report.customers.values()
                ],
                totals=AgingBuckets(**_buckets(report.totals, report.currency)),
            )
            for report in aging.report(session, account.account_id, day)
        ],
    )
