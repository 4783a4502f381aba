"""Credits on invoices, end to end through the API: projected on open invoices (pending
debits), debited at finalize, restored by voiding, in Sequence's order of application."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tally.credits.expiry import expire_due
from tally.db import Database
from tests.billing.helpers import totals
from tests.credits.billing_helpers import (
    CreditMerchant,
    balance,
    credit_lines,
    finalize,
    grant,
    ledger,
)
from tests.schedules.helpers import created, ok
from tests.support.api_client import ApiClient
from tests.support.errors import conflict_error


def test_seed_000_verification_credits_pending_in_august_then_debited(
    api: ApiClient, account, database: Database
) -> None:
    """Seed 000: AcmeLabs grant Globex 250 account-verification credits on 20 July; Globex
    verify 6 unique accounts in August, a pending debit of 6 credits; once the August invoice
    is finalized the credits are deducted, leaving 244."""
    merchant = CreditMerchant(api)
    metric, price = merchant.verifications("0.50")
    globex = merchant.customer("Globex")
    schedule = merchant.schedule(globex, [price], "2024-07-01", None, recurrenceDayOfMonth=1)
    credits = grant(
        api, globex, 250, name="Account verifications", metric_id=metric, effective="2024-07-20"
    )
    # 6 unique accounts in August (one verified twice).
    merchant.verify(globex, "2024-08-05", "acc-1", "acc-2", "acc-3")
    merchant.verify(globex, "2024-08-19", "acc-3", "acc-4", "acc-5", "acc-6")

    merchant.bill("2024-08-20")

    august = merchant.invoice_for(schedule["id"], "2024-08-01")
    assert august["status"] == "IN_PROGRESS"
    [line] = credit_lines(august)
    assert line["creditGrantId"] == credits
    assert (line["title"], line["quantity"], line["netTotal"], line["totalTax"]) == (
        "Account verifications",
        "6",
        "-3.00",
        "-0.60",
    )
    assert totals(august) == (Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    assert august["appliedCreditGrants"] == [
        {
            "creditGrantId": credits,
            "creditGrantName": "Account verifications",
            "amount": "3.00",
            "taxAmount": "0.60",
            "status": "PROJECTED",
        }
    ]
    assert august["projectedCreditGrants"] == [
        {"creditGrantId": credits, "creditGrantName": "Account verifications", "amount": "3.00"}
    ]
    # Pending, not debited: the ledger still holds 250.
    assert balance(database, account.account_id, credits) == 250

    merchant.bill("2024-09-01")  # August closes: its DRAFT, still projecting 6
    august = merchant.invoice_for(schedule["id"], "2024-08-01")
    assert august["status"] == "DRAFT"
    assert [line["quantity"] for line in credit_lines(august)] == ["6"]
    final = finalize(api, august["id"])
    assert final["appliedCreditGrants"][0]["status"] == "APPLIED"
    assert final["projectedCreditGrants"] == []

    assert ledger(database, account.account_id, credits) == [
        ("GRANT", Decimal(250)),
        ("DEBIT", Decimal(-6)),
    ]
    assert balance(database, account.account_id, credits) == 244
    # September's IN_PROGRESS invoice may now draw on the 244 left.
    merchant.verify(globex, "2024-09-03", "acc-7")
    merchant.bill("2024-09-04")
    september = merchant.invoice_for(schedule["id"], "2024-09-01")
    assert [line["quantity"] for line in credit_lines(september)] == ["1"]


def test_metric_credits_before_cash_soonest_expiry_first(api: ApiClient) -> None:
    merchant = CreditMerchant(api)
    metric, usage = merchant.verifications("2.00")
    fee = merchant.price({"pricingType": "FIXED", "price": "10.00"}, name="Platform fee")
    customer = merchant.customer()
    schedule = merchant.schedule(customer, [usage, fee], "2024-03-01", None)
    late_cash = grant(api, customer, "100", name="Late cash", expiry="2025-12-31")
    soon_cash = grant(api, customer, "5", name="Soon cash", expiry="2024-06-30")
    late_units = grant(api, customer, 3, name="Late units", metric_id=metric)  # never expires
    soon_units = grant(api, customer, 2, name="Soon units", metric_id=metric, expiry="2024-05-31")
    merchant.verify(customer, "2024-03-10", *[f"a{n}" for n in range(7)])  # 7 x 2.00

    merchant.bill("2024-04-01")

    march = merchant.invoice_for(schedule["id"], "2024-03-01")
    used = [(line["title"], line["quantity"], line["netTotal"]) for line in credit_lines(march)]
    # Metric grants offset usage (soonest expiry first: 2 units, then 3), then cash covers
    # what remains of every line: the 2 uncovered units (4.00) and the fee (10.00).
    assert used == [
        ("Soon units", "2", "-4.00"),
        ("Late units", "3", "-6.00"),
        ("Soon cash", "1", "-4.00"),
        ("Soon cash", "1", "-1.00"),
        ("Late cash", "1", "-9.00"),
    ]
    assert totals(march) == (Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    applied = {g["creditGrantId"]: g["amount"] for g in march["appliedCreditGrants"]}
    assert applied == {
        soon_units: "4.00",
        late_units: "6.00",
        soon_cash: "5.00",
        late_cash: "9.00",
    }


def test_a_grant_expiring_mid_period_does_not_offset_that_period(api: ApiClient) -> None:
    """A grant is spent by an invoice only if still usable at the end of the invoice's
    billing period: one that expires on 15 May (its last usable day) offsets April's
    invoice but not May's, though May's usage came before the expiry. One whose last usable
    day is the period's last day offsets it, however late the invoice is finalized."""
    merchant = CreditMerchant(api)
    metric, usage = merchant.verifications("1.00")
    customer = merchant.customer()
    schedule = merchant.schedule(customer, [usage], "2024-04-01", None)
    grant(api, customer, 100, name="Spring credits", metric_id=metric, expiry="2024-05-15")
    merchant.verify(customer, "2024-04-10", "a", "b")
    merchant.verify(customer, "2024-05-02", "c", "d", "e")

    merchant.bill("2024-05-03")

    april = merchant.invoice_for(schedule["id"], "2024-04-01")
    may = merchant.invoice_for(schedule["id"], "2024-05-01")
    assert [line["quantity"] for line in credit_lines(april)] == ["2"]
    assert credit_lines(may) == []
    assert may["netTotal"] == "3.00"
    # A grant effective after a period's end does not offset that period either.
    grant(api, customer, 100, name="Summer credits", metric_id=metric, effective="2024-06-01")
    merchant.bill("2024-06-02")
    may = merchant.invoice_for(schedule["id"], "2024-05-01")
    assert credit_lines(may) == []

    last_day = grant(api, customer, "1.50", name="May cash", expiry="2024-05-31")
    merchant.bill("2024-06-20")
    may = merchant.invoice_for(schedule["id"], "2024-05-01")
    assert [(line["creditGrantId"], line["netTotal"]) for line in credit_lines(may)] == [
        (last_day, "-1.50")
    ]
    final = finalize(api, may["id"])  # today: long after 31 May
    assert (final["netTotal"], final["appliedCreditGrants"][0]["status"]) == ("1.50", "APPLIED")


