"""Ids a request body names, resolved to rows of the caller's account.

Every service resolves the ids in a body here (a path's id has its service's `get_...`), so an
id of another account answers exactly as an unknown one: 404, naming the field
(`phases.0.creditGrants.1.metricId`). Deleted rows (those with a `deleted_at`) are not found;
whether an archived one may be named is the caller's rule, checked after resolving (an
`ArchivedReference` or an `InvalidRequest`, both 400). Resolve every reference of a request
before checking how they fit together, so a foreign id is a 404 whatever else the body says.

Rows of something the caller already holds (the lines of the invoice a credit note credits,
the groups of the invoice being edited) are found with `among`, with the same answer.

`tests/security/test_tenant_references.py` walks every id field of every request body in the
OpenAPI document with another account's ids: a new reference resolved anywhere else fails there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from tally.exceptions import NotFound
from tally.models.base import TenantMixin

Row = TypeVar("Row", bound=TenantMixin)
# A field (where the body names it) and the id it names.
Named = tuple[str, str]
# Hold the rows until commit: "share" (FOR SHARE: archiving waits) or "update".
Lock = Literal["share", "update"]


def kind_of(model: type[Any]) -> str:
    """`UsageMetric` -> "Usage metric": how messages name a row."""
    words = re.findall(r"[A-Z][a-z]*", model.__name__)
    return " ".join([words[0], *(word.lower() for word in words[1:])])


def not_found(field: str, kind: str, identifier: str) -> NotFound:
    message = f"{kind} {identifier!r} not found"
    return NotFound(f"{field}: {message}", details=[{"field": field, "message": message}])


def resolve(
    session: Session,
    account_id: str,
    model: type[Row],
    named: Iterable[Named],
    *,
    where: Iterable[ColumnElement[bool]] = (),
    lock: Lock | None = None,
    kind: str | None = None,
    deleted: bool = False,
) -> dict[str, Row]:
    """The rows `named` names, by id, in one query; NotFound for the first that is not a
    live row of the account (`deleted`: or a deleted one), naming its field. `where`
    narrows further (a child of one parent); `kind` names the row in messages (default:
    the model's name)."""
    named = list(named)
    wanted = list(dict.fromkeys(identifier for _, identifier in named))
    if not wanted:
        return {}
    columns: Any = model  # the mixin's columns, typed loosely for the generic query
    query = select(model).where(columns.account_id == account_id, columns.id.in_(wanted), *where)
    if not deleted and hasattr(model, "deleted_at"):
        query = query.where(columns.deleted_at.is_(None))
    if lock is not None:  # and read as it is now, whatever the session held before
        query = query.with_for_update(read=lock == "share")
        query = query.execution_options(populate_existing=True)
    found = {row.id: row for row in session.scalars(query)}
    for field, identifier in named:
        if identifier not in found:
            raise not_found(field, kind or kind_of(model), identifier)
    return found


def resolve_one(
    session: Session,
    account_id: str,
    model: type[Row],
    field: str,
    identifier: str,
    *,
    where: Iterable[ColumnElement[bool]] = (),
    lock: Lock | None = None,
    kind: str | None = None,
    deleted: bool = False,
) -> Row:
    """The one row `identifier` names (see `resolve`)."""
    named = [(field, identifier)]
    found = resolve(
        session, account_id, model, named, where=where, lock=lock, kind=kind, deleted=deleted
    )
    return found[identifier]


def among(rows: Iterable[Row], field: str, identifier: str, kind: str) -> Row:
    """The row of `rows` (children of an object the caller holds, so its account's) with
    this id; NotFound naming the field otherwise, as `resolve` answers."""
    for row in rows:
        if row.id == identifier:
            return row
    raise not_found(field, kind, identifier)


def fields(where: str, identifiers: Iterable[str]) -> list[Named]:
    """`(f"{where}.{index}", id)` for a list of ids (`priceIds` -> `priceIds.0`, ...)."""
    return [(f"{where}.{index}", identifier) for index, identifier in enumerate(identifiers)]
