"""Billing schedules: create, update, find, list, activate and archive.

A schedule bills its customer the prices of its phases. Phases are contiguous and in order:
the first starts with the schedule, each next one the day after the previous one ends (end
dates are inclusive), and the last ends with the schedule (or never, when it is open-ended).
Everything a request names is resolved in the account first (`api.references`), then checked
whole, before anything is written.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from tally.activity import service as activity
from tally.api import references
from tally.attachments.service import resolve_details
from tally.core.clock import local_today, utcnow
from tally.credits import phase_grants
from tally.db import new_id
from tally.engine.money import minor_unit
from tally.engine.periods import ONE_DAY, periods
from tally.exceptions import ArchivedReference, InvalidRequest, InvalidStateTransition, NotFound
from tally.invoices import lifecycle
from tally.models import (
    Account,
    BillingFrequency,
    BillingSchedule,
    BillingSchedulePaymentSettings,
    BillingSchedulePhase,
    BillingType,
    Customer,
    PaymentProviderName,
    PhaseDiscount,
    PhaseMinimum,
    PhasePrice,
    Price,
    RecurrencePreference,
    ScheduleStatus,
    ScheduleTaxRate,
    TaxRate,
    UsageMetric,
)
from tally.notifications import events
from tally.notifications.events import NotificationType
from tally.schedules import kept_discounts, list_prices
from tally.schedules.schemas import PhaseIn, ScheduleCreate, ScheduleUpdate, TaxRateRef

# Statuses a schedule can no longer leave through the API.
_FINISHED = (ScheduleStatus.CANCELLED, ScheduleStatus.COMPLETED)


def schedule_query(account_id: str) -> Select[BillingSchedule]:
    """Schedules of one account, with everything their representation needs loaded in bulk."""
    phases = selectinload(BillingSchedule.phases)
    return (
        select(BillingSchedule)
        .where(BillingSchedule.account_id == account_id)
        .options(
            phases.selectinload(BillingSchedulePhase.prices),
            phases.selectinload(BillingSchedulePhase.discounts),
            phases.selectinload(BillingSchedulePhase.minimums),
            selectinload(BillingSchedule.tax_rates),
            selectinload(BillingSchedule.payment_settings),
        )
    )


def get_schedule(
    session: Session, account_id: str, schedule_id: str, *, for_update: bool = False
) -> BillingSchedule:
    """The schedule; `for_update` locks its row until commit, so changes to one schedule
    queue instead of interleaving their phase replacements."""
    query = schedule_query(account_id).where(BillingSchedule.id == schedule_id)
    if for_update:
        query = query.with_for_update(of=BillingSchedule)
    schedule = session.scalar(query.execution_options(populate_existing=True))
    if schedule is None:
        raise NotFound.resource("Billing schedule", schedule_id)
    return schedule


def prices_of(
    session: Session, account_id: str, schedules: Iterable[BillingSchedule]
) -> dict[str, Price]:
    """Every price the schedules' phases bill, by id, in one query (deleted ones included:
    a schedule keeps showing what it bills)."""
    ids = {link.price_id for s in schedules for phase in s.phases for link in phase.prices}
    if not ids:
        return {}
    found = session.scalars(select(Price).where(Price.account_id == account_id, Price.id.in_(ids)))
    return {price.id: price for price in found}


def _first_due(
    schedule: BillingSchedule,
    phase: BillingSchedulePhase,
    frequency: BillingFrequency,
    billing_type: BillingType,
) -> date | None:
    if frequency is BillingFrequency.ONE_TIME or billing_type is BillingType.IN_ADVANCE:
        return phase.start_date
    months = frequency.months
    if months is None:  # a frequency Tally's prices refuse
        return None
    day = schedule.recurrence_day_of_month or schedule.start_date.day
    period = next(p for p in periods(schedule.start_date, day, months) if p.end >= phase.start_date)
    end = min(period.end, schedule.end_date) if schedule.end_date else period.end
    return end + ONE_DAY


def first_billing_date(schedule: BillingSchedule, prices: dict[str, Price]) -> date | None:
    """The first date one of the schedule's prices falls due (None when it bills nothing).

    The billing engine's rules (`tally.engine.schedule`): IN_ADVANCE charges on the first day
    they serve, one-time prices when their phase starts, IN_ARREARS the day after the first
    period they serve ends, or after the schedule ends if that comes first. Periods are the
    engine's `periods`, anchored at the schedule's start on its billing day.
    """
    first: date | None = None
    for phase in schedule.phases:
        if first is not None and phase.start_date >= first:
            break  # nothing of this phase or a later one falls due before its start
        kinds = {
            (prices[link.price_id].billing_frequency, prices[link.price_id].billing_type)
            for link in phase.prices
        }
        for frequency, billing_type in kinds:
            due = _first_due(schedule, phase, frequency, billing_type)
            if due is not None and (first is None or due < first):
                first = due
    return first


def _today(session: Session, account_id: str) -> date:
    """Today in the account's time zone."""
    zone = session.scalar(select(Account.timezone).where(Account.id == account_id))
    return local_today(zone or "UTC")


