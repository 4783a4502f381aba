"""One durable outbox: rows written in the transaction of the change they announce (an email,
a webhook delivery), delivered afterwards by any number of workers, at least once.

A row is due while it is pending and its `next_attempt_at` has come. A worker claims due rows
in one short transaction: it locks them (`FOR UPDATE SKIP LOCKED`: rows another worker holds
are skipped, never waited for; SQLite has no row locks and drops the clause, its one writer,
taken at BEGIN, makes claims take turns), counts the attempt and pushes `next_attempt_at` a
lease ahead, and commits, so no lock is held while it delivers. Other workers leave the row
alone until the lease runs out, then take it over: a worker that died mid-delivery loses its
claim and the row goes again. An outcome is recorded only where the row's attempt count is
still the one claimed, so a worker that outlived its lease cannot overwrite the outcome of the
one that took over.

A failed attempt is tried again after base, 2 x base, 4 x base ... (`Retries`); after the last
attempt, or a failure no retry mends, the row has failed for good.

The outbox is told its mapped class (with `id`, `status`, `attempts` and `next_attempt_at`
columns) and its status values; what a row carries, how it is delivered and how claims are
shared fairly stay with the caller. The bottom layer: SQLAlchemy only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Row, Select, Table, and_, bindparam, select, update
from sqlalchemy.orm import Session

Status = TypeVar("Status")


@dataclass(frozen=True)
class Retries:
    """When a failed attempt is tried again: `backoff_seconds` x 2^(attempts - 1) after it,
    `max_attempts` attempts in all."""

    backoff_seconds: float
    max_attempts: int

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt: base, 2 x base, 4 x base ..."""
        return timedelta(seconds=self.backoff_seconds * 2 ** (attempts - 1))

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


@dataclass(frozen=True)
class Settled(Generic[Status]):
    """What an attempt's outcome makes of its row."""

    status: Status
    next_attempt_at: datetime | None  # None: no attempt comes


class Outbox(Generic[Status]):
    """The claim, lease and retry rules over one table of deliveries."""

    def __init__(self, model: type[Any], *, pending: Status, delivered: Status, failed: Status):
        self.model = model
        table = model.__table__
        assert isinstance(table, Table)
        self.table = table
        self.pending, self.delivered, self.failed = pending, delivered, failed

    def due(self, now: datetime) -> ColumnElement[bool]:
        return and_(self.model.status == self.pending, self.model.next_attempt_at <= now)

    def locked(
        self, what: Any, now: datetime, *criteria: Any, limit: int | None = None
    ) -> Select[Any]:
        """`what` (the row, or some of its columns) of the rows due by `now` that match
        `criteria`, longest due first, locked until the transaction ends; rows another
        worker has locked are skipped."""
        query = (
            select(what)
            .where(self.due(now), *criteria)
            .order_by(self.model.next_attempt_at, self.model.id)
            .with_for_update(skip_locked=True)
        )
        return query if limit is None else query.limit(limit)

    def claim(
        self,
        session: Session,
        ids: Collection[str],
        lease_until: datetime,
        returning: Sequence[Any],
        **values: Any,
    ) -> Sequence[Row[*tuple[Any, ...]]]:
        """Start an attempt on each of `ids` (locked by `locked`): counted, and not due
        again before `lease_until`. `returning` of each row, in no particular order;
        `values` are set too (a timestamp)."""
        return session.execute(
            update(self.model)
            .where(self.model.id.in_(ids))
            .values(attempts=self.model.attempts + 1, next_attempt_at=lease_until, **values)
            .returning(*returning)
        ).all()

    def record(self, session: Session, row_id: str, attempt: int, **values: Any) -> None:
        """Set `values` on the row if its claim is still `attempt` (no one took it over)."""
        session.execute(
            update(self.model)
            .where(self.model.id == row_id, self.model.attempts == attempt)
            .values(**values)
        )

    def record_many(self, session: Session, outcomes: Sequence[Mapping[str, Any]]) -> None:
        """`record` for many rows in one statement: each outcome the row's `id`, the
        `attempt` claimed and the columns to set, the same columns for all."""
        if not outcomes:
            return
        # Parameters must not share a column's name in an UPDATE: prefixed.
        columns = [name for name in outcomes[0] if name not in ("id", "attempt")]
        statement = (
            update(self.table)
            .where(
                self.table.c.id == bindparam("b_id"),
                self.table.c.attempts == bindparam("b_attempt"),
            )
            .values({name: bindparam(f"b_{name}") for name in columns})
        )
        parameters = [{f"b_{name}": value for name, value in o.items()} for o in outcomes]
        session.connection().execute(statement, parameters)

    def release(
        self, session: Session, claims: Iterable[tuple[str, int]], now: datetime, **values: Any
    ) -> None:
        """Give claimed rows (id, attempt) back unattempted: due again at `now`, the attempt
        not counted."""
        for row_id, attempt in claims:
            self.record(
                session, row_id, attempt, attempts=attempt - 1, next_attempt_at=now, **values
            )

    def settle(
        self,
        retries: Retries,
        attempt: int,
        at: datetime,
        *,
        delivered: bool,
        permanent: bool = False,
    ) -> Settled[Status]:
        """Delivered; failed for good when `permanent` or out of attempts; else pending,
        tried again after the backoff from `at`."""
        if delivered:
            return Settled(self.delivered, None)
        if permanent or retries.exhausted(attempt):
            return Settled(self.failed, None)
        return Settled(self.pending, at + retries.backoff(attempt))
