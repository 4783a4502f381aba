"""Credit lines cut down at finalize (the grant was spent meanwhile): the invoice's taxes are
rounded once per rate again (ARCHITECTURE.md "Rounding tax per rate")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.credits import ledger
from tally.db import Database
from tally.models import CreditLedgerEntry, LedgerEntryType
from tests.credits.billing_helpers import CreditMerchant, credit_lines, finalize, grant
from tests.support.api_client import ApiClient


def test_a_credit_cut_at_finalize_rounds_its_rate_once_again(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    merchant = CreditMerchant(api, currency="JPY")
    metric, usage = merchant.verifications("1")
    customer = merchant.customer()
    schedule = merchant.schedule(customer, [usage], "2024-04-01", "2024-04-30")
    units = grant(api, customer, 3, name="Units", metric_id=metric)
    merchant.verify(customer, "2024-04-10", "a", "b", "c")
    merchant.bill("2024-05-02")
    draft = merchant.invoice_for(schedule["id"], "2024-04-01")
    # 3 yen at 20 % (0.6 -> 1), all 3 credited (-0.6 -> -1): nothing owed.
    assert [line["netTotal"] for line in draft["lineItems"]] == ["3", "-3"]
    assert [line["totalTax"] for line in draft["lineItems"]] == ["1", "-1"]
    # Meanwhile 2 of the 3 credits went elsewhere: the credit line is cut to 1 at finalize.
    with database.transaction() as session:
        owner = session.execute(
            select(CreditLedgerEntry.customer_id).where(CreditLedgerEntry.grant_id == units)
        ).scalar_one()
        movement = ledger.Movement(
            units, owner, LedgerEntryType.DEBIT, Decimal(-2), date(2024, 5, 1), "elsewhere"
        )
        ledger.record(session, account.account_id, [movement])

    finalize(api, draft["id"])
    final = merchant.invoice_for(schedule["id"], "2024-04-01")
    assert [line["netTotal"] for line in credit_lines(final)] == ["-1"]
    # 2 x 20 % = 0.4 -> 0. Line by line 1 + 0 (-0.2) would owe a yen: the price line, rounded
    # 0.4 up (the credit 0.2), gives it back.
    assert [line["totalTax"] for line in final["lineItems"]] == ["0", "0"]
    assert (final["netTotal"], final["totalTax"], final["grossTotal"]) == ("2", "0", "2")
    assert [line["grossTotal"] for line in final["lineItems"]] == ["3", "-1"]
