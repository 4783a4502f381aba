"""Credit grants: creating, listing and revoking them, and a customer's balances. Which
grants an invoice may spend is `usable.py`.

A grant's balance is never stored: it is the sum of its ledger entries (`ledger.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import get_currency_precision
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.api import references
from tally.core.clock import local_today, utcnow
from tally.core.sql import exact_sum
from tally.credits import ledger
from tally.credits.schemas import CreditGrantCreate
from tally.db import new_id
from tally.engine.money import round_money
from tally.exceptions import ArchivedReference, InvalidRequest, NotFound
from tally.models import (
    Account,
    CreditGrant,
    CreditLedgerEntry,
    CreditUnitType,
    Customer,
    LedgerEntryType,
    TaxRate,
    TaxRateVersion,
    UsageMetric,
)

ZERO = Decimal(0)


# ---- grants ------------------------------------------------------------------------------


def _live_customer(session: Session, account_id: str, customer_id: str) -> Customer:
    """The customer, held (FOR SHARE) until commit, as schedules and invoices hold it."""
    customer = references.resolve_one(
        session, account_id, Customer, "customerId", customer_id, lock="share"
    )
    if customer.archived_at is not None:
        raise ArchivedReference(f"Customer {customer_id!r} is archived")
    return customer


def _check_metric(session: Session, account_id: str, data: CreditGrantCreate) -> None:
    if data.metric_id is not None:
        references.resolve_one(session, account_id, UsageMetric, "metricId", data.metric_id)
    if data.credit_unit_type is CreditUnitType.CURRENCY:
        if data.metric_id is not None:
            raise InvalidRequest.field("metricId", "only METRIC grants name a metric")
        return
    if data.metric_id is None:
        raise InvalidRequest.field("metricId", "a METRIC grant needs the usage metric it offsets")


def _tax_version(session: Session, account_id: str, tax_rate_id: str) -> TaxRateVersion:
    """The tax rate's current version; the rate must be live."""
    tax_rate = references.resolve_one(session, account_id, TaxRate, "taxRateId", tax_rate_id)
    if tax_rate.archived_at is not None:
        raise InvalidRequest.field("taxRateId", f"tax rate {tax_rate_id!r} is archived")
    version = session.scalar(
        select(TaxRateVersion).where(
            TaxRateVersion.account_id == account_id,
            TaxRateVersion.tax_rate_id == tax_rate.id,
            TaxRateVersion.version == tax_rate.current_version,
        )
    )
    assert version is not None  # a tax rate always has its current version
    return version


def _check_amounts(data: CreditGrantCreate) -> None:
    currency = data.currency.value
    places = get_currency_precision(currency)
    cost = data.cost_of_credit
    if cost is not None and cost != round_money(cost, currency):
        raise InvalidRequest.field(
            "costOfCredit",
            f"money in {currency} has at most {places} decimal places",
        )
    # Cash credits are money unless a conversion says what they are worth.
    cash = data.credit_unit_type is CreditUnitType.CURRENCY
    converted = data.credits_per_currency_unit is not None
    if cash and not converted and data.amount != round_money(data.amount, currency):
        raise InvalidRequest.field(
            "amount",
            f"cash credits in {currency} have at most {places} decimal places "
            "(or give creditsPerCurrencyUnit)",
        )
    if data.create_invoice and cost is None:
        raise InvalidRequest.field("costOfCredit", "createInvoice invoices the cost of credit")


def new_grant(
    session: Session, account: Account, data: CreditGrantCreate
) -> tuple[CreditGrant, TaxRateVersion | None]:
    """A grant checked and built, not stored yet, with the tax rate version `taxRateId` names
    now. `workflows.credit_grants` invoices its cost when asked, then `record_grant` stores it."""
    if data.sequence_account_id is not None and data.sequence_account_id != account.id:
        # The caller's own account is the only one it can name.
        raise references.not_found(
            "sequenceAccountId", "Sequence account", data.sequence_account_id
        )
    customer = _live_customer(session, account.id, data.customer_id)
    _check_metric(session, account.id, data)
    tax = None if data.tax_rate_id is None else _tax_version(session, account.id, data.tax_rate_id)
    _check_amounts(data)
    effective = data.effective_date or local_today(account.timezone)
    if data.expiry_date is not None and data.expiry_date < effective:
        raise InvalidRequest.field(
            "expiryDate", f"the last usable day ({data.expiry_date}) is before {effective}"
        )
    grant = CreditGrant(
        id=new_id(),
        account_id=account.id,
        customer_id=customer.id,
        name=data.name,
        credit_unit_type=data.credit_unit_type,
        currency=data.currency.value,
        metric_id=data.metric_id,
        amount=data.amount,
        cost_of_credit=data.cost_of_credit,
        tax_rate_id=data.tax_rate_id,
        effective_date=effective,
        expiry_date=data.expiry_date,
        credits_per_currency_unit=data.credits_per_currency_unit,
        restrict_to_prices=[],
    )
    return grant, tax


def record_grant(session: Session, grant: CreditGrant) -> CreditGrant:
    """The grant stored with its GRANT ledger entry and activity log entry."""
    session.add(grant)
    session.flush()
    ledger.record(session, grant.account_id, [ledger.grant_movement(grant)])
    _log(session, grant, "CREATED", "Credit grant created", f"{_amount(grant)} granted", [])
    return grant


