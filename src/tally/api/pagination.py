"""Keyset pagination in Sequence's shape: `limit`, opaque `after`/`before` cursors.

Ids are UUIDv7, ordered by creation, so the id alone is a stable sort key: a page never skips
or repeats rows when others are inserted meanwhile, and no OFFSET scan is needed. Rows with
an order of their own (an invoice's lines, by `index`) page on that order, ties by id.
"""

import base64
import binascii
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import Depends, Query
from sqlalchemy import ColumnElement, Select, exists, func, literal, select, tuple_
from sqlalchemy.orm import Session

from tally.api.schemas import Pagination
from tally.exceptions import BadRequest, InvalidRequest


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


Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100.")]
After = Annotated[str | None, Query(description="Cursor: the page after this one.")]
Before = Annotated[str | None, Query(description="Cursor: the page before this one.")]


def page_params(
    limit: Limit = 20,
    after: After = None,
    before: Before = None,
    sort_order: Annotated[
        SortOrder, Query(alias="sortOrder", description="By creation time.")
    ] = SortOrder.DESC,
) -> PageParams:
    if after and before:
        raise BadRequest("Give either `after` or `before`, not both.")
    return PageParams(limit=limit, after=after, before=before, sort_order=sort_order)


def ordered_page_params(
    limit: Limit = 20,
    after: After = None,
    before: Before = None,
    sort_order: Annotated[
        SortOrder, Query(alias="sortOrder", description="By the rows' own order (`index`).")
    ] = SortOrder.ASC,
) -> PageParams:
    """For rows with an order of their own (`paginate_ordered`): that order by default."""
    return page_params(limit, after, before, sort_order)


Paging = Annotated[PageParams, Depends(page_params)]
OrderedPaging = Annotated[PageParams, Depends(ordered_page_params)]


@dataclass
class PageResult(Generic[RowT]):
    rows: list[RowT]
    pagination: Pagination


def paginate(
    session: Session, statement: Select[RowT], id_column: Any, params: PageParams, skip: int = 0
) -> PageResult[RowT]:
    """Run `statement` (already filtered) for one page, ordered by `id_column`; `skip` rows
    beyond the cursor first (Sequence's `offset`)."""
    return _keyset_page(
        session,
        statement,
        (id_column,),
        params,
        key_of=lambda row: (row.id,),
        anchor=_own_id,
        skip=skip,
    )


def paginate_ordered(
    session: Session,
    statement: Select[RowT],
    order_column: Any,
    id_column: Any,
    params: PageParams,
    skip: int = 0,
) -> PageResult[RowT]:
    """One page ordered by a non-null `order_column` (a column or a `SortKey`), ties by id:
    for rows with an order of their own, such as an invoice's lines (by `index`). Cursors are
    still row ids; a cursor naming a row that is no longer in the list is refused."""
    sort_expression = order_column
    value_of: Callable[[Any], Any] = lambda row: getattr(row, order_column.key)  # noqa: E731
    if isinstance(order_column, SortKey):
        sort_expression, value_of = order_column.expression, order_column.value_of

    def anchor(cursor: str) -> tuple[Any, ...]:
        probe = statement.with_only_columns(sort_expression).where(id_column == cursor)
        value = session.scalar(probe.order_by(None))
        if value is None:
            raise BadRequest(f"Pagination cursor for {cursor!r} names no row of this list.")
        return (value, cursor)

    def key_of(row: RowT) -> tuple[Any, ...]:
        return (value_of(row), row.id)

    return _keyset_page(
        session,
        statement,
        (sort_expression, id_column),
        params,
        key_of=key_of,
        anchor=anchor,
        skip=skip,
    )


def paginate_by_key(
    session: Session,
    statement: Select[RowT],
    sort_key: Any,
    id_column: Any,
    params: PageParams,
) -> PageResult[RowT]:
    """One page ordered by a non-null SQL expression computed from the rows (a sort key:
    a coalesced date, an exact decimal's order), ties by id. The cursors are row ids; the key
    of a page's first and last rows is read back with one probe each."""

    def anchor(cursor: str) -> tuple[Any, ...]:
        probe = statement.with_only_columns(sort_key).where(id_column == cursor)
        value = session.scalar(probe.order_by(None))
        if value is None:
            raise BadRequest(f"Pagination cursor for {cursor!r} names no row of this list.")
        return (value, cursor)

    return _keyset_page(
        session,
        statement,
        (sort_key, id_column),
        params,
        key_of=lambda row: anchor(row.id),
        anchor=anchor,
    )


def _own_id(cursor: str) -> tuple[Any, ...]:
    return (cursor,)