def _started_status(session: Session, account_id: str, start_date: date) -> ScheduleStatus:
    """PENDING until its first day (in the account's time zone), ACTIVE from then."""
    if start_date > _today(session, account_id):
        return ScheduleStatus.PENDING
    return ScheduleStatus.ACTIVE


def _lock_live_customer(session: Session, account_id: str, customer_id: str) -> None:
    """Check the customer may take a schedule, and hold its row (FOR SHARE on PostgreSQL)
    until commit: archiving it meanwhile waits, then archives this schedule too."""
    customer = references.resolve_one(
        session, account_id, Customer, "customerId", customer_id, lock="share"
    )
    if customer.archived_at is not None:
        raise ArchivedReference(f"Customer {customer_id!r} is archived")


# --- validation -------------------------------------------------------------------------------


def _check_dates(start: date, end: date | None, phases: Sequence[PhaseIn]) -> None:
    if end is not None and end < start:
        raise InvalidRequest.field("endDate", f"the schedule ends ({end}) before it starts")
    if not phases:
        raise InvalidRequest.field("phases", "a schedule needs at least one phase")
    if phases[0].start_date != start:
        raise InvalidRequest.field(
            "phases.0.startDate",
            f"the first phase starts with the schedule, on {start}, not {phases[0].start_date}",
        )
    last = len(phases) - 1
    for index, phase in enumerate(phases):
        where = f"phases.{index}"
        if phase.end_date is not None and phase.end_date < phase.start_date:
            raise InvalidRequest.field(f"{where}.endDate", "the phase ends before it starts")
        if index < last:
            if phase.end_date is None:
                raise InvalidRequest.field(
                    f"{where}.endDate", "only the last phase may be open-ended"
                )
            following = phases[index + 1].start_date
            if following != phase.end_date + ONE_DAY:
                raise InvalidRequest.field(
                    f"phases.{index + 1}.startDate",
                    f"a phase starts the day after the previous one ends "
                    f"({phase.end_date + ONE_DAY}), not on {following}",
                )
    if phases[last].end_date != end:
        message = (
            f"the last phase ends with the schedule, on {end}"
            if end is not None
            else "the schedule is open-ended, so its last phase is too: leave out its endDate"
        )
        raise InvalidRequest.field(f"phases.{last}.endDate", message)


def _check_restriction(where: str, restricted: list[str] | None, price_ids: set[str]) -> None:
    for price_id in restricted or []:
        if price_id not in price_ids:
            raise InvalidRequest.field(
                where, f"price {price_id!r} is not one of the phase's priceIds"
            )


