"""Credit grants of billing schedule phases: stored and answered with the schedule, handed out
by billing runs once per refresh period, expiring or rolling over at refresh."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.credits.expiry import expire_due
from tally.db import Database
from tally.invoices import lifecycle
from tally.models import Account, CreditGrant, CreditLedgerEntry
from tests.credits.billing_helpers import CreditMerchant, credit_lines, ledger
from tests.schedules.helpers import ok, phase
from tests.support.api_client import ApiClient


def monthly_units(metric: str | None = None, rollover: str = "NONE") -> dict[str, Any]:
    grant: dict[str, Any] = {
        "name": "Monthly verifications",
        "creditUnitType": "METRIC",
        "amount": 10,
        "grantRefreshFrequency": "MONTHLY",
        "rolloverMode": rollover,
    }
    if metric:
        grant["metricId"] = metric
    return grant


def handed_out(database: Database, account_id: str) -> list[tuple[str, str | None, str]]:
    with database.session() as session:
        rows = session.execute(
            select(CreditGrant.effective_date, CreditGrant.expiry_date, CreditGrant.id)
            .where(CreditGrant.account_id == account_id)
            .order_by(CreditGrant.effective_date)
        ).all()
    return [(str(start), str(end) if end else None, grant_id) for start, end, grant_id in rows]


def entries(database: Database, account_id: str, grant_id: str) -> list[tuple[str, Decimal, date]]:
    """The grant's entries (type, amount, date), in the order recorded."""
    with database.session() as session:
        rows = session.execute(
            select(
                CreditLedgerEntry.entry_type,
                CreditLedgerEntry.amount,
                CreditLedgerEntry.effective_date,
            )
            .where(
                CreditLedgerEntry.account_id == account_id, CreditLedgerEntry.grant_id == grant_id
            )
            .order_by(CreditLedgerEntry.created_at, CreditLedgerEntry.id)
        ).all()
    return [(kind.value, Decimal(amount), day) for kind, amount, day in rows]


def expired(database: Database, today: date, grant_id: str) -> list[tuple[str, Decimal]]:
    """What an expiry pass on `today` expires of the grant (the pass covers every account)."""
    return [found for found in expire_due(database, today=today).expired if found[0] == grant_id]


def _setup(
    api: ApiClient, rollover: str, auto_issue: bool = False
) -> tuple[CreditMerchant, str, dict[str, Any]]:
    merchant = CreditMerchant(api)
    _, usage = merchant.verifications("1.00")
    customer = merchant.customer()
    spec = {**phase([usage], "2024-04-01", None), "creditGrants": [monthly_units(None, rollover)]}
    schedule = merchant.schedule(
        customer, [usage], "2024-04-01", None, phases=[spec], autoIssueInvoices=auto_issue
    )
    merchant.verify(customer, "2024-04-10", *[f"a{n}" for n in range(4)])
    merchant.verify(customer, "2024-05-10", *[f"b{n}" for n in range(15)])
    return merchant, customer, schedule


def test_phase_grants_are_stored_and_answered_with_the_schedule(api: ApiClient) -> None:
    _, _, schedule = _setup(api, "NONE")
    [grant] = schedule["phases"][0]["creditGrants"]
    assert grant["name"] == "Monthly verifications"
    assert (grant["amount"], grant["grantRefreshFrequency"], grant["rolloverMode"]) == (
        10,
        "MONTHLY",
        "NONE",
    )
    assert grant["restrictToPrices"] == []
    # Updated without creditGrants: kept as they were (same id).
    body = {
        "startDate": schedule["startDate"],
        "phases": [
            {"priceIds": schedule["phases"][0]["priceIds"], "startDate": schedule["startDate"]}
        ],
    }
    updated = ok(api.put(f"/api/billing-schedules/{schedule['id']}", json=body))
    assert [g["id"] for g in updated["phases"][0]["creditGrants"]] == [grant["id"]]
    # Re-sent with its id: kept; a new one added.
    body["phases"][0]["creditGrants"] = [
        {**monthly_units(), "id": grant["id"]},
        {**monthly_units(), "name": "Extra", "rolloverMode": "ON_GRANT_REFRESH"},
    ]
    updated = ok(api.put(f"/api/billing-schedules/{schedule['id']}", json=body))
    names = [(g["id"] == grant["id"], g["name"]) for g in updated["phases"][0]["creditGrants"]]
    assert names == [(True, "Monthly verifications"), (False, "Extra")]


