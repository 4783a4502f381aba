"""The one tenant-scoped base every domain's reads start from (as Polar's repositories'
base statement): a row of another account is never selected, so it answers as not found.

`scoped` builds the statement and takes no session: a domain's `queries.py` adds its
filters, ordering and loader options, then runs it. `scoped_get` is the lookup by id the
services and pages share."""

from typing import Literal, TypeVar, overload

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tally.exceptions import NotFound
from tally.models.base import TenantMixin

_Row = TypeVar("_Row", bound=TenantMixin)


def scoped(model: type[_Row], account_id: str) -> Select[_Row]:
    """Rows of `model` owned by `account_id`."""
    return select(model).where(model.account_id == account_id)


@overload
def scoped_get(
    session: Session, model: type[_Row], account_id: str, row_id: str, *, kind: str
) -> _Row: ...


@overload
def scoped_get(
    session: Session,
    model: type[_Row],
    account_id: str,
    row_id: str,
    *,
    kind: Literal[None] = None,
) -> _Row | None: ...


def scoped_get(
    session: Session, model: type[_Row], account_id: str, row_id: str, *, kind: str | None = None
) -> _Row | None:
    """The row of `account_id` with this id; None when there is none, or, given `kind` (the
    name an error says, "Customer"), NotFound: another account's id looks the same as none."""
    row = session.scalar(scoped(model, account_id).where(model.id == row_id))
    if row is None and kind is not None:
        raise NotFound.resource(kind, row_id)
    return row