def _check_phase(index: int, phase: PhaseIn) -> None:
    where = f"phases.{index}"
    if len(set(phase.price_ids)) != len(phase.price_ids):
        raise InvalidRequest.field(f"{where}.priceIds", "a price appears at most once per phase")
    price_ids = set(phase.price_ids)
    for number, discount in enumerate(phase.discounts or []):
        _check_restriction(
            f"{where}.discounts.{number}.restrictToPrices", discount.restrict_to_prices, price_ids
        )
    for number, minimum in enumerate(phase.minimums or []):
        _check_restriction(
            f"{where}.minimums.{number}.restrictToPrices", minimum.restrict_to_prices, price_ids
        )
    for number, credit in enumerate(phase.credit_grants or []):
        _check_restriction(
            f"{where}.creditGrants.{number}.restrictToPrices", credit.restrict_to_prices, price_ids
        )
    described: set[str] = set()
    for number, metadata in enumerate(phase.phase_price_metadata or []):
        field = f"{where}.phasePriceMetadata.{number}.priceId"
        _check_restriction(field, [metadata.price_id], price_ids)
        if metadata.price_id in described:
            raise InvalidRequest.field(field, f"price {metadata.price_id!r} is described twice")
        described.add(metadata.price_id)


def _resolve(
    session: Session,
    account_id: str,
    phases: Sequence[PhaseIn],
    tax_rates: Sequence[TaxRateRef],
) -> tuple[dict[str, Price], dict[str, TaxRate]]:
    """Every price, tax rate and metric the terms name, as rows of the account (404 naming
    the field otherwise), before anything else is checked: the prices and the tax rates."""
    price_refs: list[references.Named] = []
    tax_refs: list[references.Named] = []
    metric_refs: list[references.Named] = []
    for index, phase in enumerate(phases):
        where = f"phases.{index}"
        price_refs += references.fields(f"{where}.priceIds", phase.price_ids)
        restrictions: list[tuple[str, Sequence[str] | None]] = [
            (f"discounts.{number}", item.restrict_to_prices)
            for number, item in enumerate(phase.discounts or [])
        ]
        restrictions += [
            (f"minimums.{number}", item.restrict_to_prices)
            for number, item in enumerate(phase.minimums or [])
        ]
        restrictions += [
            (f"creditGrants.{number}", item.restrict_to_prices)
            for number, item in enumerate(phase.credit_grants or [])
        ]
        for item_where, restricted in restrictions:
            field = f"{where}.{item_where}.restrictToPrices"
            price_refs += references.fields(field, restricted or [])
        for number, metadata in enumerate(phase.phase_price_metadata or []):
            price_refs.append((f"{where}.phasePriceMetadata.{number}.priceId", metadata.price_id))
        for number, grant in enumerate(phase.credit_grants or []):
            if grant.metric_id is not None:
                metric_refs.append((f"{where}.creditGrants.{number}.metricId", grant.metric_id))
            if grant.tax_rate_id is not None:
                tax_refs.append((f"{where}.creditGrants.{number}.taxRateId", grant.tax_rate_id))
    for index, item in enumerate(tax_rates):
        price_refs.append((f"taxRates.{index}.priceId", item.price_id))
        tax_refs.append((f"taxRates.{index}.taxRateId", item.tax_rate_id))
    prices = references.resolve(session, account_id, Price, price_refs)
    rates = references.resolve(session, account_id, TaxRate, tax_refs)
    references.resolve(session, account_id, UsageMetric, metric_refs)
    return prices, rates


def _phase_prices(phases: Sequence[PhaseIn], prices: dict[str, Price]) -> dict[str, Price]:
    """The prices the phases bill, all of one currency."""
    billed: dict[str, Price] = {}
    currency: str | None = None
    for index, phase in enumerate(phases):
        for price_id in phase.price_ids:
            price = billed[price_id] = prices[price_id]
            if currency is not None and price.currency != currency:
                raise InvalidRequest.field(
                    f"phases.{index}.priceIds",
                    f"every price of a schedule is in one currency: price {price_id!r} is in "
                    f"{price.currency}, others in {currency}",
                )
            currency = price.currency
    return billed


