"""Tax rates: every change is a new immutable version; the rate shows its newest one."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.core.clock import utcnow
from tally.exceptions import ArchivedReference, InvalidRequest, NotFound
from tally.models import TaxRate, TaxRateVersion
from tally.tax.queries import tax_rate_query
from tally.tax.schemas import TaxRateIn, TaxRateUpdate

MAX_VERSION = 2**31 - 1  # versions are a 32-bit INTEGER column


def get_tax_rate(
    session: Session, account_id: str, tax_rate_id: str, *, for_update: bool = False
) -> TaxRate:
    """The rate; `for_update` locks its row until commit, so concurrent changes queue rather
    than both claiming the same next version number."""
    query = tax_rate_query(account_id).where(TaxRate.id == tax_rate_id)
    if for_update:
        query = query.with_for_update(of=TaxRate)
    tax_rate = session.scalar(query.execution_options(populate_existing=True))
    if tax_rate is None:
        raise NotFound.resource("Tax rate", tax_rate_id)
    return tax_rate


def _add_version(session: Session, tax_rate: TaxRate, data: TaxRateIn, version: int) -> None:
    fields = data.model_dump(exclude={"id"})
    session.add(
        TaxRateVersion(
            account_id=tax_rate.account_id, tax_rate_id=tax_rate.id, version=version, **fields
        )
    )
    tax_rate.current_version = version
    session.flush()


def create_tax_rate(session: Session, account_id: str, data: TaxRateIn) -> TaxRate:
    tax_rate = TaxRate(account_id=account_id, current_version=0)
    session.add(tax_rate)
    session.flush()
    _add_version(session, tax_rate, data, version=0)
    return get_tax_rate(session, account_id, tax_rate.id)


def update_tax_rate(
    session: Session, account_id: str, tax_rate_id: str, data: TaxRateUpdate
) -> TaxRate:
    if data.id != tax_rate_id:
        raise InvalidRequest.field("id", f"must match the tax rate in the path ({tax_rate_id})")
    tax_rate = get_tax_rate(session, account_id, tax_rate_id, for_update=True)
    if tax_rate.archived_at is not None:
        raise ArchivedReference(f"Tax rate {tax_rate_id!r} is archived")
    before = _audited(tax_rate)
    _add_version(session, tax_rate, data, version=tax_rate.current_version + 1)
    updated = get_tax_rate(session, account_id, tax_rate_id)
    after = _audited(updated)
    summary = f"Tax rate {data.name!r}: version {updated.current_version} is current"
    _log(session, updated, "UPDATED", "Tax rate updated", summary, before, after)
    return updated


def _audited(tax_rate: TaxRate) -> dict[str, Any]:
    """The current version's fields, what an update changes (as a new version)."""
    current = tax_rate.current
    return {
        "version": tax_rate.current_version,
        "name": current.name,
        "amount": activity.number(current.amount),
        "country": current.country,
        "region": current.region,
        "isPublished": current.is_published,
        "invoiceName": current.invoice_name,
        "invoiceShortName": current.invoice_short_name,
        "description": current.description,
        "taxCategoryId": current.tax_category_id,
        "archivedAt": tax_rate.archived_at,
        "deletedAt": tax_rate.deleted_at,
    }


def _log(
    session: Session,
    tax_rate: TaxRate,
    verb: str,
    name: str,
    summary: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    activity.record(
        session,
        tax_rate.account_id,
        verb=verb,
        object_type="TAX_RATE",
        object_id=tax_rate.id,
        name=name,
        summary=summary,
        changes=activity.changed(before, after),
    )


def archive_tax_rate(session: Session, account_id: str, tax_rate_id: str) -> TaxRate:
    tax_rate = get_tax_rate(session, account_id, tax_rate_id, for_update=True)
    if tax_rate.archived_at is None:
        before = _audited(tax_rate)
        tax_rate.archived_at = utcnow()
        session.flush()
        summary = f"Tax rate {tax_rate.current.name!r} archived: no new schedule or grant uses it"
        _log(
            session, tax_rate, "ARCHIVED", "Tax rate archived", summary, before, _audited(tax_rate)
        )
    return tax_rate


def delete_tax_rate(session: Session, account_id: str, tax_rate_id: str) -> TaxRate:
    """Hide the rate from the API; its versions stay for the invoices that used them."""
    tax_rate = get_tax_rate(session, account_id, tax_rate_id, for_update=True)
    before = _audited(tax_rate)
    tax_rate.deleted_at = utcnow()
    session.flush()
    summary = f"Tax rate {tax_rate.current.name!r} deleted; its versions stay for invoices"
    _log(session, tax_rate, "DELETED", "Tax rate deleted", summary, before, _audited(tax_rate))
    return tax_rate


def list_versions(session: Session, tax_rate: TaxRate) -> list[TaxRateVersion]:
    return list(
        session.scalars(
            select(TaxRateVersion)
            .where(
                TaxRateVersion.account_id == tax_rate.account_id,
                TaxRateVersion.tax_rate_id == tax_rate.id,
            )
            .order_by(TaxRateVersion.version)
        )
    )


def get_version(
    session: Session, account_id: str, tax_rate_id: str, version: int
) -> tuple[TaxRate, TaxRateVersion]:
    tax_rate = get_tax_rate(session, account_id, tax_rate_id)
    # Beyond the column's range no version can exist, and the database would reject the value.
    if not 0 <= version <= MAX_VERSION:
        raise NotFound(f"Tax rate {tax_rate_id!r} has no version {version}")
    found = session.scalar(
        select(TaxRateVersion).where(
            TaxRateVersion.account_id == account_id,
            TaxRateVersion.tax_rate_id == tax_rate_id,
            TaxRateVersion.version == version,
        )
    )
    if found is None:
        raise NotFound(f"Tax rate {tax_rate_id!r} has no version {version}")
    return tax_rate, found
