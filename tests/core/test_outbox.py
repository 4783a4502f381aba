"""The durable outbox (`tally.core.outbox`) on the real database: claims under a lease taken
over when it runs out, outcomes guarded by the attempt claimed, the backoff schedule, giving
up after the last attempt, and claimers that never share a row. Its rows are `email_messages`
of the test's own account, the table being only a carrier here."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.accounts.service import Credentials
from tally.core.clock import utcnow
from tally.core.outbox import Outbox, Retries
from tally.db import Database
from tally.models import DeliveryStatus, EmailMessage

BOX = Outbox(
    EmailMessage,
    pending=DeliveryStatus.PENDING,
    delivered=DeliveryStatus.DELIVERED,
    failed=DeliveryStatus.FAILED,
)
LEASE = timedelta(minutes=5)


def queue(database: Database, account_id: str, due: datetime, count: int = 1) -> list[str]:
    with database.transaction() as session:
        rows = [
            EmailMessage(
                account_id=account_id,
                kind="TEST",
                to_addresses=["jane@example.com"],
                subject=f"message {n}",
                text_body="",
                next_attempt_at=due,
            )
            for n in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def claim(
    database: Database, account_id: str, now: datetime, limit: int = 100
) -> list[tuple[str, int]]:
    """(id, attempt) of what one claim takes, in the order claimed."""
    with database.transaction() as session:
        return _claim(session, account_id, now, limit)


def _claim(session: Session, account_id: str, now: datetime, limit: int) -> list[tuple[str, int]]:
    mine = EmailMessage.account_id == account_id
    ids = session.scalars(BOX.locked(EmailMessage.id, now, mine, limit=limit)).all()
    if not ids:
        return []
    rows = BOX.claim(session, ids, now + LEASE, (EmailMessage.id, EmailMessage.attempts))
    attempts: dict[str, int] = dict(rows)
    return [(row_id, attempts[row_id]) for row_id in ids]


def row(database: Database, row_id: str) -> EmailMessage:
    with database.session(write=False) as session:
        found = session.get(EmailMessage, row_id)
        assert found is not None
        return found


def test_a_claim_is_taken_over_only_when_its_lease_runs_out(
    database: Database, account: Credentials
) -> None:
    now = utcnow()
    [message] = queue(database, account.account_id, now)
    assert claim(database, account.account_id, now) == [(message, 1)]  # this worker dies

    assert claim(database, account.account_id, now + LEASE - timedelta(seconds=1)) == []
    assert claim(database, account.account_id, now + LEASE) == [(message, 2)]

    with database.transaction() as session:  # the first worker, back too late
        BOX.record(session, message, 1, status=DeliveryStatus.FAILED, last_error="late")
    assert (row(database, message).status, row(database, message).last_error) == (
        DeliveryStatus.PENDING,
        None,
    )
    with database.transaction() as session:
        BOX.record(session, message, 2, status=DeliveryStatus.DELIVERED, next_attempt_at=None)
    assert row(database, message).status is DeliveryStatus.DELIVERED
    assert claim(database, account.account_id, now + 10 * LEASE) == []


def test_a_released_claim_is_due_again_at_once_and_not_counted(
    database: Database, account: Credentials
) -> None:
    now = utcnow()
    [message] = queue(database, account.account_id, now)
    [claimed] = claim(database, account.account_id, now)
    with database.transaction() as session:
        BOX.release(session, [claimed], now)
    assert claim(database, account.account_id, now) == [(message, 1)]


def test_failures_back_off_exponentially_then_give_up_after_the_last_attempt(
    database: Database, account: Credentials
) -> None:
    retries = Retries(backoff_seconds=30, max_attempts=4)
    assert [retries.backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    now = utcnow()
    [message] = queue(database, account.account_id, now)

    waits = []
    for attempt in range(1, 5):
        assert claim(database, account.account_id, now) == [(message, attempt)]
        settled = BOX.settle(retries, attempt, now, delivered=False)
        with database.transaction() as session:
            BOX.record(
                session,
                message,
                attempt,
                status=settled.status,
                next_attempt_at=settled.next_attempt_at,
            )
        stored = row(database, message)
        if stored.next_attempt_at is not None:
            waits.append(stored.next_attempt_at - now)
            assert claim(database, account.account_id, stored.next_attempt_at - LEASE / 100) == []
            now = stored.next_attempt_at

    assert [wait.total_seconds() for wait in waits] == [30, 60, 120]
    stored = row(database, message)
    assert (stored.status, stored.attempts, stored.next_attempt_at) == (
        DeliveryStatus.FAILED,
        4,
        None,
    )
    assert claim(database, account.account_id, now + timedelta(days=365)) == []


def test_settling_an_attempt() -> None:
    retries = Retries(backoff_seconds=10, max_attempts=3)
    at = utcnow()
    assert BOX.settle(retries, 1, at, delivered=True).status is DeliveryStatus.DELIVERED
    assert BOX.settle(retries, 3, at, delivered=True).next_attempt_at is None
    retry = BOX.settle(retries, 2, at, delivered=False)
    assert (retry.status, retry.next_attempt_at) == (
        DeliveryStatus.PENDING,
        at + timedelta(seconds=20),
    )
    assert BOX.settle(retries, 3, at, delivered=False).status is DeliveryStatus.FAILED
    permanent = BOX.settle(retries, 1, at, delivered=False, permanent=True)
    assert (permanent.status, permanent.next_attempt_at) == (DeliveryStatus.FAILED, None)


def test_a_claimer_skips_the_rows_another_holds(database: Database, account: Credentials) -> None:
    """PostgreSQL: the second claim skips the first's locked rows without waiting for them;
    SQLite: it waits for the first to commit (one writer), then finds them leased."""
    now = utcnow()
    messages = queue(database, account.account_id, now, count=6)
    second: list[tuple[str, int]] = []
    thread = threading.Thread(
        target=lambda: second.extend(claim(database, account.account_id, now))
    )
    with database.transaction() as session:
        first = _claim(session, account.account_id, now, limit=3)
        thread.start()
        thread.join(timeout=0.5 if database.is_sqlite else 30)
        assert thread.is_alive() is database.is_sqlite
    thread.join(timeout=30)

    assert len(first) == 3
    assert sorted(message for message, _ in first + second) == sorted(messages)
    assert {attempt for _, attempt in first + second} == {1}


def test_concurrent_claimers_never_get_the_same_row(
    database: Database, account: Credentials
) -> None:
    now = utcnow()
    messages = queue(database, account.account_id, now, count=40)
    start = threading.Barrier(4)
    taken: list[Sequence[tuple[str, int]]] = []

    def claimer() -> None:
        start.wait()
        while claimed := claim(database, account.account_id, now, limit=3):
            taken.append(claimed)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    ids = [message for batch in taken for message, _ in batch]
    assert sorted(ids) == sorted(messages)  # each claimed once, none left
    with database.session(write=False) as session:
        attempts = session.scalars(
            select(EmailMessage.attempts).where(EmailMessage.id.in_(messages))
        ).all()
    assert set(attempts) == {1}
