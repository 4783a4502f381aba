"""Auto-recharge: when a customer's available cash balance of a currency falls below the
level it set, buy `rechargeAmount` of credits (a top-up, ON_PAYMENT) and charge its invoice
off session to the saved payment method.

Never twice, as automatic collection charges invoices (`payments/collection.py`):
1. claim, under the auto-recharge's row lock: a recharge numbered n+1 (unique), its top-up
   and issued invoice, and the invoice's payment attempt; COMMIT;
2. ask the provider outside any transaction with the attempt's idempotency key;
3. apply the answer (`attempts.apply`: the payment recorded once, by its id; the invoice PAID
   releases the top-up's grant through `payments/records.py`).
While a recharge is PENDING no other is claimed; a claimant that died is taken over after
`LEASE` with the same key, so the provider answers with the first charge.

The failure path: a decline, no saved method or no provider connected: no grant (the
invoice, if any, is voided, which cancels the top-up), a CREDIT_RECHARGE_FAILED webhook, an
email to the account's alert addresses, an activity entry; then no recharge for a day
(`RETRY_AFTER`) unless the settings change. Past the monthly cap (charged, tax included,
per calendar month in the account's zone; reaching it exactly is allowed): nothing charged,
the same alert, and no recharge until the next month or a settings change.

Triggered by the jobs loop (`recharge_due`), and by `recharge_if_low` for customers whose
usage just changed (alerts' evaluator)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from html import escape

from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.api.types import Currency
from tally.core.clock import local_today, start_of_local_day, utcnow
from tally.credits import auto_recharge as settings_of
from tally.credits.top_up_schemas import CreditTopUpCreate
from tally.db import Database, insert_new, new_id, table_of
from tally.exceptions import PaymentProviderUnavailable, ProviderNotConnected, TallyError
from tally.invoices import lifecycle
from tally.models import (
    Account,
    AttemptStatus,
    CollectionStatus,
    CreditAutoRecharge,
    CreditRecharge,
    CreditUnitType,
    EmailMessage,
    GrantWhen,
    InvoiceCollection,
    PaymentAttempt,
    PaymentProviderName,
    RechargeStatus,
)
from tally.models.scoped import get_account, scoped
from tally.notifications.email import Content, message_values
from tally.notifications.events import CREDIT_RECHARGE, NotificationType, emit
from tally.payments import attempts, connections, queries
from tally.payments.off_session import OffSessionCharge, ask
from tally.payments.providers import PaymentProvider, ProviderPayment
from tally.settings import Settings, get_settings
from tally.workflows.credit_top_ups import create_top_up

log = logging.getLogger(__name__)

STRIPE = PaymentProviderName.STRIPE
# How long a claimed recharge is left to its claimant before another check asks the
# provider again (with the same idempotency key), as automatic collection does.
LEASE = timedelta(minutes=15)
# A failed recharge is tried again at most once a day (or at once after a settings change).
RETRY_AFTER = timedelta(days=1)


@dataclass
class RechargeReport:
    succeeded: list[str] = field(default_factory=list)  # recharge ids
    failed: list[str] = field(default_factory=list)
    capped: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # the provider is still processing
    skipped: list[str] = field(default_factory=list)  # auto-recharge ids another check holds


@dataclass(frozen=True)
class _Charge(OffSessionCharge):
    recharge_id: str
    auto_recharge_id: str

    def metadata(self) -> dict[str, str]:
        return {**super().metadata(), "tally_recharge_id": self.recharge_id}


# ---- the failure path ----------------------------------------------------------------------


def _alert(session: Session, account: Account, recharge: CreditRecharge, why: str) -> None:
    """A recharge that charged nothing: webhook, email to the merchant, activity entry."""
    emit(
        session, account.id, NotificationType.CREDIT_RECHARGE_FAILED, CREDIT_RECHARGE, [recharge.id]
    )
    what = f"{activity.number(recharge.amount)} {recharge.currency} of credit"
    activity.record(
        session,
        account.id,
        verb="FAILED" if recharge.status is RechargeStatus.FAILED else "CAPPED",
        object_type="CREDIT_RECHARGE",
        object_id=recharge.id,
        name="Auto-recharge failed",
        summary=f"auto-recharge #{recharge.number} of {what} not charged: {why}",
        target_type="CUSTOMER",
        target_id=recharge.customer_id,
    )
    merchant = list(account.alert_email_addresses or [])
    if not merchant:
        return
    subject = f"Auto-recharge failed: {what}"
    text = (
        f"The auto-recharge of customer {recharge.customer_id} ({what}, balance "
        f"{activity.number(recharge.balance_before)} {recharge.currency}) was not charged: "
        f"{why}\n\nNo credits were granted."
    )
    html = "".join(f"<p>{escape(part)}</p>" for part in text.split("\n\n"))
    content = Content(subject, text + "\n", f"<!DOCTYPE html>\n<html><body>{html}</body></html>\n")
    values = message_values(
        account,
        "CREDIT_RECHARGE",
        merchant,
        content,
        ("invoice", recharge.id),
        f"recharge:{recharge.id}",
    )
    values["attachments"] = []
    insert_new(session, table_of(EmailMessage), [values], ["account_id", "dedupe_key"])


def _pause(row: CreditAutoRecharge, until: datetime, why: str) -> None:
    row.paused_until = until
    row.last_failure = why[:1000]


def _next_month(account: Account, today: date) -> datetime:
    first = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return start_of_local_day(first, account.timezone)


# ---- 1. claim ------------------------------------------------------------------------------


def _new_recharge(
    session: Session, row: CreditAutoRecharge, balance: Decimal, today: date
) -> CreditRecharge:
    recharge = CreditRecharge(
        id=new_id(),
        account_id=row.account_id,
        auto_recharge_id=row.id,
        customer_id=row.customer_id,
        currency=row.currency,
        number=settings_of.last_number(session, row.account_id, row.id) + 1,
        status=RechargeStatus.PENDING,
        month=today.strftime("%Y-%m"),
        amount=row.recharge_amount,
        charged=Decimal(0),
        balance_before=balance,
    )
    session.add(recharge)
    session.flush()  # the unique number: a second claimant fails here, never charges
    return recharge


def _fail(
    session: Session,
    account: Account,
    row: CreditAutoRecharge,
    recharge: CreditRecharge,
    why: str,
    now: datetime,
    status: RechargeStatus = RechargeStatus.FAILED,
    until: datetime | None = None,
) -> None:
    recharge.status = status
    recharge.failure_message = why[:1000]
    recharge.completed_at = now
    _pause(row, until or now + RETRY_AFTER, why)
    session.flush()
    _alert(session, account, recharge, why)


def _resume(
    session: Session,
    settings: Settings,
    row: CreditAutoRecharge,
    recharge: CreditRecharge,
    now: datetime,
    report: RechargeReport,
) -> _Charge | None:
    """A PENDING recharge: its claimant is at it (within the lease), or died: ask again."""
    attempt = session.scalars(
        scoped(PaymentAttempt, row.account_id).where(PaymentAttempt.id == recharge.attempt_id)
    ).one()
    if attempt.provider_payment_id is None and recharge.created_at > now - LEASE:
        report.skipped.append(row.id)
        return None
    method = queries.saved_method(session, row.account_id, row.customer_id)
    try:
        provider = connections.provider_for(session, settings, row.account_id, STRIPE)
    except ProviderNotConnected:
        return None
    if method is None and attempt.provider_payment_id is None:
        return None
    return _charge(provider, recharge, attempt, method or ("", ""))


def _charge(
    provider: PaymentProvider,
    recharge: CreditRecharge,
    attempt: PaymentAttempt,
    method: tuple[str, str],
) -> _Charge:
    return _Charge(
        provider=provider,
        recharge_id=recharge.id,
        auto_recharge_id=recharge.auto_recharge_id,
        account_id=recharge.account_id,
        invoice_id=attempt.invoice_id,
        attempt_id=attempt.id,
        idempotency_key=attempt.idempotency_key,
        amount=attempt.amount,
        currency=attempt.currency,
        provider_customer_id=method[0],
        payment_method_id=method[1],
        known_payment_id=attempt.provider_payment_id,
    )


def _means(
    session: Session, settings: Settings, account_id: str, customer_id: str
) -> tuple[PaymentProvider, tuple[str, str]] | str:
    """The provider and the customer's saved method, or why it cannot be charged."""
    try:
        provider = connections.provider_for(session, settings, account_id, STRIPE)
    except ProviderNotConnected as missing:
        return missing.message
    method = queries.saved_method(session, account_id, customer_id)
    if method is None:
        return "The customer has no saved payment method."
    return provider, method


