"""Two invoices of one customer finalized at once never spend the same credit twice: the
finalizations queue on the customer's grant rows, and the second sees the first's debit.

On PostgreSQL they race on their own connections; on SQLite the database's write lock
serializes them (the same test runs on both)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.credits import ledger
from tally.db import Database
from tally.invoices import lifecycle
from tally.models import Account, CreditLedgerEntry, InvoiceLineItem, LedgerEntryType, LineKind
from tests.credits.billing_helpers import CreditMerchant, balance, credit_lines, grant
from tests.support.api_client import ApiClient


def _finalize(
    database: Database, account_id: str, invoice_id: str, start: threading.Barrier
) -> None:
    start.wait(10)
    with database.transaction() as session:
        account = session.get(Account, account_id)
        assert account is not None
        lifecycle.finalize_invoice(session, account, invoice_id)


def test_concurrent_finalizations_never_spend_a_credit_twice(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    merchant = CreditMerchant(api)
    metric, usage = merchant.verifications("1.00")
    customer = merchant.customer()
    first = merchant.schedule(customer, [usage], "2024-04-01", "2024-04-30")
    second = merchant.schedule(customer, [usage], "2024-04-01", "2024-04-30")
    units = grant(api, customer, 6, name="Units", metric_id=metric)
    merchant.verify(customer, "2024-04-10", "a", "b", "c")
    merchant.bill("2024-05-02")
    drafts = [merchant.invoice_for(s["id"], "2024-04-01") for s in (first, second)]
    # Each projects 3 of the 6 (usage of the customer counts on both schedules).
    assert [[line["quantity"] for line in credit_lines(d)] for d in drafts] == [["3"], ["3"]]
    # Meanwhile 2 credits went elsewhere: the projections (6) exceed what is left (4).
    with database.transaction() as session:
        grant_row = session.execute(
            select(CreditLedgerEntry.customer_id).where(CreditLedgerEntry.grant_id == units)
        ).scalar_one()
        ledger.record(
            session,
            account.account_id,
            [
                ledger.Movement(
                    units,
                    grant_row,
                    LedgerEntryType.DEBIT,
                    Decimal(-2),
                    date(2024, 5, 1),
                    "elsewhere",
                )
            ],
        )

    start = threading.Barrier(2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [
            pool.submit(_finalize, database, account.account_id, d["id"], start) for d in drafts
        ]:
            future.result()

    assert balance(database, account.account_id, units) == 0
    with database.session() as session:
        debits = session.scalars(
            select(CreditLedgerEntry.amount).where(
                CreditLedgerEntry.grant_id == units,
                CreditLedgerEntry.entry_type == LedgerEntryType.DEBIT,
                CreditLedgerEntry.invoice_id.is_not(None),
            )
        ).all()
        on_lines = session.scalars(
            select(InvoiceLineItem.quantity).where(
                InvoiceLineItem.credit_grant_id == units, InvoiceLineItem.kind == LineKind.CREDIT
            )
        ).all()
    # 4 spent in all (3 by whichever came first, 1 by the other), as the lines say.
    assert sorted(-Decimal(d) for d in debits) == [Decimal(1), Decimal(3)]
    assert sorted(Decimal(q) for q in on_lines) == [Decimal(1), Decimal(3)]
    finals = [merchant.invoice_for(s["id"], "2024-04-01") for s in (first, second)]
    assert sorted(f["netTotal"] for f in finals) == ["0.00", "2.00"]
    for final in finals:
        assert Decimal(final["netTotal"]) == sum(
            Decimal(line["netTotal"]) for line in final["lineItems"]
        )
