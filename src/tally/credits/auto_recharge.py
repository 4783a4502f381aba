"""Auto-recharge settings (one row per customer and currency, marked deleted when turned
off) and what a recharge decision reads: the available balance (the ledger balance of the
usable cash grants, less what open invoices project on them) and what a month's recharges
charged. Charging is `workflows/auto_recharge.py` (it buys a top-up and asks the provider)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.api import references
from tally.core.clock import utcnow
from tally.core.money import minor_unit
from tally.core.sql import exact_sum
from tally.credits import ledger
from tally.credits.top_up_schemas import AutoRechargeSet
from tally.db import insert_new, new_id, table_of
from tally.exceptions import ArchivedReference, InvalidRequest, NotFound
from tally.models import (
    CreditAutoRecharge,
    CreditGrant,
    CreditRecharge,
    CreditUnitType,
    Customer,
    Invoice,
    InvoiceLineItem,
    InvoiceStatus,
    LineKind,
    RechargeStatus,
    TaxRate,
)
from tally.models.scoped import scoped, scoped_get

ZERO = Decimal(0)
OPEN_INVOICES = (InvoiceStatus.IN_PROGRESS, InvoiceStatus.DRAFT)
# What counts toward the monthly cap: money charged, or being charged.
CHARGING = (RechargeStatus.PENDING, RechargeStatus.SUCCEEDED)
_FIELDS = ("below_balance", "recharge_amount", "cost", "monthly_cap", "tax_rate_id")


def _customer(session: Session, account_id: str, customer_id: str) -> Customer:
    return scoped_get(session, Customer, account_id, customer_id, kind="Customer")


def _money(value: Decimal | None, currency: str, field: str) -> None:
    if value is not None and value != value.quantize(minor_unit(currency)):
        raise InvalidRequest.field(
            field, f"money in {currency} is in its minor unit ({minor_unit(currency)})"
        )


def _log(
    session: Session,
    row: CreditAutoRecharge,
    verb: str,
    name: str,
    summary: str,
    changes: Sequence[dict[str, object]],
) -> None:
    activity.record(
        session,
        row.account_id,
        verb=verb,
        object_type="CREDIT_AUTO_RECHARGE",
        object_id=row.id,
        name=name,
        summary=summary,
        changes=list(changes),
        target_type="CUSTOMER",
        target_id=row.customer_id,
    )


def _values(row: CreditAutoRecharge) -> dict[str, object]:
    return {
        field: (
            activity.number(value) if isinstance(value := getattr(row, field), Decimal) else value
        )
        for field in _FIELDS
    }


def set_auto_recharge(
    session: Session, account_id: str, customer_id: str, currency: str, data: AutoRechargeSet
) -> CreditAutoRecharge:
    """Turn on or change the customer's auto-recharge of `currency`. A change lifts the pause
    a failure or the cap set: the next check may recharge at once."""
    customer = _customer(session, account_id, customer_id)
    if customer.archived_at is not None:
        raise ArchivedReference(f"Customer {customer_id!r} is archived")
    if data.tax_rate_id is not None:
        tax_rate = references.resolve_one(
            session, account_id, TaxRate, "taxRateId", data.tax_rate_id
        )
        if tax_rate.archived_at is not None:
            raise InvalidRequest.field("taxRateId", f"tax rate {data.tax_rate_id!r} is archived")
    _money(data.recharge_amount, currency, "rechargeAmount")
    _money(data.cost, currency, "cost")
    _money(data.monthly_cap, currency, "monthlyCap")
    now = utcnow()
    insert_new(
        session,
        table_of(CreditAutoRecharge),
        [
            {
                "id": new_id(),
                "account_id": account_id,
                "created_at": now,
                "updated_at": now,
                "customer_id": customer.id,
                "currency": currency,
                "below_balance": data.below_balance,
                "recharge_amount": data.recharge_amount,
                "deleted_at": now,  # set below, with the entry
            }
        ],
        ["account_id", "customer_id", "currency"],
    )
    row = _locked(session, account_id, customer.id, currency)
    assert row is not None
    before = None if row.deleted_at is not None else _values(row)
    row.below_balance = data.below_balance
    row.recharge_amount = data.recharge_amount
    row.cost = data.cost
    row.monthly_cap = data.monthly_cap
    row.tax_rate_id = data.tax_rate_id
    row.deleted_at = None
    row.paused_until = None
    row.last_failure = None
    row.updated_at = now
    session.flush()
    after = _values(row)
    changes = [
        {"field": field, "before": None if before is None else before[field], "after": value}
        for field, value in after.items()
        if before is None or before[field] != value
    ]
    _log(
        session,
        row,
        "CREATED" if before is None else "UPDATED",
        "Auto-recharge set",
        f"below {activity.number(row.below_balance)} {currency}, buy "
        f"{activity.number(row.recharge_amount)} {currency} of credit",
        changes,
    )
    return row


def _locked(
    session: Session, account_id: str, customer_id: str, currency: str
) -> CreditAutoRecharge | None:
    return session.scalars(
        scoped(CreditAutoRecharge, account_id)
        .where(
            CreditAutoRecharge.customer_id == customer_id,
            CreditAutoRecharge.currency == currency,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def get_auto_recharge(
    session: Session, account_id: str, customer_id: str, currency: str
) -> CreditAutoRecharge:
    _customer(session, account_id, customer_id)
    row = session.scalars(
        scoped(CreditAutoRecharge, account_id).where(
            CreditAutoRecharge.customer_id == customer_id,
            CreditAutoRecharge.currency == currency,
            CreditAutoRecharge.deleted_at.is_(None),
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"Customer {customer_id!r} has no auto-recharge of {currency}")
    return row


def delete_auto_recharge(
    session: Session, account_id: str, customer_id: str, currency: str
) -> CreditAutoRecharge:
    """Turn it off (the row stays, marked, with its recharges)."""
    _customer(session, account_id, customer_id)
    row = _locked(session, account_id, customer_id, currency)
    if row is None or row.deleted_at is not None:
        raise NotFound(f"Customer {customer_id!r} has no auto-recharge of {currency}")
    row.deleted_at = utcnow()
    session.flush()
    _log(
        session,
        row,
        "DELETED",
        "Auto-recharge turned off",
        f"auto-recharge of {currency} turned off",
        [{"field": "deletedAt", "before": None, "after": activity.plain(row.deleted_at)}],
    )
    return row


def customer_auto_recharges(
    session: Session, account_id: str, customer_id: str
) -> list[CreditAutoRecharge]:
    """The customer's live auto-recharges, by currency."""
    return list(
        session.scalars(
            scoped(CreditAutoRecharge, account_id)
            .where(
                CreditAutoRecharge.customer_id == customer_id,
                CreditAutoRecharge.deleted_at.is_(None),
            )
            .order_by(CreditAutoRecharge.currency)
        )
    )


