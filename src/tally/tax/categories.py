"""Tax categories (modelled minimally, as Sequence's older API has them: a name and a
description) and the rate a category takes for a customer: Sequence looks a rate up by the
line's tax category and the customer's country and region."""

from __future__ import annotations

from sqlalchemy import Select
from sqlalchemy.orm import Session

from tally.api import references
from tally.models import TaxCategory, TaxRate, TaxRateVersion
from tally.models.scoped import scoped
from tally.tax.schemas import TaxCategoryIn


def create_category(session: Session, account_id: str, data: TaxCategoryIn) -> TaxCategory:
    category = TaxCategory(account_id=account_id, name=data.name, description=data.description)
    session.add(category)
    session.flush()
    return category


def get_category(session: Session, account_id: str, category_id: str) -> TaxCategory:
    return references.resolve_one(session, account_id, TaxCategory, "id", category_id)


def categories_query(account_id: str) -> Select[TaxCategory]:
    return scoped(TaxCategory, account_id)


def rate_for(
    session: Session, account_id: str, category_id: str, country: str, region: str | None
) -> TaxRateVersion | None:
    """The published, live tax rate of the category for a customer in `country` (and
    `region`): one for that region first, else one for the whole country (no region)."""
    query = (
        scoped(TaxRateVersion, account_id)
        .join(
            TaxRate,
            (TaxRate.id == TaxRateVersion.tax_rate_id)
            & (TaxRate.current_version == TaxRateVersion.version),
        )
        .where(
            TaxRate.account_id == account_id,
            TaxRate.deleted_at.is_(None),
            TaxRate.archived_at.is_(None),
            TaxRateVersion.is_published.is_(True),
            TaxRateVersion.tax_category_id == category_id,
            TaxRateVersion.country == country.upper(),
        )
        .order_by(TaxRateVersion.created_at, TaxRateVersion.id)
    )
    found = list(session.scalars(query))
    wanted = (region or "").casefold()
    for version in found:
        if version.region and version.region.casefold() == wanted:
            return version
    for version in found:
        if not version.region:
            return version
    return None