def _check_thresholds(phases: Sequence[PhaseIn], billed: dict[str, Price]) -> None:
    """A threshold is money of the schedule's currency, in its minor unit."""
    currency = next((price.currency for price in billed.values()), None)
    for index, phase in enumerate(phases):
        if phase.threshold_invoicing is None or currency is None:
            continue
        amount = phase.threshold_invoicing.amount
        if amount != amount.quantize(minor_unit(currency)):
            raise InvalidRequest.field(
                f"phases.{index}.thresholdInvoicing.amount",
                f"{amount} is not an amount of {currency}: its smallest unit is "
                f"{minor_unit(currency)}",
            )


def _check_tax_rates(
    tax_rates: Sequence[TaxRateRef],
    phases: Sequence[PhaseIn],
    rates: dict[str, TaxRate],
    billed: dict[str, Price],
) -> None:
    taxed: set[str] = set()
    for index, item in enumerate(tax_rates):
        if item.price_id not in billed:
            raise InvalidRequest.field(
                f"taxRates.{index}.priceId", f"price {item.price_id!r} is in no phase"
            )
        if item.price_id in taxed:
            raise InvalidRequest.field(
                f"taxRates.{index}.priceId", f"price {item.price_id!r} has a tax rate already"
            )
        taxed.add(item.price_id)
    named = [
        (f"taxRates.{index}.taxRateId", item.tax_rate_id) for index, item in enumerate(tax_rates)
    ] + [
        (f"phases.{index}.creditGrants.{number}.taxRateId", grant.tax_rate_id)
        for index, phase in enumerate(phases)
        for number, grant in enumerate(phase.credit_grants or [])
        if grant.tax_rate_id is not None
    ]
    for field, tax_rate_id in named:
        if rates[tax_rate_id].archived_at is not None:
            raise InvalidRequest.field(field, f"tax rate {tax_rate_id!r} is archived")


def _validate(
    session: Session,
    account_id: str,
    start: date,
    end: date | None,
    phases: Sequence[PhaseIn],
    tax_rates: Sequence[TaxRateRef],
) -> dict[str, Price]:
    """The terms checked whole; the prices the phases bill."""
    prices, rates = _resolve(session, account_id, phases, tax_rates)
    _check_dates(start, end, phases)
    for index, phase in enumerate(phases):
        _check_phase(index, phase)
    billed = _phase_prices(phases, prices)
    _check_thresholds(phases, billed)
    _check_tax_rates(tax_rates, phases, rates, billed)
    return billed


# --- writing ----------------------------------------------------------------------------------


def _add_terms(
    session: Session,
    schedule: BillingSchedule,
    phases: Sequence[PhaseIn],
    tax_rates: Sequence[TaxRateRef],
    kept: kept_discounts.Kept | None = None,
) -> list[str]:
    """Write the (validated) phases and tax rates of a schedule that has none; the phases'
    ids, in order. `kept`: the discounts the schedule had, whose ids restated ones keep."""
    phase_ids = []
    for position, spec in enumerate(phases):
        phase = BillingSchedulePhase(
            id=new_id(),  # now, so its discounts and minimums can name it before a flush
            account_id=schedule.account_id,
            billing_schedule_id=schedule.id,
            name=spec.name,
            external_contract_ref=spec.external_contract_ref,
            start_date=spec.start_date,
            end_date=spec.end_date,
            recurrence_preference=(
                spec.recurrence_preference or RecurrencePreference.CONTINUE_FROM_PREVIOUS_PHASE
            ),
            phase_price_metadata=[
                item.model_dump(mode="json", by_alias=True)
                for item in spec.phase_price_metadata or []
            ],
            invoice_threshold=(
                spec.threshold_invoicing.amount if spec.threshold_invoicing else None
            ),
            prices=[
                PhasePrice(position=position, price_id=price_id)
                for position, price_id in enumerate(spec.price_ids)
            ],
            discounts=[],
            minimums=[],
        )
        phase_ids.append(phase.id)
        session.add(phase)
        discounts = [
            PhaseDiscount(
                account_id=schedule.account_id,
                billing_schedule_id=schedule.id,
                phase_id=phase.id,
                type=discount.type,
                amount=discount.amount,
                message=discount.message,
                separate_line_item=discount.separate_line_item,
                restrict_to_prices=list(discount.restrict_to_prices or []),
                seat_discount_type=discount.seat_discount_type,
            )
            for discount in spec.discounts or []
        ]
        kept_discounts.restore(kept or [], position, spec.start_date, spec.end_date, discounts)
        session.add_all(discounts)
        session.add_all(
            PhaseMinimum(
                account_id=schedule.account_id,
                billing_schedule_id=schedule.id,
                phase_id=phase.id,
                amount=minimum.amount,
                restrict_to_prices=list(minimum.restrict_to_prices or []),
            )
            for minimum in spec.minimums or []
        )
    session.add_all(
        ScheduleTaxRate(
            billing_schedule_id=schedule.id, price_id=item.price_id, tax_rate_id=item.tax_rate_id
        )
        for item in tax_rates
    )
    session.flush()
    return phase_ids


