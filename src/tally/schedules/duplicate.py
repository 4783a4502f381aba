"""Duplicating a billing schedule (Sequence's POST /billing-schedules/{id}/duplicate).

The copy is a new schedule, with a new id, for the customer the request names (the same one
or another): the source's dates, phases (their prices, live discounts with the days they apply,
minimums and credit grants), tax rates, attachments and terms, restated as a create request
and written by `create_schedule`, so it is checked (prices and tax rates still usable, the
customer live) and logged as any new schedule. It starts as a DRAFT: a copy bills nobody until
it is activated. The source is not touched.

A list price the source bills through its own variant (a price made for that schedule) gets a
variant of the copy's, with the source variant's terms: the copy bills what the source bills
even when the template changed since, and no price is shared by two schedules, so changing or
ending one schedule's variant never reaches the other's. Deleted discounts stay behind.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from tally.catalog import list_prices
from tally.credits import phase_grants
from tally.models import (
    Attachment,
    BillingSchedule,
    BillingSchedulePhase,
    CreditUnitType,
    PhaseCreditGrant,
    PhaseDiscount,
)
from tally.models.scoped import scoped
from tally.schedules import service
from tally.schedules.schemas import (
    DiscountIn,
    MinimumIn,
    PhaseCreditGrantIn,
    PhaseIn,
    PhasePriceMetadata,
    ScheduleCreate,
    TaxRateRef,
    ThresholdInvoicing,
)

Renamed = Mapping[str, str]  # a source variant's id -> the copy's variant's id


def _prices(ids: Sequence[str], renamed: Renamed) -> list[str]:
    return [renamed.get(price_id, price_id) for price_id in ids]


def _grant(grant: PhaseCreditGrant, renamed: Renamed) -> PhaseCreditGrantIn:
    return PhaseCreditGrantIn(
        name=grant.name,
        credit_unit_type=grant.credit_unit_type,
        currency=grant.currency if grant.credit_unit_type is CreditUnitType.CURRENCY else None,
        metric_id=grant.metric_id,
        amount=grant.amount,
        cost_of_credit=grant.cost_of_credit,
        tax_rate_id=grant.tax_rate_id,
        grant_refresh_frequency=grant.grant_refresh_frequency,
        rollover_mode=grant.rollover_mode,
        restrict_to_prices=_prices(grant.restrict_to_prices, renamed) or None,
    )


def _phase(
    phase: BillingSchedulePhase, grants: Sequence[PhaseCreditGrant], renamed: Renamed
) -> PhaseIn:
    return PhaseIn(
        name=phase.name,
        external_contract_ref=phase.external_contract_ref,
        price_ids=_prices([link.price_id for link in phase.prices], renamed),
        start_date=phase.start_date,
        end_date=phase.end_date,
        discounts=[
            DiscountIn(
                restrict_to_prices=_prices(discount.restrict_to_prices, renamed) or None,
                type=discount.type,
                amount=discount.amount,
                message=discount.message,
                separate_line_item=discount.separate_line_item,
                seat_discount_type=discount.seat_discount_type,
            )
            for discount in phase.discounts  # live ones only
        ],
        minimums=[
            MinimumIn(
                restrict_to_prices=_prices(minimum.restrict_to_prices, renamed) or None,
                amount=minimum.amount,
            )
            for minimum in phase.minimums
        ],
        credit_grants=[_grant(grant, renamed) for grant in grants],
        recurrence_preference=phase.recurrence_preference,
        phase_price_metadata=[
            PhasePriceMetadata.model_validate(item).model_copy(
                update={"price_id": renamed.get(item["priceId"], item["priceId"])}
            )
            for item in phase.phase_price_metadata
        ],
        threshold_invoicing=(
            None
            if phase.invoice_threshold is None
            else ThresholdInvoicing(amount=phase.invoice_threshold)
        ),
    )


def copy_request(
    source: BillingSchedule,
    customer_id: str,
    grants: dict[str, list[PhaseCreditGrant]],
    renamed: Renamed,
    attachment_ids: Sequence[str],
) -> ScheduleCreate:
    """The create request that restates `source` for `customer_id`, as a draft."""
    return ScheduleCreate(
        customer_id=customer_id,
        is_draft=True,
        start_date=source.start_date,
        end_date=source.end_date,
        recurrence_day_of_month=source.recurrence_day_of_month,
        tax_rates=[
            TaxRateRef(
                price_id=renamed.get(item.price_id, item.price_id), tax_rate_id=item.tax_rate_id
            )
            for item in source.tax_rates
        ],
        auto_issue_invoices=source.auto_issue_invoices,
        purchase_order_number=source.purchase_order_number,
        roll_up_billing=source.roll_up_billing,
        phases=[_phase(phase, grants.get(phase.id, []), renamed) for phase in source.phases],
        attachment_asset_ids=list(attachment_ids),
        default_due_date_days=source.default_due_date_days,
        memo=source.memo,
        custom_fields=dict(source.custom_fields) or None,
        reference=source.reference,
        label=source.label,
        payment_provider=source.payment_settings.payment_provider.value
        if source.payment_settings
        else None,
        auto_charge=source.payment_settings.auto_charge if source.payment_settings else None,
    )


def _live_attachments(session: Session, account_id: str, source: BillingSchedule) -> list[str]:
    """The source's attachments not deleted since, in its order."""
    ids = [asset["id"] for asset in source.attachment_assets]
    if not ids:
        return []
    live = set(
        session.scalars(
            scoped(Attachment, account_id)
            .where(Attachment.id.in_(ids), Attachment.deleted_at.is_(None))
            .with_only_columns(Attachment.id)
        )
    )
    return [attachment_id for attachment_id in ids if attachment_id in live]


def _terms(discount: PhaseDiscount, renamed: Renamed) -> tuple[Any, ...]:
    return (
        discount.type,
        discount.amount,
        discount.message,
        discount.separate_line_item,
        tuple(_prices(discount.restrict_to_prices, renamed)),
        discount.seat_discount_type,
    )


def _carry_validity(source: BillingSchedule, copy: BillingSchedule, renamed: Renamed) -> None:
    """The days each discount applies (`PUT /discounts/{id}`), which the create request has
    no field for: each copied discount takes those of the source's with the same phase
    position and terms (discounts with identical terms are interchangeable)."""
    for source_phase, copy_phase in zip(source.phases, copy.phases, strict=True):
        days: dict[tuple[Any, ...], list[tuple[date | None, date | None]]] = defaultdict(list)
        for discount in source_phase.discounts:
            days[_terms(discount, renamed)].append((discount.valid_from, discount.valid_to))
        for discount in copy_phase.discounts:
            if found := days.get(_terms(discount, {})):
                discount.valid_from, discount.valid_to = found.pop(0)


def duplicate_schedule(
    session: Session, account_id: str, source_id: str, customer_id: str
) -> BillingSchedule:
    source = service.get_schedule(session, account_id, source_id)
    grants = phase_grants.by_phase(session, account_id, [source.id])
    billed = service.prices_of(session, account_id, [source])
    variants = [price for price in billed.values() if price.list_price_id is not None]
    renamed = {
        variant_id: price.id
        for variant_id, price in list_prices.copies_of(session, account_id, variants).items()
    }
    attachment_ids = _live_attachments(session, account_id, source)
    request = copy_request(source, customer_id, grants, renamed, attachment_ids)
    copy = service.create_schedule(session, account_id, request)
    _carry_validity(source, copy, renamed)
    session.flush()
    return copy