def _keyset_page(
    session: Session,
    statement: Select[RowT],
    columns: tuple[Any, ...],
    params: PageParams,
    *,
    key_of: Callable[[RowT], tuple[Any, ...]],
    anchor: Callable[[str], tuple[Any, ...]],
    skip: int = 0,
) -> PageResult[RowT]:
    """One page of `statement` in the order of `columns` (the last one the id), starting
    after (or before) the row a cursor names; `anchor` gives that row's sort key."""
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    descending = params.sort_order is SortOrder.DESC
    backwards = params.before is not None
    raw_cursor = params.before or params.after
    cursor = anchor(decode_cursor(raw_cursor)) if raw_cursor else None
    sort_key = columns[0] if len(columns) == 1 else tuple_(*columns)

    def beyond(key: tuple[Any, ...], forward: bool) -> ColumnElement[bool]:
        # Rows that come after `key` in reading order (forward) or before it.
        # Each value bound as its column's type: PostgreSQL compares no uuid with a varchar.
        value = (
            key[0]
            if len(key) == 1
            else tuple_(*(literal(v, type_=c.type) for v, c in zip(key, columns, strict=True)))
        )
        condition: ColumnElement[bool] = (
            sort_key < value if descending == forward else sort_key > value
        )
        return condition

    query = statement
    if cursor is not None:
        query = query.where(beyond(cursor, forward=not backwards))
    reading_order = descending != backwards
    query = query.order_by(*(c.desc() if reading_order else c.asc() for c in columns))
    rows = list(session.scalars(query.offset(skip or None).limit(params.limit + 1)))
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    if backwards:
        rows.reverse()

    def has_rows(key: tuple[Any, ...], forward: bool) -> bool:
        probe = statement.where(beyond(key, forward)).order_by(None)
        return bool(session.scalar(select(exists(probe))))

    first, last = (rows[0], rows[-1]) if rows else (None, None)
    # The page in the reading direction knows from `more`; the other side needs a probe,
    # and only when the request started from a cursor.
    started_inside = cursor is not None or skip > 0
    has_next = more if not backwards else (last is not None and has_rows(key_of(last), True))
    has_prev = (
        more
        if backwards
        else (started_inside and first is not None and has_rows(key_of(first), False))
    )
    return PageResult(
        rows=rows,
        pagination=Pagination(
            after=encode_cursor(last.id) if has_next and last else None,
            before=encode_cursor(first.id) if has_prev and first else None,
            total_result_size=total or 0,
        ),
    )


@dataclass(frozen=True)
class SortKey:
    """A sort on an expression rather than a mapped column (a custom property's value):
    `expression` orders the rows in SQL (never NULL), `value_of` reads a loaded row's value
    of it, which the cursors compare against."""

    expression: Any
    value_of: Callable[[Any], Any]


# A key of `customProperties` / `customFields` to sort by: one line, no double quote (SQLite
# reads the key inside a quoted JSON path).
_CUSTOM_KEY = re.compile(r'^[^"\x00-\x1f\x7f]{1,200}$')


def custom_key_sort(document: Any, attribute: str, key: str) -> SortKey:
    """Sort by the string value of `key` in a JSON object column (`document`), rows without
    it first (as the empty string); `attribute` is the column's Python name."""
    if not _CUSTOM_KEY.match(key):
        message = f"{key!r} is not a key Tally can sort by (1 to 200 characters, no double quote)"
        raise InvalidRequest(
            f"sortBy: {message}", details=[{"field": "sortBy", "message": message}]
        )
    expression = func.coalesce(document[key].as_string(), "")

    def value_of(row: Any) -> str:
        value = (getattr(row, attribute) or {}).get(key)
        return "" if value is None else str(value)

    return SortKey(expression, value_of)


def sort_column(
    raw: str | None,
    columns: Mapping[str, Any],
    *,
    custom_prefix: str | None = None,
    custom: Callable[[str], SortKey] | None = None,
) -> Any | None:
    """The column a `sortBy` names: one of `columns` (the API's camelCase field names, in
    any case), `<custom_prefix>.<key>` when `custom` makes the sort of a key, or None for the
    default (creation order). Anything else is refused, naming what is accepted: an ignored
    sort would answer in an order the client did not ask for."""
    if raw is None or raw.casefold() == "createdat":
        return None
    by_name = {name.casefold(): column for name, column in columns.items()}
    if raw.casefold() in by_name:
        return by_name[raw.casefold()]
    if custom_prefix and custom and raw.startswith(f"{custom_prefix}."):
        return custom(raw.removeprefix(f"{custom_prefix}."))
    accepted = ", ".join(["createdAt", *columns])
    if custom_prefix and raw.startswith(f"{custom_prefix}."):
        message = (
            f"sorting by `{custom_prefix}.<key>` is not supported by Tally yet; use {accepted}"
        )
    else:
        message = f"{raw!r} is not a sort column here; use {accepted}"
    raise InvalidRequest(f"sortBy: {message}", details=[{"field": "sortBy", "message": message}])


def paginate_sorted(
    session: Session,
    statement: Select[RowT],
    sort: Any | None,
    id_column: Any,
    params: PageParams,
    skip: int = 0,
) -> PageResult[RowT]:
    """By `sort` (a non-null column; ties by id) when given, else by creation (the id)."""
    if sort is None:
        return paginate(session, statement, id_column, params, skip)
    return paginate_ordered(session, statement, sort, id_column, params, skip)
