"""The customer's credits: the wallet (balances per pocket) and every transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    and_,
    select,
)
from sqlalchemy.orm import Session

from tally.credits.ledger import balances
from tally.models import (
    CreditGrant,
    CreditLedgerEntry,
    CreditUnitType,
    Invoice,
    InvoiceLineItem,
    LedgerEntryType,
    LineKind,
    UsageMetric,
)
from tally.portal.data._common import OPEN_STATUSES, ZERO


@dataclass(frozen=True)
class GrantInfo:
    id: str
    name: str
    unit_type: CreditUnitType
    currency: str
    metric_id: str | None
    metric_name: str | None
    unit: str | None  # the metric's unit ("verifications")
    effective_date: date
    expiry_date: date | None
    credits_per_currency_unit: Decimal | None
    deleted: bool

    def money(self, credits: Decimal) -> Decimal | None:
        """What `credits` of this grant are worth in its currency; None when unknown (a metric
        grant without a rate)."""
        if self.credits_per_currency_unit:
            return credits / self.credits_per_currency_unit
        if self.unit_type is CreditUnitType.CURRENCY:
            return credits
        return None

    def usable(self, today: date) -> bool:
        return (
            not self.deleted
            and self.effective_date <= today
            and (self.expiry_date is None or self.expiry_date >= today)
        )


@dataclass(frozen=True)
class Pocket:
    """The balance of the grants of one kind: one metric's credits, or one currency's cash."""

    key: str  # the currency code, or the metric id
    name: str  # "Verification credits", "GBP credit"
    unit_type: CreditUnitType
    currency: str
    unit: str | None
    balance: Decimal  # in credits
    value: Decimal | None  # in money, when known
    pending: Decimal  # credits the open period is projected to use (positive)
    status: str  # ACTIVE, EXHAUSTED, EXPIRED


@dataclass(frozen=True)
class Wallet:
    pockets: list[Pocket]
    currency: str
    credits: Decimal  # every pocket's balance
    value: Decimal | None  # in `currency`, when every pocket has a money value in it
    status: str


@dataclass(frozen=True)
class Transaction:
    kind: str  # GRANT, PENDING_DEBIT, DEBIT, RESTORE, EXPIRY, ROLLOVER, REVOKE
    label: str
    day: date
    grant_id: str
    grant_name: str
    expiry_date: date | None
    priority: int | None  # the order the grant is spent in (1 first); None when spent
    credits: Decimal  # signed: + adds credits
    money: Decimal | None  # signed, in `currency`
    currency: str
    unit: str | None
    pending: bool
    invoice_id: str | None = None
    invoice_number: str | None = None


@dataclass(frozen=True)
class CreditsView:
    wallet: Wallet
    grants: list[GrantInfo]
    transactions: list[Transaction]  # newest first


_ENTRY_LABELS = {
    LedgerEntryType.GRANT: "Credits granted",
    LedgerEntryType.DEBIT: "Used by invoice",
    LedgerEntryType.RESTORE: "Restored (invoice voided)",
    LedgerEntryType.EXPIRY: "Expired",
    LedgerEntryType.ROLLOVER: "Rolled over",
    LedgerEntryType.REVOKE: "Revoked",
}


def _grants(session: Session, account_id: str, customer_id: str) -> list[GrantInfo]:
    rows = session.execute(
        select(CreditGrant, UsageMetric.name, UsageMetric.unit)
        # The account's own metric only: a grant never shows another account's name or unit.
        .outerjoin(
            UsageMetric,
            (UsageMetric.id == CreditGrant.metric_id)
            & (UsageMetric.account_id == CreditGrant.account_id),
        )
        .where(CreditGrant.account_id == account_id, CreditGrant.customer_id == customer_id)
        .order_by(CreditGrant.effective_date, CreditGrant.id)
    ).all()
    return [
        GrantInfo(
            id=grant.id,
            name=grant.name,
            unit_type=grant.credit_unit_type,
            currency=grant.currency,
            metric_id=grant.metric_id,
            metric_name=metric_name,
            unit=unit,
            effective_date=grant.effective_date,
            expiry_date=grant.expiry_date,
            credits_per_currency_unit=grant.credits_per_currency_unit,
            deleted=grant.deleted_at is not None,
        )
        for grant, metric_name, unit in rows
    ]


def has_grants(session: Session, account_id: str, customer_id: str) -> bool:
    """Whether the Credits tab shows (seed 000: only for customers granted credits)."""
    found = session.scalar(
        select(CreditGrant.id)
        .where(CreditGrant.account_id == account_id, CreditGrant.customer_id == customer_id)
        .limit(1)
    )
    return found is not None


def _priorities(
    grants: Sequence[GrantInfo], left: dict[str, Decimal], today: date
) -> dict[str, int]:
    """The order billing spends the usable grants in: metric credits first, then cash; the
    soonest expiry first (never-expiring last), then the oldest."""
    usable = [g for g in grants if g.usable(today) and left.get(g.id, ZERO) > 0]
    usable.sort(
        key=lambda g: (
            g.unit_type is not CreditUnitType.METRIC,
            g.expiry_date is None,
            g.expiry_date or date.max,
            g.effective_date,
            g.id,
        )
    )
    return {grant.id: position for position, grant in enumerate(usable, start=1)}


def _pending_lines(
    session: Session, account_id: str, customer_id: str
) -> list[tuple[str, Decimal, Decimal, date, str]]:
    """CREDIT lines of the customer's open invoices (IN_PROGRESS, DRAFT): the credits billing
    projects to use, not yet in the ledger. (grant, quantity, net, date, invoice id)."""
    rows = session.execute(
        select(
            InvoiceLineItem.credit_grant_id,
            InvoiceLineItem.quantity,
            InvoiceLineItem.net_total,
            Invoice.billing_period_end,
            Invoice.invoice_date,
            Invoice.accounting_date,
            Invoice.id,
        )
        .join(Invoice, Invoice.id == InvoiceLineItem.invoice_id)
        .where(
            Invoice.account_id == account_id,
            Invoice.customer_id == customer_id,
            Invoice.status.in_(OPEN_STATUSES),
            InvoiceLineItem.kind == LineKind.CREDIT,
            InvoiceLineItem.credit_grant_id.is_not(None),
        )
        .order_by(Invoice.invoice_date, InvoiceLineItem.index)
    ).all()
    return [
        (
            row.credit_grant_id,
            row.quantity,
            row.net_total,
            row.invoice_date or row.billing_period_end or row.accounting_date,
            row.id,
        )
        for row in rows
    ]


def _line_credits(grant: GrantInfo, quantity: Decimal, net: Decimal) -> Decimal:
    """The credits a CREDIT line draws (positive): a metric grant's line counts units, a cash
    grant's line is money (times the grant's credits per currency unit, if it has one)."""
    if grant.unit_type is CreditUnitType.METRIC:
        return abs(quantity)
    return abs(net) * (grant.credits_per_currency_unit or 1)


def credits(
    session: Session, account_id: str, customer_id: str, today: date, currency: str
) -> CreditsView | None:
    """The wallet and every transaction of the customer's grants; None without grants.

    Five queries: grants (with metric names), balances, ledger entries (with invoice
    numbers), and the open invoices' credit lines."""
    read = _balances(session, account_id, customer_id, today)
    if read is None:
        return None
    grants, left, pending_lines, pending = read
    by_id = {grant.id: grant for grant in grants}
    priorities = _priorities(grants, left, today)

    entries = session.execute(
        select(CreditLedgerEntry, Invoice.invoice_number)
        .outerjoin(
            Invoice,
            and_(Invoice.id == CreditLedgerEntry.invoice_id, Invoice.account_id == account_id),
        )
        .where(
            CreditLedgerEntry.account_id == account_id,
            CreditLedgerEntry.customer_id == customer_id,
        )
        .order_by(
            CreditLedgerEntry.effective_date, CreditLedgerEntry.created_at, CreditLedgerEntry.id
        )
    ).all()
    transactions: list[Transaction] = []
    for entry, number in entries:
        grant = by_id.get(entry.grant_id)
        if grant is None:
            continue
        label = _ENTRY_LABELS.get(entry.entry_type, entry.entry_type.value.title())
        transactions.append(
            Transaction(
                kind=entry.entry_type.value,
                label=label,
                day=entry.effective_date,
                grant_id=grant.id,
                grant_name=grant.name,
                expiry_date=grant.expiry_date,
                priority=priorities.get(grant.id),
                credits=entry.amount,
                money=grant.money(entry.amount),
                currency=grant.currency,
                unit=grant.unit,
                pending=False,
                invoice_id=entry.invoice_id,
                invoice_number=number,
            )
        )
    for grant_id, quantity, net, day, invoice_id in pending_lines:
        grant = by_id.get(grant_id)
        if grant is None:
            continue
        amount = -_line_credits(grant, quantity, net)
        transactions.append(
            Transaction(
                kind="PENDING_DEBIT",
                label="Pending debit (open period)",
                day=day,
                grant_id=grant.id,
                grant_name=grant.name,
                expiry_date=grant.expiry_date,
                priority=priorities.get(grant.id),
                credits=amount,
                money=grant.money(amount),
                currency=grant.currency,
                unit=grant.unit,
                pending=True,
                invoice_id=invoice_id,
            )
        )
    transactions.sort(key=lambda t: (t.day, t.pending), reverse=True)
    return CreditsView(
        wallet=_wallet(grants, left, pending, today, currency),
        grants=grants,
        transactions=transactions,
    )


