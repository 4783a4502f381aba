"""Reads of tax rates: the statement the service builds on, and one function per question the
dashboard's pages ask, each one query on the tenant-scoped base."""

from collections.abc import Collection

from sqlalchemy import Select
from sqlalchemy.orm import Session, selectinload

from tally.models import TaxRate
from tally.models.scoped import scoped


def tax_rate_query(account_id: str) -> Select[TaxRate]:
    """The account's tax rates (archived ones too, not deleted ones), with their newest version."""
    return (
        scoped(TaxRate, account_id)
        .where(TaxRate.deleted_at.is_(None))
        .options(selectinload(TaxRate.current))
    )


def tax_rates(
    session: Session, account_id: str, *, archived: bool = True, limit: int | None = None
) -> list[TaxRate]:
    """The account's tax rates, oldest first (live ones only unless `archived`)."""
    query = tax_rate_query(account_id)
    if not archived:
        query = query.where(TaxRate.archived_at.is_(None))
    return list(session.scalars(query.order_by(TaxRate.created_at, TaxRate.id).limit(limit)))


def tax_rates_by_id(session: Session, account_id: str, ids: Collection[str]) -> dict[str, TaxRate]:
    """The account's tax rates of `ids`, archived ones too."""
    query = tax_rate_query(account_id).where(TaxRate.id.in_(list(ids)))
    return {rate.id: rate for rate in session.scalars(query)}


def live_tax_rate_ids(session: Session, account_id: str, ids: Collection[str]) -> set[str]:
    """Those of `ids` that are live (not archived) tax rates of the account."""
    query = (
        scoped(TaxRate, account_id)
        .with_only_columns(TaxRate.id)
        .where(TaxRate.id.in_(list(ids)), TaxRate.deleted_at.is_(None))
        .where(TaxRate.archived_at.is_(None))
    )
    return set(session.scalars(query))