def _remove_terms(session: Session, schedule: BillingSchedule) -> None:
    """Delete a schedule's phases (their prices, discounts and minimums cascade) and tax
    rates. Flushed at once, so rows written next may reuse their keys (a price's tax rate)."""
    for phase in schedule.phases:
        session.delete(phase)
    for item in schedule.tax_rates:
        session.delete(item)
    session.flush()


def create_schedule(session: Session, account_id: str, data: ScheduleCreate) -> BillingSchedule:
    _lock_live_customer(session, account_id, data.customer_id)
    attachments = resolve_details(
        session, account_id, "attachmentAssetIds", data.attachment_asset_ids or []
    )
    phases, tax_rates = list_prices.expand(
        session, account_id, data.phases, data.tax_rates or [], {}
    )
    prices = _validate(session, account_id, data.start_date, data.end_date, phases, tax_rates)
    if data.auto_charge and data.payment_provider is None:
        # Kept in the schedule's payment settings, which name the provider that charges.
        raise InvalidRequest.field("autoCharge", "needs a paymentProvider to charge through")
    status = (
        ScheduleStatus.DRAFT
        if data.is_draft
        else _started_status(session, account_id, data.start_date)
    )
    schedule = BillingSchedule(
        account_id=account_id,
        customer_id=data.customer_id,
        status=status,
        start_date=data.start_date,
        end_date=data.end_date,
        recurrence_day_of_month=data.recurrence_day_of_month or data.start_date.day,
        auto_issue_invoices=bool(data.auto_issue_invoices),
        roll_up_billing=bool(data.roll_up_billing),
        default_due_date_days=data.default_due_date_days,
        purchase_order_number=data.purchase_order_number,
        reference=data.reference,
        label=data.label,
        memo=data.memo,
        custom_fields=data.custom_fields or {},
        integration_ids=[],
        attachment_assets=attachments,
    )
    session.add(schedule)
    session.flush()
    phase_ids = _add_terms(session, schedule, phases, tax_rates)
    phase_grants.write_specs(session, schedule, phases, phase_ids, prices, [])
    if data.payment_provider is not None:
        session.add(
            BillingSchedulePaymentSettings(
                account_id=account_id,
                billing_schedule_id=schedule.id,
                payment_provider=PaymentProviderName(data.payment_provider),
                auto_charge=bool(data.auto_charge),
            )
        )
        session.flush()
    _announce(session, account_id, NotificationType.BILLING_SCHEDULE_CREATED, [schedule.id])
    created = get_schedule(session, account_id, schedule.id)
    names = {price.id: price.name for price in prices.values()}
    summary = (
        f"{created.status.value} schedule from {created.start_date} with "
        f"{len(created.phases)} phase(s)"
    )
    after = _audited(created, names)
    _log(session, created, "CREATED", "Billing schedule created", summary, {}, after)
    return created


def check_editable(schedule: BillingSchedule) -> None:
    """Refuse to change a schedule that is over (cancelled, archived or completed)."""
    if schedule.status in _FINISHED:
        raise InvalidStateTransition(
            f"Billing schedule {schedule.id!r} is {schedule.status}: it can no longer change"
        )


