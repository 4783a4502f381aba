"""Reads of tax rates: the statement the service builds on, and one function per question the
dashboard's pages ask, each one query on the tenant-scoped base."""

from collections.abc import Collection

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from tally.models import TaxRate, TaxRegistration
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


# --- tax registrations -----------------------------------------------------------------------


def tax_registration_query(account_id: str) -> Select[TaxRegistration]:
    """The account's live (not deleted) tax registrations."""
    return scoped(TaxRegistration, account_id).where(TaxRegistration.deleted_at.is_(None))


def tax_registration(
    session: Session, account_id: str, registration_id: str
) -> TaxRegistration | None:
    query = tax_registration_query(account_id).where(TaxRegistration.id == registration_id)
    return session.scalar(query)


def registration_taken(
    session: Session,
    account_id: str,
    *,
    customer_id: str | None,
    merchant_id: str | None,
    country: str,
    identifier: str,
    except_id: str | None = None,
) -> bool:
    """Whether the party already holds `identifier` in `country` (any case)."""
    query = tax_registration_query(account_id).where(
        TaxRegistration.customer_id.is_(None)
        if customer_id is None
        else TaxRegistration.customer_id == customer_id,
        TaxRegistration.merchant_id.is_(None)
        if merchant_id is None
        else TaxRegistration.merchant_id == merchant_id,
        TaxRegistration.country == country,
        func.lower(TaxRegistration.tax_identifier) == identifier.lower(),
    )
    if except_id is not None:
        query = query.where(TaxRegistration.id != except_id)
    return session.scalar(select(exists(query))) or False


def party_registrations(
    session: Session,
    account_id: str,
    *,
    customer_id: str | None = None,
    merchant_id: str | None = None,
) -> list[TaxRegistration]:
    """A customer's or the merchant's live registrations, oldest first."""
    query = tax_registration_query(account_id)
    if customer_id is not None:
        query = query.where(TaxRegistration.customer_id == customer_id)
    else:
        query = query.where(TaxRegistration.merchant_id == merchant_id)
    return list(session.scalars(query.order_by(TaxRegistration.id)))


def printed_registrations(
    session: Session, account_id: str, customer_id: str
) -> tuple[list[TaxRegistration], list[TaxRegistration]]:
    """What a document prints: the merchant's registrations and the customer's, in one query."""
    query = tax_registration_query(account_id).where(
        or_(
            TaxRegistration.merchant_id == account_id,
            TaxRegistration.customer_id == customer_id,
        )
    )
    rows = list(session.scalars(query.order_by(TaxRegistration.id)))
    merchant = [row for row in rows if row.merchant_id is not None]
    customer = [row for row in rows if row.customer_id is not None]
    return merchant, customer
