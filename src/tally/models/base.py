"""Declarative base and the columns every tenant-owned row shares."""

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import Enum, ForeignKey, MetaData, String, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, declared_attr, mapped_column

from tally.core.clock import utcnow
from tally.db import ExactDecimal, JSONDocument, UTCDateTime, new_id

# Stable constraint names, so Alembic can alter them on both SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        Decimal: ExactDecimal(),
        datetime: UTCDateTime(),
        dict[str, Any]: JSONDocument,
        list[Any]: JSONDocument,
        # Enums as plain strings: no native PostgreSQL types to migrate when a value is added.
        enum.Enum: Enum(enum.Enum, native_enum=False, length=32),
    }


def _same_as_created_at(context: Any) -> datetime:
    created_at: datetime = context.get_current_parameters()["created_at"]
    return created_at


class RecordMixin:
    """A UUIDv7 primary key and creation/update timestamps."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id, sort_order=-100)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, sort_order=100)
    # Stamped by _stamp_updated_at below, once per flush.
    updated_at: Mapped[datetime] = mapped_column(default=_same_as_created_at, sort_order=101)


class TenantMixin(RecordMixin):
    """A row owned by one account: every query on it filters by `account_id`."""

    # True where a composite key starting with account_id indexes it already: a second,
    # narrower index would cost every write and tempt the planner away from the key.
    account_id_leads_a_key: ClassVar[bool] = False

    @declared_attr
    def account_id(cls) -> Mapped[str]:
        return mapped_column(
            String(36),
            ForeignKey("accounts.id"),
            index=not cls.account_id_leads_a_key,
            sort_order=-90,
        )


@event.listens_for(Session, "before_flush")
def _stamp_updated_at(session: Session, _context: Any, _instances: Any) -> None:
    """One timestamp for every row a flush changes.

    Not a column `onupdate`: SQLAlchemy computes that once per batched UPDATE and hands the
    first row's value back to every object of the batch, so responses could disagree with
    what was stored.
    """
    now = utcnow()
    for record in session.dirty:
        if isinstance(record, RecordMixin) and session.is_modified(
            record, include_collections=False
        ):
            record.updated_at = now
