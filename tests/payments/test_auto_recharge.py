"""Auto-recharge against a real localstripe: a balance below the level buys credits charged
off session to the saved card, once, whether checks run at once, a claimant dies before the
provider answered, or a card declines; the monthly cap is honoured to the cent."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.core.clock import local_today
from tally.credits import auto_recharge
from tally.credits.ledger import Movement, record
from tally.credits.usable import usable_grants
from tally.db import Database
from tally.jobs import background_jobs
from tally.models import (
    Account,
    ActivityLog,
    CreditRecharge,
    EmailMessage,
    LedgerEntryType,
    NotificationEvent,
    PaymentAttempt,
)
from tally.models.scoped import get_account
from tally.payments.collection import collect_due
from tally.settings import Settings
from tally.workflows import auto_recharge as recharging
from tests.payments.collecting import DECLINING_CARD, GOOD_CARD, Merchant
from tests.support.api_client import ApiClient
from tests.support.localstripe import LocalStripe

D = Decimal
ALERTS = ["billing-alerts@merchant.example"]
RECHARGE_EVENTS = ["CREDIT_RECHARGED", "CREDIT_RECHARGE_FAILED"]


@pytest.fixture
def merchant(
    api: ApiClient,
    database: Database,
    settings: Settings,
    localstripe: LocalStripe,
    account: Credentials,
) -> Merchant:
    merchant = Merchant(api, database, settings, localstripe, account.account_id)
    merchant.connect()  # automatic payments on: collection must leave recharges alone
    body = {
        "name": "Recharges",
        "channel": "WEBHOOK",
        "recipients": ["http://127.0.0.1:9/hooks"],
        "notificationTypes": RECHARGE_EVENTS,
    }
    assert api.post("/api/notifications/policies", json=body).status_code in (200, 201)
    with database.transaction() as session:
        get_account(session, account.account_id).alert_email_addresses = list(ALERTS)
    return merchant


def _customer(merchant: Merchant, card: str = GOOD_CARD, **settings: Any) -> str:
    customer = merchant.customer()
    merchant.save_card(customer, card)
    body = {"belowBalance": 10, "rechargeAmount": 50, **settings}
    answer = merchant.api.put(f"/api/customers/{customer['id']}/auto-recharges/GBP", json=body)
    assert answer.status_code == 200, answer.text
    return str(customer["id"])


def _today(merchant: Merchant) -> date:
    with merchant.database.transaction() as session:
        return local_today(get_account(session, merchant.account_id).timezone)


def _available(merchant: Merchant, customer_id: str) -> Decimal:
    today = _today(merchant)
    with merchant.database.transaction() as session:
        found = auto_recharge.available_balances(session, merchant.account_id, [customer_id], today)
    return found.get((customer_id, "GBP"), D(0))


def _spend(merchant: Merchant, customer_id: str, amount: Decimal, key: str) -> None:
    """Debit the customer's credits as a finalized invoice would."""
    today = _today(merchant)
    with merchant.database.transaction() as session:
        movements = []
        for grant in usable_grants(session, merchant.account_id, [customer_id], today):
            take = min(amount, grant.balance)
            if take:
                movements.append(
                    Movement(
                        grant_id=grant.grant_id,
                        customer_id=customer_id,
                        entry_type=LedgerEntryType.DEBIT,
                        amount=-take,
                        effective_date=today,
                        dedupe_key=f"{key}:{grant.grant_id}",
                    )
                )
                amount -= take
        record(session, merchant.account_id, movements)


def _check(merchant: Merchant, customer_id: str, **kw: Any) -> recharging.RechargeReport:
    return recharging.recharge_if_low(
        merchant.database, merchant.account_id, [customer_id], settings=merchant.settings, **kw
    )


def _recharges(merchant: Merchant, customer_id: str) -> list[CreditRecharge]:
    with merchant.database.transaction() as session:
        rows = session.scalars(
            select(CreditRecharge)
            .where(
                CreditRecharge.account_id == merchant.account_id,
                CreditRecharge.customer_id == customer_id,
            )
            .order_by(CreditRecharge.number)
        ).all()
        session.expunge_all()
    return list(rows)


def _intents(merchant: Merchant, customer_id: str) -> list[dict[str, Any]]:
    return [
        i
        for r in _recharges(merchant, customer_id)
        if r.invoice_id
        for i in merchant.intents(r.invoice_id)
    ]


