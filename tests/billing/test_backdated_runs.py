"""Billing for a day other than today (issue 15): a past day backfills (fills in, never
deletes, regresses or re-ids an invoice), a future day previews (answers, stores nothing).
Invoices billing removes (a schedule edited or archived) are announced: an activity log
entry and a webhook each. Auto-issue numbers follow invoice date, then schedule.

The endpoint runs on the machine's clock, so the tests driving it date their schedules from
today; those simulating time call `bill_account(now=...)` through `Merchant.bill`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import (
    ActivityLog,
    BillingRun,
    BillingSchedule,
    CreditGrant,
    CreditLedgerEntry,
    EmailMessage,
    Invoice,
    NotificationChannel,
    NotificationEvent,
    NotificationPolicy,
    NumberSequence,
    WebhookDelivery,
)
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import linear
from tests.credits.billing_helpers import grant
from tests.schedules.helpers import ok, phase, update_body
from tests.support.api_client import ApiClient

FIXED_100 = {"pricingType": "FIXED", "price": "100.00"}


def month(back: int) -> date:
    """The first day of the month `back` months before this one (UTC, the accounts' zone)."""
    first = datetime.now(UTC).date().replace(day=1)
    years, months = divmod(first.year * 12 + first.month - 1 - back, 12)
    return date(years, months + 1, 1)


def for_date(api: ApiClient, day: date) -> dict[str, Any]:
    return ok(api.post(f"/api/billing/execution/accounts/self/for-date/{day.isoformat()}"))


def invoices(api: ApiClient) -> dict[str, dict[str, Any]]:
    """Every invoice of the account with its lines, by id."""
    page = ok(api.get("/api/invoices", params={"limit": 100}))
    assert page["pagination"]["totalResultSize"] <= 100
    return {item["id"]: ok(api.get(f"/api/invoices/{item['id']}")) for item in page["items"]}


def listen(database: Database, account_id: str) -> None:
    """A webhook policy for every type."""
    with database.transaction() as session:
        session.add(
            NotificationPolicy(
                account_id=account_id,
                name="everything",
                channel=NotificationChannel.WEBHOOK,
                recipients=["https://example.com/hook"],
            )
        )


def _statuses(found: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {invoice_id: invoice["status"] for invoice_id, invoice in found.items()}


def _issue_scenario(api: ApiClient) -> tuple[Merchant, dict[str, str]]:
    """Seed of the issue: billed up to today, three customers' schedules.

    - A, from 10 months ago: ten DRAFTs and next month's IN_PROGRESS;
    - B (another customer), from last month: this month's DRAFT and next month's IN_PROGRESS;
    - C, auto-issued, from 4 months ago: four SENT and next month's IN_PROGRESS.

    For-date 8 months ago plus 14 days used to delete 11 invoices here (A's eight after its
    next date, B's DRAFT and IN_PROGRESS, C's IN_PROGRESS: the issue's customers lost 10)
    and turn A's closed period back to IN_PROGRESS."""
    merchant = Merchant(api)
    price = merchant.price(FIXED_100, name="Platform")
    schedules = {
        "A": merchant.schedule(merchant.customer("A"), [price], month(10).isoformat())["id"],
        "B": merchant.schedule(merchant.customer("B"), [price], month(1).isoformat())["id"],
        "C": merchant.schedule(
            merchant.customer("C"), [price], month(4).isoformat(), autoIssueInvoices=True
        )["id"],
    }
    merchant.bill_now()
    return merchant, schedules


def test_a_backfill_after_billing_to_today_deletes_regresses_and_re_ids_nothing(
    api: ApiClient,
) -> None:
    _, schedules = _issue_scenario(api)
    before = invoices(api)
    by_schedule = {
        name: sorted(
            (i["invoiceDate"], i["status"])
            for i in before.values()
            if i["billingScheduleId"] == schedule_id
        )
        for name, schedule_id in schedules.items()
    }
    assert [s for _, s in by_schedule["A"]] == ["DRAFT"] * 10 + ["IN_PROGRESS"]
    assert [s for _, s in by_schedule["B"]] == ["DRAFT", "IN_PROGRESS"]
    assert [s for _, s in by_schedule["C"]] == ["SENT"] * 4 + ["IN_PROGRESS"]

    day = month(8) + timedelta(days=14)
    for _ in range(2):  # and again: the second call used to delete 21
        answer = for_date(api, day)
        assert answer["invoicesDeleted"] == 0
        assert (answer["invoicesCreated"], answer["invoicesFinalized"]) == (0, 0)
        assert answer["invoicesUnchanged"] == 2  # A's two invoices dated up to the day
        assert answer["preview"] is False
        assert "invoices" not in answer
        after = invoices(api)
        assert after.keys() == before.keys()  # the same ids, none gone, none new
        assert _statuses(after) == _statuses(before)  # nothing back to IN_PROGRESS
        # Invoices dated after the day, other customers' current DRAFT and IN_PROGRESS
        # among them, are not even rewritten.
        later = [i for i, invoice in before.items() if invoice["invoiceDate"] > day.isoformat()]
        assert len(later) == 9 + 2 + 5
        assert {i: after[i] for i in later} == {i: before[i] for i in later}

    # The next run for today changes nothing either.
    today = ok(api.post("/api/billing/execution/accounts/self"))
    assert (today["invoicesCreated"], today["invoicesDeleted"]) == (0, 0)
    assert _statuses(invoices(api)) == _statuses(before)


def test_a_backfill_fills_in_the_invoices_up_to_its_day_and_issues_nothing(
    api: ApiClient,
) -> None:
    merchant = Merchant(api)
    price = merchant.price(FIXED_100, name="Platform")
    schedule = merchant.schedule(
        merchant.customer(), [price], month(5).isoformat(), autoIssueInvoices=True
    )
    day = month(3) + timedelta(days=3)

    answer = for_date(api, day)

    assert (answer["invoicesCreated"], answer["invoicesFinalized"]) == (2, 0)
    filled = merchant.invoices(schedule["id"])
    assert [(i["invoiceDate"], i["status"]) for i in filled] == [
        (month(4).isoformat(), "DRAFT"),
        (month(3).isoformat(), "DRAFT"),
    ]  # not issued, and no IN_PROGRESS invoice after the day: runs for today make it
    assert all("invoiceNumber" not in i for i in filled)

    ok(api.post("/api/billing/execution/accounts/self"))
    billed = merchant.invoices(schedule["id"])
    assert [i["id"] for i in billed[:2]] == [i["id"] for i in filled]  # the same invoices
    assert [i["status"] for i in billed] == ["SENT"] * 5 + ["IN_PROGRESS"]
    assert [i["invoiceNumber"] for i in billed[:5]] == [f"INV0000{n}" for n in range(1, 6)]
    today = datetime.now(UTC).date().isoformat()
    assert {i["issueDate"] for i in billed[:5]} == {today}  # issued by the run for today


def _counts(database: Database, account_id: str) -> dict[str, Any]:
    """What a billing run can leave behind, for one account."""
    counted = {
        "invoices": Invoice,
        "billing runs": BillingRun,
        "credit grants": CreditGrant,
        "credit ledger": CreditLedgerEntry,
        "notification events": NotificationEvent,
        "webhook deliveries": WebhookDelivery,
        "email messages": EmailMessage,
        "activity log": ActivityLog,
    }
    with database.session(write=False) as session:
        counts: dict[str, Any] = {
            name: session.scalar(
                select(func.count()).select_from(model).where(model.account_id == account_id)
            )
            for name, model in counted.items()
        }
        counts["numbers"] = session.scalars(
            select(NumberSequence.last_number).where(NumberSequence.account_id == account_id)
        ).all()
        counts["schedules"] = session.execute(
            select(BillingSchedule.id, BillingSchedule.status, BillingSchedule.billed_at)
            .where(BillingSchedule.account_id == account_id)
            .order_by(BillingSchedule.id)
        ).all()
        counts["invoice rows"] = session.execute(
            select(Invoice.id, Invoice.status, Invoice.updated_at, Invoice.calculated_at)
            .where(Invoice.account_id == account_id)
            .order_by(Invoice.id)
        ).all()
    return counts


def test_a_future_date_previews_and_stores_nothing(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    listen(database, account.account_id)
    merchant = Merchant(api)
    metric = merchant.usage_metric("Verifications", "verification", aggregationType="COUNT")
    usage = merchant.price(linear(metric, pricePerUnit="1.00"), name="Verifications")
    price = merchant.price(FIXED_100, name="Platform")
    issued_customer = merchant.customer("Issued")
    grant(api, issued_customer, "500.00", effective=month(3).isoformat())  # spent at finalize
    issued = merchant.schedule(
        issued_customer, [price], month(2).isoformat(), autoIssueInvoices=True
    )
    monthly_units = {
        "name": "Monthly verifications",
        "creditUnitType": "METRIC",
        "amount": 10,
        "grantRefreshFrequency": "MONTHLY",
        "rolloverMode": "NONE",
    }
    drafted = merchant.schedule(
        merchant.customer("Drafted"),
        [usage],
        month(2).isoformat(),
        phases=[{**phase([usage], month(2).isoformat(), None), "creditGrants": [monthly_units]}],
    )
    merchant.bill_now()
    before = _counts(database, account.account_id)
    assert before["numbers"] and before["credit ledger"] and before["email messages"]

    day = month(-1) + timedelta(days=9)  # next month: one more invoice date, a new grant
    answer = for_date(api, day)

    assert answer["preview"] is True
    assert answer["invoicesCreated"] == 2  # each schedule's invoice after next month's
    assert answer["invoicesFinalized"] == 1
    listed = {(i["billingScheduleId"], i["invoiceDate"]): i for i in answer["invoices"]}
    assert set(listed) == {
        (schedule["id"], month(n).isoformat())
        for schedule, n in (
            (issued, -1),
            (issued, -2),
            (drafted, 1),
            (drafted, 0),
            (drafted, -1),
            (drafted, -2),
        )
    }
    assert listed[(issued["id"], month(-1).isoformat())] == {
        "billingScheduleId": issued["id"],
        "customerId": issued_customer,
        "invoiceDate": month(-1).isoformat(),
        "status": "SENT",
        "currency": "GBP",
        "netTotal": "0.00",  # the grant's credits cover it
        "totalTax": "0.00",
        "grossTotal": "0.00",
    }
    assert listed[(drafted["id"], month(-1).isoformat())]["status"] == "DRAFT"
    assert listed[(drafted["id"], month(-2).isoformat())]["status"] == "IN_PROGRESS"
    # Nothing of it stayed: no invoice, run, number, credit, email, webhook, log entry, and
    # no schedule marked billed.
    assert _counts(database, account.account_id) == before


def _deletion_events(database: Database, account_id: str) -> dict[str, dict[str, Any]]:
    with database.session(write=False) as session:
        rows = session.scalars(
            select(NotificationEvent).where(
                NotificationEvent.account_id == account_id,
                NotificationEvent.notification_type == "INVOICE_UPDATED",
            )
        ).all()
    resources = [json.loads(row.resource or "null") for row in rows]
    return {r["id"]: r for r in resources if r and r.get("deleted") is True}


def _deletion_logs(database: Database, account_id: str) -> dict[str, ActivityLog]:
    with database.session(write=False) as session:
        rows = session.scalars(
            select(ActivityLog).where(
                ActivityLog.account_id == account_id, ActivityLog.verb == "DELETED"
            )
        ).all()
    return {row.object_id: row for row in rows}


def test_invoices_removed_after_a_schedule_edit_are_logged_and_announced(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    merchant = Merchant(api)
    price = merchant.price(FIXED_100, name="Platform")
    customer = merchant.customer()
    schedule = merchant.schedule(customer, [price], "2024-01-01")
    merchant.bill("2024-04-15")
    old = {i["id"]: i for i in merchant.invoices(schedule["id"])}
    assert [i["status"] for i in old.values()] == ["DRAFT"] * 3 + ["IN_PROGRESS"]
    listen(database, account.account_id)

    # Invoices on the 15th from now on: the dates on the 1st are no longer the schedule's.
    ok(
        api.put(
            f"/api/billing-schedules/{schedule['id']}",
            json=update_body(schedule, recurrenceDayOfMonth=15),
        )
    )
    report = merchant.bill("2024-04-15")

    assert report["invoicesDeleted"] == 4
    assert {i["invoiceDate"] for i in merchant.invoices(schedule["id"])}.isdisjoint(
        {i["invoiceDate"] for i in old.values()}
    )
    logs = _deletion_logs(database, account.account_id)
    assert logs.keys() == old.keys()
    for invoice_id, log in logs.items():
        assert (log.object_type, log.target_type, log.target_id) == (
            "INVOICE",
            "CUSTOMER",
            customer,
        )
        assert log.reason is not None and log.reason.startswith("billing schedule changed")
        assert old[invoice_id]["invoiceDate"] in log.summary
    announced = _deletion_events(database, account.account_id)
    assert announced.keys() == old.keys()
    for invoice_id, resource in announced.items():  # the invoice as it was
        assert resource["status"] == old[invoice_id]["status"]
        assert resource["grossTotal"] == old[invoice_id]["grossTotal"]


def test_archiving_a_schedule_logs_and_announces_its_dropped_invoice(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    merchant = Merchant(api)
    price = merchant.price(FIXED_100, name="Platform")
    customer = merchant.customer()
    schedule = merchant.schedule(customer, [price], "2024-01-01")
    merchant.bill("2024-02-10")
    [draft, upcoming] = merchant.invoices(schedule["id"])
    listen(database, account.account_id)

    ok(api.post(f"/api/billing-schedules/{schedule['id']}/archive"))

    assert [i["id"] for i in merchant.invoices(schedule["id"])] == [draft["id"]]
    [log] = _deletion_logs(database, account.account_id).values()
    assert (log.object_id, log.target_id) == (upcoming["id"], customer)
    assert log.reason is not None and log.reason.startswith("billing schedule archived")
    [resource] = _deletion_events(database, account.account_id).values()
    assert (resource["id"], resource["status"]) == (upcoming["id"], "IN_PROGRESS")


def test_auto_issue_numbers_follow_invoice_date_then_schedule_not_ids(api: ApiClient) -> None:
    merchant = Merchant(api)
    price = merchant.price(FIXED_100, name="Platform")
    first = merchant.schedule(merchant.customer("First"), [price], "2024-01-01")
    second = merchant.schedule(merchant.customer("Second"), [price], "2024-01-01")
    merchant.bill("2024-03-10")
    # A person throws away the first schedule's February draft: billing writes it anew, with
    # an id after the second schedule's.
    january = merchant.invoice_for(first["id"], "2024-01-01")
    ok(api.delete(f"/api/invoices/{january['id']}"))
    merchant.bill("2024-03-10")
    rewritten = merchant.invoice_for(first["id"], "2024-01-01")
    assert rewritten["id"] > merchant.invoice_for(second["id"], "2024-01-01")["id"]
    for schedule in (first, second):
        ok(
            api.put(
                f"/api/billing-schedules/{schedule['id']}",
                json=update_body(schedule, autoIssueInvoices=True),
            )
        )

    assert merchant.bill("2024-03-10")["invoicesFinalized"] == 4

    numbers = {
        (name, i["invoiceDate"]): i["invoiceNumber"]
        for name, schedule in (("first", first), ("second", second))
        for i in merchant.invoices(schedule["id"])
        if i["status"] == "SENT"
    }
    assert numbers == {
        ("first", "2024-02-01"): "INV00001",
        ("second", "2024-02-01"): "INV00002",
        ("first", "2024-03-01"): "INV00003",
        ("second", "2024-03-01"): "INV00004",
    }
