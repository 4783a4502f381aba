"""Locking an invoice or a credit note while it changes.

`SELECT ... FOR UPDATE` on PostgreSQL (SQLite's writers run one at a time), read afresh
(`populate_existing`): what the caller checks is what it changes, and a concurrent change of
the same document waits until this transaction commits. Where two documents change together
(a credit note and its invoice), take the invoice first, everywhere, so they never deadlock.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tally.api import references
from tally.exceptions import NotFound
from tally.models import CreditNote, Invoice

Document = TypeVar("Document", Invoice, CreditNote)


def lock_document(
    session: Session,
    model: type[Document],
    account_id: str,
    document_id: str,
    *,
    field: str | None = None,
    with_lines: bool = False,
) -> Document:
    """The document, row-locked until commit; `with_lines`: its lines and groups loaded too.

    Another account's or an unknown one is not found: named by `field` where a request body
    names it (the answer `references.resolve` gives), by its kind and id where a path does."""
    query = select(model).where(model.account_id == account_id, model.id == document_id)
    if with_lines:
        query = query.options(selectinload(model.line_items), selectinload(model.groups))
    document = session.scalar(query.with_for_update().execution_options(populate_existing=True))
    if document is None:
        kind = references.kind_of(model)
        if field is not None:
            raise references.not_found(field, kind, document_id)
        raise NotFound.resource(kind, document_id)
    return document
