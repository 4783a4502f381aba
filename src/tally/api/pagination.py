"""Keyset pagination in Sequence's shape: `limit`, opaque `after`/`before` cursors.

Ids are UUIDv7, ordered by creation, so the id alone is a stable sort key: a page never skips
or repeats rows when others are inserted meanwhile, and no OFFSET scan is needed.
"""

import base64
import binascii
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import Depends, Query
from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.orm import Session

from tally.api.schemas import Pagination
from tally.exceptions import BadRequest


class Identified(Protocol):
    @property
    def id(self) -> str: ...


RowT = TypeVar("RowT", bound=Identified)


class SortOrder(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


@dataclass(frozen=True)
class PageParams:
    limit: int = 20
    after: str | None = None
    before: str | None = None
    sort_order: SortOrder = SortOrder.DESC


def encode_cursor(row_id: str) -> str:
    return base64.urlsafe_b64encode(row_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        row_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return str(uuid.UUID(row_id))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"Invalid pagination cursor {cursor!r}.") from exc


def page_params(
    limit: Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100.")] = 20,
    after: Annotated[str | None, Query(description="Cursor: the page after this one.")] = None,
    before: Annotated[str | None, Query(description="Cursor: the page before this one.")] = None,
    sort_order: Annotated[
        SortOrder, Query(alias="sortOrder", description="By creation time.")
    ] = SortOrder.DESC,
) -> PageParams:
    if after and before:
        raise BadRequest("Give either `after` or `before`, not both.")
    return PageParams(limit=limit, after=after, before=before, sort_order=sort_order)


Paging = Annotated[PageParams, Depends(page_params)]


@dataclass
class PageResult(Generic[RowT]):
    rows: list[RowT]
    pagination: Pagination


def paginate(
    session: Session, statement: Select[RowT], id_column: Any, params: PageParams
) -> PageResult[RowT]:
    """Run `statement` (already filtered) for one page, ordered by `id_column`."""
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    descending = params.sort_order is SortOrder.DESC
    backwards = params.before is not None
    raw_cursor = params.before or params.after
    cursor = decode_cursor(raw_cursor) if raw_cursor else None

    def beyond(value: str, forward: bool) -> ColumnElement[bool]:
        # Rows that come after `value` in reading order (forward) or before it.
        condition: ColumnElement[bool] = (
            id_column < value if descending == forward else id_column > value
        )
        return condition

    query = statement
    if cursor is not None:
        query = query.where(beyond(cursor, forward=not backwards))
    reading_order = descending != backwards
    query = query.order_by(id_column.desc() if reading_order else id_column.asc())
    rows = list(session.scalars(query.limit(params.limit + 1)))
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    if backwards:
        rows.reverse()

    def has_rows(value: str, forward: bool) -> bool:
        probe = statement.where(beyond(value, forward)).order_by(None)
        return bool(session.scalar(select(exists(probe))))

    first, last = (rows[0].id, rows[-1].id) if rows else (None, None)
    # The page in the reading direction knows from `more`; the other side needs a probe,
    # and only when the request started from a cursor.
    has_next = more if not backwards else (last is not None and has_rows(last, forward=True))
    has_prev = (
        more
        if backwards
        else (cursor is not None and first is not None and has_rows(first, forward=False))
    )
    return PageResult(
        rows=rows,
        pagination=Pagination(
            after=encode_cursor(last) if has_next and last else None,
            before=encode_cursor(first) if has_prev and first else None,
            total_result_size=total or 0,
        ),
    )
