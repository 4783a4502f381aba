"""Duplicating a billing schedule (Sequence's POST /billing-schedules/{id}/duplicate).

The copy is a new schedule, with a new id, for the customer the request names (the same one
or another): the source's dates, phases (their prices, discounts, minimums and credit grants),
tax rates and terms, restated as a create request and written by `create_schedule`, so it is
checked (prices and tax rates still usable, the customer live) and logged as any new schedule.
It starts as a DRAFT: a copy bills nobody until it is activated. The source is not touched.
"""

from collections.abc import Sequence

from sqlalchemy.orm import Session

from tally.credits import phase_grants
from tally.models import BillingSchedule, BillingSchedulePhase, CreditUnitType, PhaseCreditGrant
from tally.schedules import service
from tally.schedules.schemas import (
    DiscountIn,
    MinimumIn,
    PhaseCreditGrantIn,
    PhaseIn,
    PhasePriceMetadata,
    ScheduleCreate,
    TaxRateRef,
)


def _grant(grant: PhaseCreditGrant) -> PhaseCreditGrantIn:
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
        restrict_to_prices=list(grant.restrict_to_prices) or None,
    )


def _phase(phase: BillingSchedulePhase, grants: Sequence[PhaseCreditGrant]) -> PhaseIn:
    return PhaseIn(
        name=phase.name,
        external_contract_ref=phase.external_contract_ref,
        price_ids=[link.price_id for link in phase.prices],
        start_date=phase.start_date,
        end_date=phase.end_date,
        discounts=[
            DiscountIn(
                restrict_to_prices=list(discount.restrict_to_prices) or None,
                type=discount.type,
                amount=discount.amount,
                message=discount.message,
                separate_line_item=discount.separate_line_item,
                seat_discount_type=discount.seat_discount_type,
            )
            for discount in phase.discounts
        ],
        minimums=[
            MinimumIn(
                restrict_to_prices=list(minimum.restrict_to_prices) or None,
                amount=minimum.amount,
            )
            for minimum in phase.minimums
        ],
        credit_grants=[_grant(grant) for grant in grants],
        recurrence_preference=phase.recurrence_preference,
        phase_price_metadata=[
            PhasePriceMetadata.model_validate(item) for item in phase.phase_price_metadata
        ],
    )


def copy_request(
    source: BillingSchedule,
    customer_id: str,
    grants: dict[str, list[PhaseCreditGrant]],
) -> ScheduleCreate:
    """The create request that restates `source` for `customer_id`, as a draft."""
    return ScheduleCreate(
        customer_id=customer_id,
        is_draft=True,
        start_date=source.start_date,
        end_date=source.end_date,
        recurrence_day_of_month=source.recurrence_day_of_month,
        tax_rates=[
            TaxRateRef(price_id=item.price_id, tax_rate_id=item.tax_rate_id)
            for item in source.tax_rates
        ],
        auto_issue_invoices=source.auto_issue_invoices,
        purchase_order_number=source.purchase_order_number,
        roll_up_billing=source.roll_up_billing,
        phases=[_phase(phase, grants.get(phase.id, [])) for phase in source.phases],
        default_due_date_days=source.default_due_date_days,
        memo=source.memo,
        custom_fields=dict(source.custom_fields) or None,
        reference=source.reference,
        label=source.label,
        payment_provider=source.payment_provider,
        auto_charge=source.auto_charge,
    )


def duplicate_schedule(
    session: Session, account_id: str, source_id: str, customer_id: str
) -> BillingSchedule:
    source = service.get_schedule(session, account_id, source_id)
    grants = phase_grants.by_phase(session, account_id, [source.id])
    return service.create_schedule(session, account_id, copy_request(source, customer_id, grants))