def test_voiding_a_finalized_invoice_restores_exactly_what_it_debited(
    api: ApiClient, account, database: Database
) -> None:
    merchant = CreditMerchant(api)
    metric, usage = merchant.verifications("1.00")
    customer = merchant.customer()
    schedule = merchant.schedule(customer, [usage], "2024-04-01", None)
    units = grant(api, customer, 10, name="Units", metric_id=metric)
    cash = grant(api, customer, "2.50", name="Cash")
    merchant.verify(customer, "2024-04-10", *[f"a{n}" for n in range(12)])
    merchant.bill("2024-05-02")
    april = merchant.invoice_for(schedule["id"], "2024-04-01")

    finalize(api, april["id"])
    assert balance(database, account.account_id, units) == 0
    assert balance(database, account.account_id, cash) == Decimal("0.50")
    ok(api.post(f"/api/invoices/{april['id']}/void"))

    assert ledger(database, account.account_id, units) == [
        ("GRANT", Decimal(10)),
        ("DEBIT", Decimal(-10)),
        ("RESTORE", Decimal(10)),
    ]
    assert balance(database, account.account_id, cash) == Decimal("2.50")
    # The next invoice may spend them again.
    merchant.verify(customer, "2024-05-10", "x")
    merchant.bill("2024-05-11")
    may = merchant.invoice_for(schedule["id"], "2024-05-01")
    assert [line["quantity"] for line in credit_lines(may)] == ["1"]


