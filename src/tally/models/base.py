"""Declarative base and the columns every tenant-owned row shares."""

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Enum, ForeignKey, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from tally.db import ExactDecimal, JSONDocument, UTCDateTime, new_id, utcnow

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
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, sort_order=101)


class TenantMixin(RecordMixin):
    """A row owned by one account: every query on it filters by `account_id`."""

    @declared_attr
    def account_id(cls) -> Mapped[str]:
        return mapped_column(String(36), ForeignKey("accounts.id"), index=True, sort_order=-90)