def update_schedule(
    session: Session, account_id: str, schedule_id: str, data: ScheduleUpdate
) -> BillingSchedule:
    """Replace the phases and tax rates, and the other fields the body gives."""
    schedule = get_schedule(session, account_id, schedule_id, for_update=True)
    check_editable(schedule)
    given = data.model_fields_set
    end = data.end_date if "end_date" in given else schedule.end_date
    if "tax_rates" in given:
        tax_rates = data.tax_rates or []
    else:
        tax_rates = [TaxRateRef.model_validate(item) for item in schedule.tax_rates]
    billing = prices_of(session, account_id, [schedule])
    variants = {
        price.list_price_id: price.id
        for price in billing.values()
        if price.list_price_id is not None and price.deleted_at is None
    }
    phases, tax_rates = list_prices.expand(session, account_id, data.phases, tax_rates, variants)
    prices = _validate(session, account_id, data.start_date, end, phases, tax_rates)
    names = {price.id: price.name for price in billing.values()}
    names.update((price.id, price.name) for price in prices.values())
    before = _audited(schedule, names)

    # Phase credit grants outlive the phases they are replaced with (same ids).
    kept_grants = phase_grants.take_specs(session, account_id, schedule.id)
    kept = kept_discounts.take(schedule)
    _remove_terms(session, schedule)
    schedule.start_date = data.start_date
    schedule.end_date = end
    if "recurrence_day_of_month" in given:
        schedule.recurrence_day_of_month = data.recurrence_day_of_month or data.start_date.day
    for field in ("auto_issue_invoices", "roll_up_billing"):
        value = getattr(data, field)
        if value is not None:
            setattr(schedule, field, value)
    for field in ("purchase_order_number", "default_due_date_days", "memo"):
        if field in given:
            setattr(schedule, field, getattr(data, field))
    if data.custom_fields is not None:
        schedule.custom_fields = data.custom_fields
    if data.attachment_asset_ids is not None:
        schedule.attachment_assets = resolve_details(
            session, account_id, "attachmentAssetIds", data.attachment_asset_ids
        )
    if schedule.status in (ScheduleStatus.PENDING, ScheduleStatus.ACTIVE):
        schedule.status = _started_status(session, account_id, data.start_date)
    schedule.updated_at = utcnow()  # its phases and tax rates are part of it too
    schedule.billed_at = None  # new terms: the scheduler recalculates its invoices first
    session.flush()
    phase_ids = _add_terms(session, schedule, phases, tax_rates, kept)
    phase_grants.write_specs(session, schedule, phases, phase_ids, prices, kept_grants)
    _announce(session, account_id, NotificationType.BILLING_SCHEDULE_UPDATED, [schedule.id])
    updated = get_schedule(session, account_id, schedule.id)
    after = _audited(updated, names)
    if changes := activity.changed(before, after):
        summary = "Changed: " + ", ".join(change["field"] for change in changes)
        _log(session, updated, "UPDATED", "Billing schedule updated", summary, before, after)
    return updated


def activate_schedule(session: Session, account_id: str, schedule_id: str) -> BillingSchedule:
    """A draft starts billing: PENDING until its start date, ACTIVE from then. Activating a
    schedule that is already PENDING or ACTIVE changes nothing."""
    schedule = get_schedule(session, account_id, schedule_id, for_update=True)
    if schedule.status is ScheduleStatus.DRAFT:
        schedule.status = _started_status(session, account_id, schedule.start_date)
        session.flush()
        summary = f"Bills from {schedule.start_date}: {schedule.status.value}"
        before, after = {"status": ScheduleStatus.DRAFT}, {"status": schedule.status}
        _log(session, schedule, "ACTIVATED", "Billing schedule activated", summary, before, after)
        _announce(session, account_id, NotificationType.BILLING_SCHEDULE_UPDATED, [schedule.id])
    elif schedule.status not in (ScheduleStatus.PENDING, ScheduleStatus.ACTIVE):
        raise InvalidStateTransition(
            f"Billing schedule {schedule_id!r} is {schedule.status}: only a draft activates"
        )
    return schedule


