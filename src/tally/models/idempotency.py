"""Stored responses for POST requests retried with the same `Idempotency-Key`."""

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, RecordMixin


class IdempotencyRecord(RecordMixin, Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("account_id", "key"),)

    account_id: Mapped[str] = mapped_column(String(36), ForeignKey("accounts.id"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path, query and body: the same key with another request is a conflict.
    request_hash: Mapped[str] = mapped_column(String(64))
    # Empty until the first request completes; a record without a response is in flight.
    status_code: Mapped[int | None] = mapped_column(default=None)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