def wallet(
    session: Session, account_id: str, customer_id: str, today: date, currency: str
) -> Wallet | None:
    """`credits(...).wallet` without the transactions (the Overview's card): three queries,
    none over the ledger's history."""
    read = _balances(session, account_id, customer_id, today)
    if read is None:
        return None
    grants, left, _, pending = read
    return _wallet(grants, left, pending, today, currency)


_Balances = tuple[
    list[GrantInfo],
    dict[str, Decimal],
    list[tuple[str, Decimal, Decimal, date, str]],
    dict[str, Decimal],
]


def _balances(session: Session, account_id: str, customer_id: str, today: date) -> _Balances | None:
    """The grants, their balances, the open invoices' credit lines and the credits they are
    projected to use per grant; None without grants."""
    grants = _grants(session, account_id, customer_id)
    if not grants:
        return None
    by_id = {grant.id: grant for grant in grants}
    left = balances(session, account_id, by_id, as_of=today)
    pending_lines = _pending_lines(session, account_id, customer_id)
    pending: dict[str, Decimal] = defaultdict(Decimal)
    for grant_id, quantity, net, _, _ in pending_lines:
        if grant_id in by_id:
            pending[grant_id] += _line_credits(by_id[grant_id], quantity, net)
    return list(grants), left, list(pending_lines), pending