def _events(merchant: Merchant) -> list[str]:
    with merchant.database.transaction() as session:
        return list(
            session.scalars(
                select(NotificationEvent.notification_type)
                .where(
                    NotificationEvent.account_id == merchant.account_id,
                    NotificationEvent.notification_type.in_(RECHARGE_EVENTS),
                )
                .order_by(NotificationEvent.created_at, NotificationEvent.id)
            )
        )


def _alert_emails(merchant: Merchant) -> list[EmailMessage]:
    with merchant.database.transaction() as session:
        rows = session.scalars(
            select(EmailMessage).where(
                EmailMessage.account_id == merchant.account_id,
                EmailMessage.kind == "CREDIT_RECHARGE",
            )
        ).all()
        session.expunge_all()
    return list(rows)


def _activity(merchant: Merchant) -> list[str]:
    with merchant.database.transaction() as session:
        return list(
            session.scalars(
                select(ActivityLog.verb)
                .where(
                    ActivityLog.account_id == merchant.account_id,
                    ActivityLog.object_type == "CREDIT_RECHARGE",
                )
                .order_by(ActivityLog.created_at)
            )
        )


def _concurrently(*runs: Callable[[], object]) -> list[BaseException]:
    start = threading.Barrier(len(runs))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        start.wait()
        try:
            job()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_a_balance_below_the_level_is_recharged_once(merchant: Merchant) -> None:
    customer_id = _customer(merchant, belowBalance=10)
    grant = merchant.api.post(
        "/api/credits",
        json={
            "customerId": customer_id,
            "name": "Welcome",
            "creditUnitType": "CURRENCY",
            "currency": "GBP",
            "amount": 30,
        },
    )
    assert grant.status_code == 201, grant.text
    assert _check(merchant, customer_id).succeeded == []  # 30 is not below 10
    _spend(merchant, customer_id, D(20), "invoice-1")  # 10 left: not below yet
    assert _check(merchant, customer_id).succeeded == []
    _spend(merchant, customer_id, D("0.01"), "invoice-2")  # 9.99: below

    report = _check(merchant, customer_id)

    [recharge] = _recharges(merchant, customer_id)
    assert report.succeeded == [recharge.id]
    assert recharge.status.value == "SUCCEEDED" and recharge.balance_before == D("9.99")
    assert _available(merchant, customer_id) == D("59.99")
    [intent] = _intents(merchant, customer_id)
    assert intent["status"] == "succeeded" and intent["amount"] == 5000
    invoice = merchant.invoice(str(recharge.invoice_id))
    assert invoice["paymentStatus"] == "PAID"
    top_up = merchant.api.get(f"/api/credit-top-ups/{recharge.top_up_id}").json()
    assert top_up["status"] == "GRANTED" and top_up["rechargeId"] == recharge.id
    assert _events(merchant) == ["CREDIT_RECHARGED"]
    assert _activity(merchant) == ["SUCCEEDED"]
    # The collection job leaves the recharge's invoice alone; a second check does nothing.
    job = [j for j in background_jobs(merchant.settings) if j.name == "credit-recharge"]
    assert len(job) == 1
    recharging.recharge_due(merchant.database, merchant.settings, account_id=merchant.account_id)
    collect_due(merchant.database, merchant.settings, account_id=merchant.account_id)
    assert len(_recharges(merchant, customer_id)) == 1
    assert len(_intents(merchant, customer_id)) == 1
    listed = merchant.api.get(f"/api/customers/{customer_id}/credit-recharges").json()
    assert [r["status"] for r in listed["items"]] == ["SUCCEEDED"]


def test_checks_running_at_once_recharge_once(merchant: Merchant) -> None:
    customer_id = _customer(merchant)

    def check() -> object:
        return _check(merchant, customer_id)

    assert _concurrently(check, check, check, check) == []

    [recharge] = _recharges(merchant, customer_id)
    assert recharge.status.value == "SUCCEEDED"
    assert len(_intents(merchant, customer_id)) == 1
    assert _available(merchant, customer_id) == D(50)


def test_a_claimant_that_died_is_taken_over_with_the_same_key(merchant: Merchant) -> None:
    """Claimed and committed, then the process died before asking Stripe: within the lease
    others leave it; after it, one asks with the same idempotency key, and charges once."""
    customer_id = _customer(merchant)
    [row_id] = [r.id for r in _rows(merchant, customer_id)]
    now = datetime.now(UTC)
    report = recharging.RechargeReport()
    charge = recharging._claim(
        merchant.database, merchant.settings, merchant.account_id, row_id, now, report
    )
    assert charge is not None  # ... and the claimant dies here

    assert _check(merchant, customer_id).skipped == [row_id]
    assert _intents(merchant, customer_id) == []

    later = _check(merchant, customer_id, now=now + timedelta(minutes=16))

    [recharge] = _recharges(merchant, customer_id)
    assert later.succeeded == [recharge.id]
    with merchant.database.transaction() as session:
        attempt = session.scalars(
            select(PaymentAttempt).where(
                PaymentAttempt.account_id == merchant.account_id,
                PaymentAttempt.invoice_id == recharge.invoice_id,
            )
        ).one()
        assert attempt.idempotency_key == charge.idempotency_key
    assert len(_intents(merchant, customer_id)) == 1
    assert _available(merchant, customer_id) == D(50)