def _archived_status() -> ColumnElement[ScheduleStatus]:
    # A completed schedule was billed in full: archiving hides it but keeps that fact.
    return case(
        (BillingSchedule.status == ScheduleStatus.COMPLETED, BillingSchedule.status),
        else_=ScheduleStatus.CANCELLED,
    )


def archive_schedule(session: Session, account_id: str, schedule_id: str) -> BillingSchedule:
    """Stop billing (CANCELLED) and hide the schedule from default lists; idempotent."""
    schedule = get_schedule(session, account_id, schedule_id, for_update=True)
    if schedule.archived_at is None:
        before = {"status": schedule.status, "archivedAt": None}
        schedule.archived_at = utcnow()
        if schedule.status is not ScheduleStatus.COMPLETED:
            schedule.status = ScheduleStatus.CANCELLED
        session.flush()
        after = {"status": schedule.status, "archivedAt": schedule.archived_at}
        summary = "Stopped billing; hidden from default lists"
        _log(session, schedule, "ARCHIVED", "Billing schedule archived", summary, before, after)
        lifecycle.drop_upcoming(session, account_id, [schedule_id])
        _announce(session, account_id, NotificationType.BILLING_SCHEDULE_ARCHIVED, [schedule_id])
    return schedule


def archive_customer_schedules(session: Session, account_id: str, customer_id: str) -> None:
    """Archive every schedule of a customer being archived (seed 001), in one statement."""
    now = utcnow()
    archived = session.execute(
        update(BillingSchedule)
        .where(
            BillingSchedule.account_id == account_id,
            BillingSchedule.customer_id == customer_id,
            BillingSchedule.archived_at.is_(None),
        )
        .values(status=_archived_status(), archived_at=now, updated_at=now)
        .returning(BillingSchedule.id, BillingSchedule.status)
        .execution_options(synchronize_session=False)
    ).all()
    activity.record_all(
        session,
        account_id,
        [
            activity.Entry(
                verb="ARCHIVED",
                object_type="BILLING_SCHEDULE",
                object_id=row.id,
                name="Billing schedule archived",
                summary="Archived with its customer",
                reason="customer archived",
                changes=(
                    {"field": "archivedAt", "before": None, "after": activity.plain(now)},
                    {"field": "status", "before": None, "after": row.status.value},
                ),
                target_type="CUSTOMER",
                target_id=customer_id,
            )
            for row in archived
        ],
    )
    ids = [row.id for row in archived]
    _announce(session, account_id, NotificationType.BILLING_SCHEDULE_ARCHIVED, ids)


def _audited(schedule: BillingSchedule, price_names: dict[str, str]) -> dict[str, Any]:
    """What the activity log compares before and after a change: the terms, phase by phase
    (prices by name and id, discounts, minimums), and the fields around them."""
    return {
        "status": schedule.status,
        "startDate": schedule.start_date,
        "endDate": schedule.end_date,
        "recurrenceDayOfMonth": schedule.recurrence_day_of_month,
        "autoIssueInvoices": schedule.auto_issue_invoices,
        "rollUpBilling": schedule.roll_up_billing,
        "defaultDueDateDays": schedule.default_due_date_days,
        "purchaseOrderNumber": schedule.purchase_order_number,
        "memo": schedule.memo,
        "customFields": schedule.custom_fields,
        "attachments": [asset["id"] for asset in schedule.attachment_assets],
        "phases": [
            {
                "name": phase.name,
                "startDate": phase.start_date,
                "endDate": phase.end_date,
                "prices": [
                    f"{price_names.get(link.price_id, '?')} ({link.price_id})"
                    for link in phase.prices
                ],
                "discounts": [
                    f"{discount.type.value} {activity.number(discount.amount)}"
                    for discount in phase.discounts
                ],
                "minimums": [activity.number(minimum.amount) for minimum in phase.minimums],
            }
            for phase in schedule.phases
        ],
        "taxRates": sorted(f"{item.price_id}: {item.tax_rate_id}" for item in schedule.tax_rates),
    }