def _claim(
    db: Database,
    settings: Settings,
    account_id: str,
    auto_recharge_id: str,
    now: datetime,
    report: RechargeReport,
) -> _Charge | None:
    with db.transaction() as session:
        row = settings_of.lock_auto_recharge(session, account_id, auto_recharge_id)
        if row.deleted_at is not None:
            return None
        pending = settings_of.open_recharge(session, account_id, row.id)
        if pending is not None:
            return _resume(session, settings, row, pending, now, report)
        if row.paused_until is not None and row.paused_until > now:
            return None
        account = get_account(session, account_id)
        today = local_today(account.timezone, now)
        balance = settings_of.available_balances(session, account_id, [row.customer_id], today).get(
            (row.customer_id, row.currency), Decimal(0)
        )
        if balance >= row.below_balance:
            return None
        recharge = _new_recharge(session, row, balance, today)
        means = _means(session, settings, account_id, row.customer_id)
        if isinstance(means, str):
            _fail(session, account, row, recharge, means, now)
            report.failed.append(recharge.id)
            return None
        provider, method = means
        return _buy(session, account, row, recharge, provider, method, now, report)


def _buy(
    session: Session,
    account: Account,
    row: CreditAutoRecharge,
    recharge: CreditRecharge,
    provider: PaymentProvider,
    method: tuple[str, str],
    now: datetime,
    report: RechargeReport,
) -> _Charge | None:
    """The top-up, its issued invoice and the invoice's attempt, within the cap."""
    account_id = account.id
    today = local_today(account.timezone, now)
    spent = settings_of.charged_in_month(session, account_id, row.id, recharge.month)
    nested = session.begin_nested()
    try:
        top_up, invoice = create_top_up(
            session,
            account,
            CreditTopUpCreate(
                customer_id=row.customer_id,
                name="Auto-recharge",
                credit_unit_type=CreditUnitType.CURRENCY,
                currency=Currency(row.currency),
                amount=row.recharge_amount,
                cost=row.cost if row.cost is not None else row.recharge_amount,
                tax_rate_id=row.tax_rate_id,
                grant_when=GrantWhen.ON_PAYMENT,
            ),
            recharge_id=recharge.id,
        )
    except TallyError as refused:  # an archived customer or tax rate, seller details
        nested.rollback()
        _fail(session, account, row, recharge, refused.message, now)
        report.failed.append(recharge.id)
        return None
    if row.monthly_cap is not None and spent + invoice.gross_total > row.monthly_cap:
        gross = invoice.gross_total
        nested.rollback()  # no invoice, no top-up: nothing is bought
        recharge.charged = gross
        why = (
            f"the monthly cap ({activity.number(row.monthly_cap)} {row.currency}) would be "
            f"exceeded: {activity.number(spent)} charged in {recharge.month}, this one "
            f"{activity.number(gross)}."
        )
        _fail(
            session,
            account,
            row,
            recharge,
            why,
            now,
            status=RechargeStatus.CAPPED,
            until=_next_month(account, today),
        )
        report.capped.append(recharge.id)
        return None
    nested.commit()
    recharge.top_up_id = top_up.id
    recharge.invoice_id = invoice.id
    recharge.charged = invoice.gross_total
    # Charged here, not by automatic collection: dunning must never chase it.
    session.add(
        InvoiceCollection(
            account_id=account_id,
            invoice_id=invoice.id,
            status=CollectionStatus.NOT_REQUIRED,
            attempts=0,
            last_failure="Charged by auto-recharge.",
        )
    )
    attempt, _ = attempts.claim(session, account_id, invoice.id, provider=STRIPE, off_session=True)
    recharge.attempt_id = attempt.id
    session.flush()
    return _charge(provider, recharge, attempt, method)