def _wallet(
    grants: Sequence[GrantInfo],
    left: dict[str, Decimal],
    pending: dict[str, Decimal],
    today: date,
    currency: str,
) -> Wallet:
    grouped: dict[str, list[GrantInfo]] = {}
    for grant in grants:
        key = grant.metric_id if grant.unit_type is CreditUnitType.METRIC else grant.currency
        grouped.setdefault(key or grant.currency, []).append(grant)
    pockets = []
    for key, members in grouped.items():
        first = members[0]
        live = [g for g in members if g.usable(today)]
        balance = sum((left.get(g.id, ZERO) for g in live), ZERO)
        values = [g.money(left.get(g.id, ZERO)) for g in live]
        value = (
            sum((v for v in values if v is not None), ZERO)
            if all(v is not None for v in values)
            else None
        )
        if first.unit_type is CreditUnitType.METRIC and not any(
            g.credits_per_currency_unit for g in members
        ):
            value = None
        status = "ACTIVE" if balance > 0 else ("EXPIRED" if not live else "EXHAUSTED")
        name = (
            f"{first.metric_name} credits"
            if first.unit_type is CreditUnitType.METRIC and first.metric_name
            else f"{first.currency} credit"
        )
        pockets.append(
            Pocket(
                key=key,
                name=name,
                unit_type=first.unit_type,
                currency=first.currency,
                unit=first.unit,
                balance=balance,
                value=value,
                pending=sum((pending.get(g.id, ZERO) for g in members), ZERO),
                status=status,
            )
        )
    pockets.sort(key=lambda p: (p.unit_type is not CreditUnitType.METRIC, p.name))
    currencies = {p.currency for p in pockets}
    wallet_currency = currencies.pop() if len(currencies) == 1 else currency
    valued = [p.value for p in pockets if p.currency == wallet_currency]
    total_value = (
        sum((v for v in valued if v is not None), ZERO)
        if valued and all(v is not None for v in valued) and len(valued) == len(pockets)
        else None
    )
    return Wallet(
        pockets=pockets,
        currency=wallet_currency,
        credits=sum((p.balance for p in pockets), ZERO),
        value=total_value,
        status="ACTIVE" if any(p.status == "ACTIVE" for p in pockets) else pockets[0].status,
    )
