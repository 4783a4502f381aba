"""Phases that name list prices: each list price becomes a price of the schedule (its variant,
made once per schedule and kept while the schedule bills it), and the phases are rewritten
to bill those prices, so the rest of the schedule's rules and billing see plain prices.

A list price named anywhere a price is named in the same request (taxRates, restrictToPrices,
phasePriceMetadata) means its variant there: a new schedule's variants have no id yet.
"""

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from tally.api import references
from tally.catalog import list_prices
from tally.exceptions import InvalidRequest
from tally.models import ListPrice
from tally.schedules.schemas import PhaseIn, PhasePriceMetadata, TaxRateRef


def _named(phases: Sequence[PhaseIn]) -> list[references.Named]:
    named: list[references.Named] = []
    for index, phase in enumerate(phases):
        named += references.fields(f"phases.{index}.listPriceIds", phase.list_price_ids or [])
        named += [
            (f"phases.{index}.phaseListPriceMetadata.{number}.listPriceId", item.list_price_id)
            for number, item in enumerate(phase.phase_list_price_metadata or [])
        ]
    return named


def _check(phases: Sequence[PhaseIn]) -> None:
    for index, phase in enumerate(phases):
        named = phase.list_price_ids or []
        if len(set(named)) != len(named):
            raise InvalidRequest.field(
                f"phases.{index}.listPriceIds", "a list price appears at most once per phase"
            )
        for number, item in enumerate(phase.phase_list_price_metadata or []):
            if item.list_price_id not in named:
                raise InvalidRequest.field(
                    f"phases.{index}.phaseListPriceMetadata.{number}.listPriceId",
                    f"list price {item.list_price_id!r} is not one of the phase's listPriceIds",
                )


def expand(
    session: Session,
    account_id: str,
    phases: Sequence[PhaseIn],
    tax_rates: Sequence[TaxRateRef],
    billed: Mapping[str, str],
) -> tuple[list[PhaseIn], list[TaxRateRef]]:
    """The phases and tax rates with every list price replaced by its variant's id.

    `billed`: list price id -> the variant the schedule bills already (kept, even when the
    list price was archived or changed since); the others get a new variant, refused for an
    archived list price."""
    named = _named(phases)
    if not named:
        return list(phases), list(tax_rates)
    found = references.resolve(session, account_id, ListPrice, named)
    _check(phases)
    fresh = [
        (field, found[list_price_id])
        for field, list_price_id in named
        if list_price_id not in billed and ".listPriceIds." in field
    ]
    created = list_prices.variants_of(session, account_id, fresh)
    variant = {**billed, **{list_price_id: price.id for list_price_id, price in created.items()}}

    def price(identifier: str) -> str:
        return variant.get(identifier, identifier) if identifier in found else identifier

    def prices(identifiers: Sequence[str] | None) -> list[str] | None:
        return None if identifiers is None else [price(i) for i in identifiers]

    expanded = []
    for phase in phases:
        price_ids = list(phase.price_ids)
        price_ids += [
            variant[lp] for lp in phase.list_price_ids or [] if variant[lp] not in price_ids
        ]
        metadata = [
            item.model_copy(update={"price_id": price(item.price_id)})
            for item in phase.phase_price_metadata or []
        ] + [
            PhasePriceMetadata(
                price_id=variant[item.list_price_id], arr_calculation=item.arr_calculation
            )
            for item in phase.phase_list_price_metadata or []
        ]
        restricted = [
            [
                item.model_copy(update={"restrict_to_prices": prices(item.restrict_to_prices)})
                for item in group or []
            ]
            for group in (phase.discounts, phase.minimums, phase.credit_grants)
        ]
        expanded.append(
            phase.model_copy(
                update={
                    "price_ids": price_ids,
                    "phase_price_metadata": metadata if metadata else phase.phase_price_metadata,
                    "discounts": restricted[0] if phase.discounts is not None else None,
                    "minimums": restricted[1] if phase.minimums is not None else None,
                    "credit_grants": restricted[2] if phase.credit_grants is not None else None,
                }
            )
        )
    taxed = [item.model_copy(update={"price_id": price(item.price_id)}) for item in tax_rates]
    return expanded, taxed