def test_credits_restored_to_an_expired_grant_expire_again(
    api: ApiClient, account, database: Database
) -> None:
    """Voiding an invoice after its grant expired gives its credits back, and the next
    expiry pass takes them again (once, however many passes)."""
    merchant = CreditMerchant(api)
    metric, usage = merchant.verifications("1.00")
    customer = merchant.customer()
    schedule = merchant.schedule(customer, [usage], "2024-04-01", None)
    units = grant(api, customer, 10, name="April units", metric_id=metric, expiry="2024-04-30")
    merchant.verify(customer, "2024-04-10", "a", "b", "c")
    merchant.bill("2024-05-01")
    april = merchant.invoice_for(schedule["id"], "2024-04-01")
    finalize(api, april["id"])

    def expire() -> list[tuple[str, Decimal]]:
        return [e for e in expire_due(database, today=date(2024, 5, 2)).expired if e[0] == units]

    assert expire() == [(units, Decimal(7))]
    ok(api.post(f"/api/invoices/{april['id']}/void"))
    assert balance(database, account.account_id, units) == 3
    assert expire() == [(units, Decimal(3))]
    assert expire() == []
    assert ledger(database, account.account_id, units) == [
        ("GRANT", Decimal(10)),
        ("DEBIT", Decimal(-3)),
        ("EXPIRY", Decimal(-7)),
        ("RESTORE", Decimal(3)),
        ("EXPIRY", Decimal(-3)),
    ]


def test_one_off_invoices_never_consume_credits(
    api: ApiClient, account, database: Database
) -> None:
    merchant = CreditMerchant(api)
    customer = merchant.customer()
    cash = grant(api, customer, "50", name="Cash")
    invoice = created(api.post("/api/invoices", json={"customerId": customer, "currency": "GBP"}))
    line = {"title": "Consulting", "quantity": "1", "rate": "20.00", "taxRate": "0"}
    assert api.post(f"/api/invoices/{invoice['id']}/line-items", json=line).status_code == 201
    final = finalize(api, invoice["id"])
    assert final["grossTotal"] == "20.00"
    assert final["appliedCreditGrants"] == []
    assert balance(database, account.account_id, cash) == 50


def test_billing_twice_and_retried_finalize_never_double_count(
    api: ApiClient, account, database: Database
) -> None:
    merchant = CreditMerchant(api)
    metric, usage = merchant.verifications("1.00")
    customer = merchant.customer()
    schedule = merchant.schedule(customer, [usage], "2024-04-01", None)
    units = grant(api, customer, 5, name="Units", metric_id=metric)
    merchant.verify(customer, "2024-04-10", "a", "b", "c")
    merchant.verify(customer, "2024-05-10", "d", "e", "f")

    first = merchant.bill("2024-05-11")
    again = merchant.bill("2024-05-11")
    assert again["invoicesUnchanged"] == first["invoicesCreated"] == 2
    april = merchant.invoice_for(schedule["id"], "2024-04-01")
    may = merchant.invoice_for(schedule["id"], "2024-05-01")
    # April (earlier) takes 3, May the 2 left: projections never exceed the balance.
    assert [line["quantity"] for line in credit_lines(april)] == ["3"]
    assert [line["quantity"] for line in credit_lines(may)] == ["2"]

    finalize(api, april["id"])
    conflict_error(api.post(f"/api/invoices/{april['id']}/finalize"), "InvalidStateTransition")
    merchant.bill("2024-05-12")
    assert ledger(database, account.account_id, units) == [
        ("GRANT", Decimal(5)),
        ("DEBIT", Decimal(-3)),
    ]
    may = merchant.invoice_for(schedule["id"], "2024-05-01")
    assert [line["quantity"] for line in credit_lines(may)] == ["2"]
