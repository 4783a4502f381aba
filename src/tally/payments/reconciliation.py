"""Reconciliation: the webhooks that never came. An attempt still open (PENDING or
REQUIRES_ACTION) some minutes after it was made, with a provider payment, is brought to what
the provider reports now, through `attempts.apply`, as a webhook would have: a payment is
recorded once by its id however often this runs, or a webhook races it.

The provider is asked outside any transaction (an SQLite writer holds the whole database);
each account's answers are then applied in one short transaction, its attempts locked."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.core.clock import utcnow
from tally.db import Database
from tally.exceptions import TallyError
from tally.models import PaymentAttempt, PaymentProviderConnection, PaymentProviderName
from tally.models.scoped import scoped
from tally.payments import attempts, connections
from tally.payments.providers import ProviderPayment
from tally.settings import Settings

log = logging.getLogger(__name__)

# Older attempts are not asked about any more: Stripe retries a webhook for three days, and
# a payment left waiting for its customer for a month is abandoned.
LOOKBACK = timedelta(days=30)
BATCH = 500


@dataclass
class ReconciliationReport:
    checked: int = 0
    changed: list[str] = field(default_factory=list)  # attempt ids whose status moved
    failed: list[str] = field(default_factory=list)  # attempt ids the provider did not answer


@dataclass(frozen=True)
class _Open:
    account_id: str
    attempt_id: str
    provider: PaymentProviderName
    provider_payment_id: str


def reconcile(
    db: Database,
    settings: Settings,
    *,
    older_than: timedelta | None = None,
    now: datetime | None = None,
) -> ReconciliationReport:
    """Ask the provider about every open attempt made more than `older_than` (the setting
    `payment_reconcile_after_seconds` by default) and apply its answer."""
    now = now or utcnow()
    if older_than is None:
        older_than = timedelta(seconds=settings.payment_reconcile_after_seconds)
    report = ReconciliationReport()
    with db.lookup_session() as session:
        open_attempts = _open_attempts(session, made_before=now - older_than, since=now - LOOKBACK)
        providers = _connections(session, {row.account_id for row in open_attempts})
    by_account: dict[tuple[str, PaymentProviderName], list[_Open]] = defaultdict(list)
    for row in open_attempts:
        by_account[row.account_id, row.provider].append(row)
    for (account_id, provider_name), rows in by_account.items():
        connection = providers.get((account_id, provider_name))
        if connection is None:  # disconnected since: nothing to ask
            continue
        provider = connections.build(settings, connection)
        answers: dict[str, ProviderPayment] = {}
        for row in rows:
            report.checked += 1
            try:
                answers[row.provider_payment_id] = provider.retrieve_payment(
                    row.provider_payment_id
                )
            except TallyError as error:
                log.warning("reconciliation: %s not retrieved: %s", row.provider_payment_id, error)
                report.failed.append(row.attempt_id)
        if answers:
            with db.transaction() as session:
                report.changed += _apply(session, account_id, answers)
    if report.changed or report.failed:
        log.info(
            "payment reconciliation: %d checked, %d changed, %d not answered",
            report.checked,
            len(report.changed),
            len(report.failed),
        )
    return report


def _open_attempts(session: Session, *, made_before: datetime, since: datetime) -> list[_Open]:
    """Every account's open attempts with a provider payment, made in the window (on purpose
    across accounts: the job serves them all)."""
    rows = session.execute(
        select(
            PaymentAttempt.account_id,
            PaymentAttempt.id,
            PaymentAttempt.provider,
            PaymentAttempt.provider_payment_id,
        )
        .where(
            PaymentAttempt.status.in_(attempts.OPEN),
            PaymentAttempt.created_at <= made_before,
            PaymentAttempt.created_at > since,
            PaymentAttempt.provider_payment_id.is_not(None),
            PaymentAttempt.provider_payment_id != "",
        )
        .order_by(PaymentAttempt.created_at)
        .limit(BATCH)
    ).all()
    return [
        _Open(account_id, id_, provider, payment_id or "")
        for account_id, id_, provider, payment_id in rows
    ]


def _connections(
    session: Session, account_ids: set[str]
) -> dict[tuple[str, PaymentProviderName], PaymentProviderConnection]:
    """The live connections of these accounts, in one query."""
    if not account_ids:
        return {}
    rows = session.scalars(
        select(PaymentProviderConnection).where(
            PaymentProviderConnection.account_id.in_(account_ids),
            PaymentProviderConnection.disconnected_at.is_(None),
        )
    )
    return {(row.account_id, row.provider): row for row in rows}


def _apply(session: Session, account_id: str, answers: dict[str, ProviderPayment]) -> list[str]:
    """Apply the provider's answers to the account's attempts, locked in one query; each in a
    savepoint, so one refused (its invoice voided meanwhile) leaves the others applied."""
    changed = []
    locked = session.scalars(
        scoped(PaymentAttempt, account_id)
        .where(PaymentAttempt.provider_payment_id.in_(list(answers)))
        .order_by(PaymentAttempt.id)
        .with_for_update()
    ).all()
    for attempt in locked:
        assert attempt.provider_payment_id is not None
        before = attempt.status
        try:
            with session.begin_nested():
                attempts.apply(session, account_id, attempt, answers[attempt.provider_payment_id])
        except TallyError as error:
            log.warning("reconciliation: attempt %s not applied: %s", attempt.id, error)
            continue
        if attempt.status is not before:
            changed.append(attempt.id)
    return changed
