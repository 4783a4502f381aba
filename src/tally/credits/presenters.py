"""Credit grants and balances in Sequence's shapes (see `schemas`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tally.core.wire import plain as text
from tally.credits.schemas import (
    BalanceGrantOut,
    CreditBalanceOut,
    CreditBalancesOut,
    CreditGrantOut,
    CreditType,
    GrantItemOut,
    GrantItemsOut,
    TransactionOut,
    TransactionType,
)
from tally.credits.service import CustomerCredits, GrantBalance
from tally.credits.top_up_schemas import CreditRechargeOut
from tally.engine.money import ZERO, round_money
from tally.models import (
    CreditGrant,
    CreditLedgerEntry,
    CreditRecharge,
    CreditUnitType,
    LedgerEntryType,
)
from tally.models.scoped import scoped
from tally.notifications.events import CREDIT_RECHARGE, presents

# What a ledger entry says when its writer gave no reason.
REASONS = {
    LedgerEntryType.GRANT: "Credits granted",
    LedgerEntryType.DEBIT: "Used by an invoice",
    LedgerEntryType.RESTORE: "Restored by a voided invoice",
    LedgerEntryType.EXPIRY: "Expired",
    LedgerEntryType.ROLLOVER: "Rolled over",
    LedgerEntryType.REVOKE: "Grant deleted",
}


def plain(out: Any) -> Any:
    """Python values (Decimals kept, written as exact JSON numbers), camelCase keys."""
    return out.model_dump(by_alias=True)


def grant_out(grant: CreditGrant, balance: Decimal) -> CreditGrantOut:
    return CreditGrantOut(
        id=grant.id,
        sequence_account_id=grant.account_id,
        customer_id=grant.customer_id,
        name=grant.name,
        credit_unit_type=grant.credit_unit_type,
        currency=grant.currency,
        metric_id=grant.metric_id,
        amount=grant.amount,
        cost_of_credit=grant.cost_of_credit or ZERO,
        tax_rate_id=grant.tax_rate_id,
        effective_date=grant.effective_date,
        expiry_date=grant.expiry_date,
        created_at=grant.created_at,
        credit_note_id=grant.credit_note_id,
        credits_per_currency_unit=grant.credits_per_currency_unit,
        invoice_id=grant.invoice_id,
        balance=balance,
        deleted_at=grant.deleted_at,
    )


def _type(grant: CreditGrant) -> CreditType:
    return (
        CreditType.CASH if grant.credit_unit_type is CreditUnitType.CURRENCY else CreditType.USAGE
    )


def _worth(grant: CreditGrant, credits: Decimal) -> Decimal | None:
    """What credits of a grant with a conversion are worth, unrounded."""
    if not grant.credits_per_currency_unit:
        return None
    return credits / grant.credits_per_currency_unit


def _balance_grant(held: GrantBalance) -> BalanceGrantOut:
    grant = held.grant
    worth = _worth(grant, held.balance)
    return BalanceGrantOut(
        id=grant.id,
        sequence_account_id=grant.account_id,
        customer_id=grant.customer_id,
        type=_type(grant),
        currency=grant.currency,
        metric_id=grant.metric_id,
        name=grant.name,
        original_amount=text(grant.amount),
        current_balance=text(held.balance),
        expiry_date=grant.expiry_date,
        cost_of_credit=text(grant.cost_of_credit or ZERO),
        tax_rate_id=grant.tax_rate_id,
        effective_date=grant.effective_date,
        created_at=grant.created_at,
        credits_per_currency_unit=(
            None
            if grant.credits_per_currency_unit is None
            else text(grant.credits_per_currency_unit)
        ),
        wallet_value=None if worth is None else text(round_money(worth, grant.currency)),
    )


def _transaction(entry: CreditLedgerEntry) -> TransactionOut:
    return TransactionOut(
        id=entry.id,
        grant_id=entry.grant_id,
        reason=entry.reason or REASONS[entry.entry_type],
        invoice_id=entry.invoice_id,
        billing_run_id=entry.billing_run_id,
        type=TransactionType.DEBIT if entry.amount < 0 else TransactionType.CREDIT,
        amount=text(abs(entry.amount)),
        date=entry.effective_date,
        entry_type=entry.entry_type,
    )


def balances_out(credits: CustomerCredits) -> CreditBalancesOut:
    """One item per currency (CASH, id = the currency code), then one per metric (USAGE,
    id = the metric's id); grants oldest first, transactions oldest first."""
    pockets: dict[tuple[CreditType, str], list[GrantBalance]] = defaultdict(list)
    for held in credits.grants:
        grant = held.grant
        key = grant.currency if grant.metric_id is None else grant.metric_id
        pockets[(_type(grant), key)].append(held)
    items = []
    for (kind, key), pocket in sorted(pockets.items()):
        ids = {h.grant.id for h in pocket}
        name = key if kind is CreditType.CASH else credits.metric_names.get(key, key)
        # Wallet value, when the converted grants share one currency (its rounded sum).
        converted = [h for h in pocket if h.grant.credits_per_currency_unit]
        currencies = {h.grant.currency for h in converted}
        value = None
        if len(currencies) == 1:
            (currency,) = currencies
            worth = sum((_worth(h.grant, h.balance) or ZERO for h in converted), ZERO)
            value = (text(round_money(worth, currency)), currency)
        items.append(
            CreditBalanceOut(
                id=key,
                type=kind,
                name=name,
                balance=text(sum((h.balance for h in pocket), ZERO)),
                grants=[_balance_grant(h) for h in pocket],
                transactions=[
                    _transaction(entry) for entry in credits.entries if entry.grant_id in ids
                ],
                wallet_value=value[0] if value else None,
                wallet_currency=value[1] if value else None,
            )
        )
    return CreditBalancesOut(items=items)


def grant_items_out(credits: CustomerCredits) -> GrantItemsOut:
    """The grants with credits left (a nonzero balance)."""
    return GrantItemsOut(
        items=[
            GrantItemOut(
                id=held.grant.id,
                name=held.grant.name,
                grant_amount=held.grant.amount,
                balance=held.balance,
                issue_date=held.grant.effective_date,
                expiry_date=held.grant.expiry_date,
            )
            for held in credits.grants
            if held.balance != 0
        ]
    )


@presents(CREDIT_RECHARGE)
def present_recharges(
    session: Session, account_id: str, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Auto-recharges' recharges as `CreditRechargeOut` (one query)."""
    rows = session.scalars(
        scoped(CreditRecharge, account_id).where(CreditRecharge.id.in_(list(ids)))
    )
    return {row.id: plain(CreditRechargeOut.build(row)) for row in rows}
