"""The reads every domain starts from, below every domain: the account itself (the tenant),
so any domain (documents, notifications, billing) may load its settings without a cycle, and
the one tenant-scoped base (as Polar's repositories' base statement): a row of another account
is never selected, so it answers as not found.

`scoped` builds the statement and takes no session: a domain's `queries.py` adds its
filters, ordering and loader options, then runs it. `scoped_get` is the lookup by id the
services and pages share."""

from typing import Literal, TypeVar, overload

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tally.exceptions import NotFound
from tally.models.account import Account
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


def get_account(session: Session, account_id: str) -> Account:
    """The account; NotFound only if it was deleted after the caller authenticated as it."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound.resource("Account", account_id)
    return account