# ---- 2. ask, 3. apply ----------------------------------------------------------------------


def _apply(
    db: Database, charge: _Charge, payment: ProviderPayment, now: datetime, report: RechargeReport
) -> None:
    with db.transaction() as session:
        row = settings_of.lock_auto_recharge(session, charge.account_id, charge.auto_recharge_id)
        recharge = settings_of.open_recharge(session, charge.account_id, row.id)
        if recharge is None or recharge.id != charge.recharge_id:
            return  # another check applied it first
        attempt = session.scalars(
            scoped(PaymentAttempt, charge.account_id)
            .where(PaymentAttempt.id == charge.attempt_id)
            .with_for_update()
        ).one()
        attempts.apply(session, charge.account_id, attempt, payment)
        if attempt.status in attempts.OPEN:
            report.waiting.append(recharge.id)  # asked again after the lease
            return
        account = get_account(session, charge.account_id)
        if attempt.status is AttemptStatus.SUCCEEDED:
            recharge.status = RechargeStatus.SUCCEEDED
            recharge.completed_at = now
            row.last_failure = None
            session.flush()
            emit(
                session,
                account.id,
                NotificationType.CREDIT_RECHARGED,
                CREDIT_RECHARGE,
                [recharge.id],
            )
            activity.record(
                session,
                account.id,
                verb="SUCCEEDED",
                object_type="CREDIT_RECHARGE",
                object_id=recharge.id,
                name="Auto-recharge charged",
                summary=f"auto-recharge #{recharge.number}: "
                f"{activity.number(recharge.amount)} {recharge.currency} of credit bought, "
                f"{activity.number(recharge.charged)} {recharge.currency} charged",
                target_type="CUSTOMER",
                target_id=recharge.customer_id,
            )
            report.succeeded.append(recharge.id)
            return
        why = attempt.failure_message or f"the payment is {attempt.status.value}"
        lifecycle.void(session, account, charge.invoice_id)  # cancels the top-up: no credits
        _fail(session, account, row, recharge, why, now)
        report.failed.append(recharge.id)