def _amount(grant: CreditGrant) -> str:
    if grant.credit_unit_type is CreditUnitType.CURRENCY:
        return f"{activity.number(grant.amount)} {grant.currency} of credit {grant.name!r}"
    return f"{activity.number(grant.amount)} {grant.name!r} metric credits"


def _log(
    session: Session,
    grant: CreditGrant,
    verb: str,
    name: str,
    summary: str,
    changes: list[dict[str, object]],
) -> None:
    """The grant's activity log entry, aimed at its customer."""
    activity.record(
        session,
        grant.account_id,
        verb=verb,
        object_type="CREDIT_GRANT",
        object_id=grant.id,
        name=name,
        summary=summary,
        changes=changes,
        target_type="CUSTOMER",
        target_id=grant.customer_id,
    )


def grants_query(account_id: str, customer_id: str | None = None) -> Select[CreditGrant]:
    """Live (not deleted) grants, for the list."""
    query = select(CreditGrant).where(
        CreditGrant.account_id == account_id, CreditGrant.deleted_at.is_(None)
    )
    if customer_id is not None:
        query = query.where(CreditGrant.customer_id == customer_id)
    return query


def get_grant(
    session: Session, account_id: str, grant_id: str, *, for_update: bool = False
) -> CreditGrant:
    query = grants_query(account_id).where(CreditGrant.id == grant_id)
    if for_update:
        query = query.with_for_update()
    grant = session.scalar(query)
    if grant is None:
        raise NotFound.resource("Credit grant", grant_id)
    return grant


def delete_grant(session: Session, account: Account, grant_id: str) -> CreditGrant:
    """Revoke what is left (a REVOKE entry) and hide the grant. The row is locked first, so
    a debit or expiry of the same grant waits and then sees the balance gone."""
    grant = get_grant(session, account.id, grant_id, for_update=True)
    latest, left = session.execute(
        select(
            func.max(CreditLedgerEntry.effective_date),
            exact_sum(session, CreditLedgerEntry.amount),
        ).where(CreditLedgerEntry.account_id == account.id, CreditLedgerEntry.grant_id == grant.id)
    ).one()
    left = Decimal(left or 0)
    if left:
        # Dated no earlier than any entry, so no day's balance goes negative.
        when = max(local_today(account.timezone), latest or grant.effective_date)
        ledger.record(
            session,
            account.id,
            [
                ledger.Movement(
                    grant_id=grant.id,
                    customer_id=grant.customer_id,
                    entry_type=LedgerEntryType.REVOKE,
                    amount=-left,
                    effective_date=when,
                    dedupe_key=f"revoke:{grant.id}",
                    reason="Grant deleted",
                )
            ],
        )
    grant.deleted_at = utcnow()
    session.flush()
    changes = [
        {"field": "balance", "before": activity.number(left), "after": "0"},
        {"field": "deletedAt", "before": None, "after": activity.plain(grant.deleted_at)},
    ]
    what = f"{_amount(grant)} deleted; {activity.number(left)} left on it revoked"
    _log(session, grant, "DELETED", "Credit grant deleted", what, changes)
    return grant


def current_balances(
    session: Session, account_id: str, grant_ids: Sequence[str]
) -> dict[str, Decimal]:
    """Each grant's balance now: the sum of all its entries (0 for none)."""
    found = ledger.balances(session, account_id, grant_ids)
    return {grant_id: found.get(grant_id, ZERO) for grant_id in grant_ids}


# ---- a customer's balances -----------------------------------------------------------------


@dataclass(frozen=True)
class GrantBalance:
    grant: CreditGrant
    balance: Decimal


@dataclass(frozen=True)
class CustomerCredits:
    """A customer's live grants with their balances, its entries, and its metrics' names."""

    grants: list[GrantBalance]
    entries: list[CreditLedgerEntry]
    metric_names: dict[str, str]


def customer_credits(session: Session, account_id: str, customer_id: str) -> CustomerCredits:
    """Three queries, however many grants and entries."""
    exists = session.scalar(
        select(Customer.id).where(Customer.account_id == account_id, Customer.id == customer_id)
    )
    if exists is None:
        raise NotFound.resource("Customer", customer_id)
    grants = list(
        session.scalars(
            grants_query(account_id, customer_id).order_by(
                CreditGrant.effective_date, CreditGrant.id
            )
        )
    )
    live = {grant.id for grant in grants}
    entries = [
        entry
        for entry in ledger.customer_entries(session, account_id, [customer_id])
        if entry.grant_id in live
    ]
    totals: dict[str, Decimal] = {}
    for entry in entries:
        totals[entry.grant_id] = totals.get(entry.grant_id, ZERO) + entry.amount
    metric_ids = {grant.metric_id for grant in grants if grant.metric_id}
    names: dict[str, str] = {}
    if metric_ids:
        rows = session.execute(
            select(UsageMetric.id, UsageMetric.name).where(
                UsageMetric.account_id == account_id, UsageMetric.id.in_(metric_ids)
            )
        )
        names = {str(row.id): str(row.name) for row in rows}
    return CustomerCredits(
        grants=[GrantBalance(grant, totals.get(grant.id, ZERO)) for grant in grants],
        entries=entries,
        metric_names=names,
    )