def _log(
    session: Session,
    schedule: BillingSchedule,
    verb: str,
    name: str,
    summary: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    activity.record(
        session,
        schedule.account_id,
        verb=verb,
        object_type="BILLING_SCHEDULE",
        object_id=schedule.id,
        name=name,
        summary=summary,
        changes=activity.changed(before, after),
        target_type="CUSTOMER",
        target_id=schedule.customer_id,
    )


def _announce(
    session: Session, account_id: str, what: NotificationType, schedule_ids: Sequence[str]
) -> None:
    """Webhooks and emails of the change, queued in its transaction (sent after commit)."""
    events.emit(session, account_id, what, events.BILLING_SCHEDULE, schedule_ids)


# --- lists ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleFilters:
    customer_id: str | None = None
    statuses: list[ScheduleStatus] | None = None
    auto_send_invoices: bool | None = None
    label: str | None = None
    include_archived: bool = False
    starting_before: date | None = None
    starting_after: date | None = None
    ending_before: date | None = None
    ending_after: date | None = None
    # None: open-ended schedules are listed unless an ending filter is given.
    include_open_ended: bool | None = None
    recurrence_days: list[int] | None = None


def _contains(text: str) -> ColumnElement[bool]:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(BillingSchedule.label).like(f"%{escaped.lower()}%", escape="\\")


def filtered_schedules(account_id: str, filters: ScheduleFilters) -> Select[BillingSchedule]:
    """Dates compare strictly: `startingBefore=2024-02-01` is a start on 2024-01-31 at the
    latest. An open-ended schedule has no end to compare, so ending filters leave it out
    unless `includeOpenEndedSchedules` is true; that parameter false leaves it out always."""
    query = schedule_query(account_id)
    if not filters.include_archived:
        query = query.where(BillingSchedule.archived_at.is_(None))
    if filters.customer_id is not None:
        query = query.where(BillingSchedule.customer_id == filters.customer_id)
    if filters.statuses:
        query = query.where(BillingSchedule.status.in_(filters.statuses))
    if filters.auto_send_invoices is not None:
        query = query.where(BillingSchedule.auto_issue_invoices == filters.auto_send_invoices)
    if filters.label:
        query = query.where(_contains(filters.label))
    if filters.starting_before is not None:
        query = query.where(BillingSchedule.start_date < filters.starting_before)
    if filters.starting_after is not None:
        query = query.where(BillingSchedule.start_date > filters.starting_after)
    if filters.recurrence_days:
        query = query.where(BillingSchedule.recurrence_day_of_month.in_(filters.recurrence_days))

    ends: list[ColumnElement[bool]] = []
    if filters.ending_before is not None:
        ends.append(BillingSchedule.end_date < filters.ending_before)
    if filters.ending_after is not None:
        ends.append(BillingSchedule.end_date > filters.ending_after)
    include_open_ended = (
        filters.include_open_ended if filters.include_open_ended is not None else not ends
    )
    if ends or not include_open_ended:
        bounded = and_(BillingSchedule.end_date.is_not(None), *ends)
        open_ended = BillingSchedule.end_date.is_(None)
        query = query.where(or_(bounded, open_ended) if include_open_ended else bounded)
    return query


def check_terms(session: Session, account_id: str, data: ScheduleCreate) -> list[str]:
    """What creating `data` would check of its terms, writing nothing (the list prices'
    variants are made in a savepoint rolled back): the prices it bills, as the request names
    them (a list price by its own id)."""
    savepoint = session.begin_nested()
    try:
        phases, tax_rates = list_prices.expand(
            session, account_id, data.phases, data.tax_rates or [], {}
        )
        billed = _validate(session, account_id, data.start_date, data.end_date, phases, tax_rates)
        # expand appends each phase's new variants after its priceIds, in listPriceIds' order.
        named_as = {
            variant_id: list_price_id
            for given, phase in zip(data.phases, phases, strict=True)
            for list_price_id, variant_id in zip(
                given.list_price_ids or [], phase.price_ids[len(given.price_ids) :], strict=False
            )
        }
        return [named_as.get(price_id, price_id) for price_id in billed]
    finally:
        savepoint.rollback()