def live_auto_recharges(
    session: Session, account_id: str, customer_ids: Sequence[str] | None
) -> list[CreditAutoRecharge]:
    """The account's live auto-recharges (of these customers, when given)."""
    query = scoped(CreditAutoRecharge, account_id).where(CreditAutoRecharge.deleted_at.is_(None))
    if customer_ids is not None:
        if not customer_ids:
            return []
        query = query.where(CreditAutoRecharge.customer_id.in_(list(customer_ids)))
    return list(session.scalars(query.order_by(CreditAutoRecharge.id)))


def lock_auto_recharge(session: Session, account_id: str, row_id: str) -> CreditAutoRecharge:
    row = session.scalars(
        scoped(CreditAutoRecharge, account_id)
        .where(CreditAutoRecharge.id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        raise NotFound.resource("Auto-recharge", row_id)
    return row


# ---- what a recharge decision reads --------------------------------------------------------


def available_balances(
    session: Session, account_id: str, customer_ids: Sequence[str], today: date
) -> dict[tuple[str, str], Decimal]:
    """(customer, currency) -> the cash credits available: the ledger balance of the cash
    grants usable today, less the credits open invoices (IN_PROGRESS, DRAFT) project on
    them, as the portal's wallet shows it. Three queries for any number of customers."""
    if not customer_ids:
        return {}
    grants = list(
        session.scalars(
            scoped(CreditGrant, account_id).where(
                CreditGrant.customer_id.in_(list(customer_ids)),
                CreditGrant.credit_unit_type == CreditUnitType.CURRENCY,
                CreditGrant.deleted_at.is_(None),
                CreditGrant.effective_date <= today,
                (CreditGrant.expiry_date.is_(None)) | (CreditGrant.expiry_date >= today),
            )
        )
    )
    by_id = {grant.id: grant for grant in grants}
    left = ledger.balances(session, account_id, by_id, as_of=today)
    pending = (
        session.execute(
            select(InvoiceLineItem.credit_grant_id, InvoiceLineItem.net_total)
            .join(Invoice, Invoice.id == InvoiceLineItem.invoice_id)
            .where(
                Invoice.account_id == account_id,
                Invoice.customer_id.in_(list(customer_ids)),
                Invoice.status.in_(OPEN_INVOICES),
                InvoiceLineItem.kind == LineKind.CREDIT,
                InvoiceLineItem.credit_grant_id.is_not(None),
            )
        ).all()
        if by_id
        else []
    )
    found: dict[tuple[str, str], Decimal] = {}
    for grant in grants:
        key = (grant.customer_id, grant.currency)
        found[key] = found.get(key, ZERO) + left.get(grant.id, ZERO)
    for grant_id, net in pending:
        spent = by_id.get(str(grant_id))
        if spent is not None:
            key = (spent.customer_id, spent.currency)
            found[key] -= abs(net) * (spent.credits_per_currency_unit or 1)
    return found


def charged_in_month(
    session: Session, account_id: str, auto_recharge_id: str, month: str
) -> Decimal:
    """What the auto-recharge's recharges of `month` charged or are charging."""
    total = session.scalar(
        select(exact_sum(session, CreditRecharge.charged)).where(
            CreditRecharge.account_id == account_id,
            CreditRecharge.auto_recharge_id == auto_recharge_id,
            CreditRecharge.month == month,
            CreditRecharge.status.in_(CHARGING),
        )
    )
    return Decimal(total or 0)


def last_number(session: Session, account_id: str, auto_recharge_id: str) -> int:
    return int(
        session.scalar(
            select(func.max(CreditRecharge.number)).where(
                CreditRecharge.account_id == account_id,
                CreditRecharge.auto_recharge_id == auto_recharge_id,
            )
        )
        or 0
    )


def open_recharge(
    session: Session, account_id: str, auto_recharge_id: str
) -> CreditRecharge | None:
    """The auto-recharge's PENDING recharge (at most one: claimed under its row lock)."""
    return session.scalars(
        scoped(CreditRecharge, account_id)
        .where(
            CreditRecharge.auto_recharge_id == auto_recharge_id,
            CreditRecharge.status == RechargeStatus.PENDING,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def pending_auto_recharges(
    session: Session, account_id: str, auto_recharge_ids: Sequence[str]
) -> list[str]:
    """Those of the auto-recharges with a PENDING recharge."""
    if not auto_recharge_ids:
        return []
    return list(
        session.scalars(
            select(CreditRecharge.auto_recharge_id)
            .where(
                CreditRecharge.account_id == account_id,
                CreditRecharge.auto_recharge_id.in_(list(auto_recharge_ids)),
                CreditRecharge.status == RechargeStatus.PENDING,
            )
            .distinct()
        )
    )


def customer_recharges(
    session: Session, account_id: str, customer_id: str, limit: int = 50
) -> list[CreditRecharge]:
    """The customer's recharges, newest first."""
    return list(
        session.scalars(
            scoped(CreditRecharge, account_id)
            .where(CreditRecharge.customer_id == customer_id)
            .order_by(CreditRecharge.created_at.desc(), CreditRecharge.number.desc())
            .limit(limit)
        )
    )


def accounts_with_auto_recharge(session: Session, account_id: str | None = None) -> list[str]:
    """The accounts (or just `account_id`) with a live auto-recharge: the job's one query
    when nobody uses it."""
    query = (
        select(CreditAutoRecharge.account_id)
        .where(CreditAutoRecharge.deleted_at.is_(None))
        .distinct()
    )
    if account_id is not None:
        query = query.where(CreditAutoRecharge.account_id == account_id)
    return list(session.scalars(query))


def customer_recharges_of(
    session: Session, account_id: str, customer_id: str
) -> list[CreditRecharge]:
    """The recharges of a customer the caller can see (404 for another account's)."""
    _customer(session, account_id, customer_id)
    return customer_recharges(session, account_id, customer_id)
