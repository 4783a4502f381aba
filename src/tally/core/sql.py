"""SQL that differs between PostgreSQL and SQLite, behind names that say what it does.

Domains ask these helpers instead of reading `dialect.name` themselves (`scripts/
check_dialect.py` holds them to it); the dialect layer proper is `tally.db` (column types,
engines, bulk paths, locks) and `tally.sqlite_functions` (the SQL functions SQLite lacks).

SQLite keeps exact decimals as text (`tally.db.ExactDecimal`): its built-in SUM and
comparisons would treat them as floats (or as text), so amounts are added and compared there
by the registered exact functions (`tally_decimal_sum`, `tally_decimal_cmp`). Standard
library and SQLAlchemy only: the bottom layer."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, String, func, literal, text, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

Bind = Session | Connection
Comparison = Callable[[Any, Any], ColumnElement[bool]]


def is_postgres(bind: Bind) -> bool:
    """Whether the session or connection talks to PostgreSQL (else SQLite)."""
    dialect = bind.dialect if isinstance(bind, Connection) else bind.get_bind().dialect
    return dialect.name == "postgresql"


def commit_without_waiting(session: Session) -> None:
    """Let this transaction's commit return before its WAL is flushed (PostgreSQL; SQLite
    has no such setting). Only for writes whose loss in a server crash is harmless, such as
    a queue's bookkeeping that is simply done again: it spares the hot path a disk flush."""
    if is_postgres(session):
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def upsert_insert(bind: Bind) -> Callable[..., postgresql.Insert | sqlite.Insert]:
    """The dialect's `insert`, whose statements take `on_conflict_do_update/_nothing`."""
    return postgresql.insert if is_postgres(bind) else sqlite.insert


def exact_sum(bind: Bind, value: Any) -> ColumnElement[Decimal | None]:
    """SUM of an exact-decimal expression, exact on both databases and of the same type."""
    if is_postgres(bind):
        return func.sum(value)
    return type_coerce(func.tally_decimal_sum(value), value.type)


def _sqlite_operand(value: Any) -> Any:
    # A Decimal bound as a number would reach SQLite as a float: bind its exact text.
    return literal(str(value), String()) if isinstance(value, Decimal | int) else value


def exact_compare(bind: Bind, left: Any, compare: Comparison, right: Any) -> ColumnElement[bool]:
    """`compare(left, right)` (an `operator` function: `operator.gt`, `operator.eq`...) on
    exact decimals (columns, sums, or Decimal values): numerically on PostgreSQL; on SQLite by
    the registered exact comparison (-1, 0, 1, or NULL when either side is NULL), never as
    floats (which tell apart no amounts past 15 significant digits) nor as text."""
    if is_postgres(bind):
        return compare(left, right)
    order = func.tally_decimal_cmp(_sqlite_operand(left), _sqlite_operand(right))
    return compare(order, 0)


def utc_hour_text(bind: Bind, timestamp: Any) -> ColumnElement[str]:
    """The UTC hour a stored timestamp falls in, as text ("2026-11-21 14"): comparable and
    equal on both databases."""
    if is_postgres(bind):
        return func.to_char(func.timezone("UTC", timestamp), "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", timestamp)


def json_object_keys(bind: Bind, document: Any) -> Any:
    """A table-valued function giving one row (column `key`) per key of a JSON object column,
    to join with the column's table: distinct custom property keys in one query."""
    function = func.jsonb_each if is_postgres(bind) else func.json_each
    return function(document).table_valued("key")


def sortable_decimal(bind: Bind, value: Any) -> ColumnElement[Any]:
    """An exact-decimal expression as a sort key that orders numerically: the value itself on
    PostgreSQL; on SQLite (which keeps decimals as text) the registered order-preserving text
    key `tally_decimal_sort_key`, so "9.50" sorts before "10.00" and "-2" before "-1.5"."""
    if is_postgres(bind):
        return value  # type: ignore[no-any-return]
    return func.tally_decimal_sort_key(value)