def _recharge(
    db: Database,
    settings: Settings,
    account_id: str,
    auto_recharge_id: str,
    now: datetime,
    report: RechargeReport,
) -> None:
    charge = _claim(db, settings, account_id, auto_recharge_id, now, report)
    if charge is None:
        return
    try:
        payment = ask(charge)
    except PaymentProviderUnavailable as unavailable:
        # Left PENDING: after the lease, a check asks again with the same key.
        log.warning("recharge %s: %s", charge.recharge_id, unavailable.message)
        report.waiting.append(charge.recharge_id)
        return
    _apply(db, charge, payment, now, report)


def recharge_if_low(
    db: Database,
    account_id: str,
    customer_ids: list[str] | None,
    *,
    settings: Settings | None = None,
    now: datetime | None = None,
    report: RechargeReport | None = None,
) -> RechargeReport:
    """Recharge those of the customers (all of the account's, None) whose available balance
    is below their auto-recharge's level, and finish recharges left PENDING. Each in its own
    transactions: call it outside any."""
    settings = settings or get_settings()
    now = now or utcnow()
    report = report or RechargeReport()
    with db.session(write=False) as session:
        rows = settings_of.live_auto_recharges(session, account_id, customer_ids)
        if not rows:  # the usual case for the alert evaluator's customers: one query
            return report
        targets = [(row.id, row.customer_id, row.currency) for row in rows]
        account = get_account(session, account_id)
        today = local_today(account.timezone, now)
        balances = settings_of.available_balances(
            session, account_id, sorted({customer for _, customer, _ in targets}), today
        )
        low = [
            row.id
            for row in rows
            if balances.get((row.customer_id, row.currency), Decimal(0)) < row.below_balance
            and (row.paused_until is None or row.paused_until <= now)
        ]
        # Recharges left PENDING (a claimant died, the provider was away) are finished too.
        unfinished = settings_of.pending_auto_recharges(
            session, account_id, [r for r, _, _ in targets]
        )
    for row_id in sorted(set(low) | set(unfinished)):
        try:  # the claim looks again under the row lock
            _recharge(db, settings, account_id, row_id, now, report)
        except Exception:  # one customer's fault must not stop the others
            log.exception("auto-recharge %s failed", row_id)
    return report


def recharge_due(
    db: Database, settings: Settings, *, now: datetime | None = None, account_id: str | None = None
) -> RechargeReport:
    """The job: every account with auto-recharge, each customer whose balance is low."""
    report = RechargeReport()
    with db.session(write=False) as session:
        accounts = settings_of.accounts_with_auto_recharge(session, account_id)
    for found in accounts:
        recharge_if_low(db, found, None, settings=settings, now=now, report=report)
    return report