def _rows(merchant: Merchant, customer_id: str) -> list[Any]:
    with merchant.database.transaction() as session:
        rows = auto_recharge.customer_auto_recharges(session, merchant.account_id, customer_id)
        session.expunge_all()
    return rows


def test_the_monthly_cap_is_honoured_exactly(merchant: Merchant) -> None:
    customer_id = _customer(merchant, rechargeAmount=50, monthlyCap=100)
    first = _check(merchant, customer_id)
    assert len(first.succeeded) == 1
    _spend(merchant, customer_id, D(50), "invoice-1")
    second = _check(merchant, customer_id)  # 100 charged this month: exactly the cap
    assert len(second.succeeded) == 1
    _spend(merchant, customer_id, D(50), "invoice-2")

    third = _check(merchant, customer_id)

    assert len(third.capped) == 1 and third.succeeded == []
    statuses = [r.status.value for r in _recharges(merchant, customer_id)]
    assert statuses == ["SUCCEEDED", "SUCCEEDED", "CAPPED"]
    assert len(_intents(merchant, customer_id)) == 2
    assert _available(merchant, customer_id) == 0
    assert _events(merchant) == ["CREDIT_RECHARGED", "CREDIT_RECHARGED", "CREDIT_RECHARGE_FAILED"]
    [email] = _alert_emails(merchant)
    assert email.to_addresses == ALERTS and "monthly cap" in email.text_body
    # Capped until next month: checks change nothing, and alert no more.
    assert _check(merchant, customer_id, now=datetime.now(UTC) + timedelta(hours=1)).capped == []
    assert len(_recharges(merchant, customer_id)) == 3
    # Raising the cap lifts the pause.
    answer = merchant.api.put(
        f"/api/customers/{customer_id}/auto-recharges/GBP",
        json={"belowBalance": 10, "rechargeAmount": 50, "monthlyCap": 150},
    )
    assert answer.status_code == 200, answer.text
    assert len(_check(merchant, customer_id).succeeded) == 1


def test_a_declined_card_grants_nothing_and_is_tried_again_a_day_later(
    merchant: Merchant,
) -> None:
    customer_id = _customer(merchant, DECLINING_CARD)

    report = _check(merchant, customer_id)

    [recharge] = _recharges(merchant, customer_id)
    assert report.failed == [recharge.id] and recharge.status.value == "FAILED"
    assert recharge.failure_message
    assert _available(merchant, customer_id) == 0
    assert merchant.invoice(str(recharge.invoice_id))["status"] == "VOIDED"
    top_up = merchant.api.get(f"/api/credit-top-ups/{recharge.top_up_id}").json()
    assert top_up["status"] == "CANCELLED"
    assert _events(merchant) == ["CREDIT_RECHARGE_FAILED"]
    [email] = _alert_emails(merchant)
    assert email.to_addresses == ALERTS
    assert _activity(merchant) == ["FAILED"]
    assert len(_intents(merchant, customer_id)) == 1
    # The same day: no second charge.
    now = datetime.now(UTC)
    assert _check(merchant, customer_id, now=now + timedelta(hours=23)).failed == []
    assert len(_intents(merchant, customer_id)) == 1
    # A day later: tried once more.
    assert len(_check(merchant, customer_id, now=now + timedelta(hours=25)).failed) == 1
    assert len(_recharges(merchant, customer_id)) == 2
    with merchant.database.transaction() as session:
        account = session.get(Account, merchant.account_id)
        assert account is not None


def test_no_saved_method_fails_without_charging(merchant: Merchant) -> None:
    customer = merchant.customer()
    answer = merchant.api.put(
        f"/api/customers/{customer['id']}/auto-recharges/GBP",
        json={"belowBalance": 10, "rechargeAmount": 50},
    )
    assert answer.status_code == 200, answer.text
    report = _check(merchant, customer["id"])
    [recharge] = _recharges(merchant, customer["id"])
    assert report.failed == [recharge.id] and recharge.invoice_id is None
    assert "saved payment method" in (recharge.failure_message or "")