def test_a_monthly_phase_grant_without_rollover(
    api: ApiClient, account: Credentials, database: Database
) -> None:
    """Each period's invoice spends its period's grant (its last usable day is the
    period's); what April leaves expires with it rather than carrying into May."""
    merchant, _, schedule = _setup(api, "NONE", auto_issue=True)

    for day in ("2024-04-20", "2024-05-01", "2024-05-20", "2024-06-01", "2024-06-02"):
        merchant.bill(day)
    merchant.bill("2024-06-02")  # again: nothing handed out or debited twice

    grants = handed_out(database, account.account_id)
    assert [(start, end) for start, end, _ in grants] == [
        ("2024-04-01", "2024-04-30"),
        ("2024-05-01", "2024-05-31"),
        ("2024-06-01", "2024-06-30"),
    ]
    april = merchant.invoice_for(schedule["id"], "2024-04-01")
    may = merchant.invoice_for(schedule["id"], "2024-05-01")
    # April uses 4 of April's 10; the 6 left do not carry into May: May gets its own 10.
    assert [(c["quantity"], c["netTotal"]) for c in credit_lines(april)] == [("4", "-4.00")]
    assert [(c["quantity"], c["netTotal"]) for c in credit_lines(may)] == [("10", "-10.00")]
    assert may["netTotal"] == "5.00"
    april_grant, may_grant, june_grant = [grant_id for _, _, grant_id in grants]
    assert ledger(database, account.account_id, april_grant) == [
        ("GRANT", Decimal(10)),
        ("DEBIT", Decimal(-4)),
    ]
    assert ledger(database, account.account_id, may_grant) == [
        ("GRANT", Decimal(10)),
        ("DEBIT", Decimal(-10)),
    ]
    assert ledger(database, account.account_id, june_grant) == [("GRANT", Decimal(10))]


def test_a_monthly_phase_grant_without_rollover_on_a_draft_finalized_days_later(
    api: ApiClient, account: Credentials, database: Database
) -> None:
    """The grant is judged by the billing period, not the day the invoice is finalized:
    April's DRAFT, reviewed and finalized on 3 May, still takes April's credits, and the
    expiry job leaves them alone while it projects them; then what is left expires."""
    merchant, _, schedule = _setup(api, "NONE")
    merchant.bill("2024-05-01")  # April closes: its DRAFT projects 4 of April's grant
    april_grant = handed_out(database, account.account_id)[0][2]

    assert expired(database, date(2024, 5, 3), april_grant) == []
    merchant.bill("2024-05-03")  # recalculated after April's grant's last day: still 4
    april = merchant.invoice_for(schedule["id"], "2024-04-01")
    assert april["status"] == "DRAFT"
    assert [(c["quantity"], c["creditGrantId"]) for c in credit_lines(april)] == [
        ("4", april_grant)
    ]

    with database.transaction() as session:
        merchant_account = session.get(Account, account.account_id)
        assert merchant_account is not None
        assert lifecycle.finalize(session, merchant_account, [april["id"]], date(2024, 5, 3))
    april = merchant.invoice_for(schedule["id"], "2024-04-01")
    assert [c["quantity"] for c in credit_lines(april)] == ["4"]
    assert april["netTotal"] == "0.00"
    # No open invoice projects on it any more: the 6 left expire (dated after the debit).
    assert expired(database, date(2024, 5, 3), april_grant) == [(april_grant, Decimal(6))]
    assert entries(database, account.account_id, april_grant) == [
        ("GRANT", Decimal(10), date(2024, 4, 1)),
        ("DEBIT", Decimal(-4), date(2024, 5, 3)),
        ("EXPIRY", Decimal(-6), date(2024, 5, 3)),
    ]
    # May's IN_PROGRESS invoice spends May's grant only.
    may = merchant.invoice_for(schedule["id"], "2024-05-01")
    assert [c["quantity"] for c in credit_lines(may)] == ["10"]
    assert {c["creditGrantId"] for c in credit_lines(may)} != {april_grant}


def test_a_monthly_phase_grant_with_rollover(
    api: ApiClient, account: Credentials, database: Database
) -> None:
    merchant, _, schedule = _setup(api, "ON_GRANT_REFRESH")

    merchant.bill("2024-04-20")  # April's grant; April's invoice projects 4
    merchant.bill("2024-05-20")  # May's: April's remainder (6) rolls into it
    merchant.bill("2024-06-02")

    april_grant, may_grant, june_grant = [g for _, _, g in handed_out(database, account.account_id)]
    assert ledger(database, account.account_id, april_grant) == [
        ("GRANT", Decimal(10)),
        ("ROLLOVER", Decimal(-6)),
    ]
    assert ledger(database, account.account_id, may_grant) == [
        ("GRANT", Decimal(10)),
        ("ROLLOVER", Decimal(6)),
        ("ROLLOVER", Decimal(-1)),  # what May's invoice leaves, into June's
    ]
    april = merchant.invoice_for(schedule["id"], "2024-04-01")
    may = merchant.invoice_for(schedule["id"], "2024-05-01")
    assert [c["quantity"] for c in credit_lines(april)] == ["4"]
    # May's 15 verifications: 16 credits available (10 + 6 rolled over).
    assert sum(Decimal(c["quantity"]) for c in credit_lines(may)) == 15
    assert may["netTotal"] == "0.00"
    assert ledger(database, account.account_id, june_grant) == [
        ("GRANT", Decimal(10)),
        ("ROLLOVER", Decimal(1)),
    ]
