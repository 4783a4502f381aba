"""Tally's extensions: credit top-ups (`/api/credit-top-ups`) and auto-recharge
(`/api/customers/{id}/auto-recharges/{currency}`). Amounts are JSON numbers read exactly, as
grants' are (`schemas.ExactNumber`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from tally.api.schemas import Schema
from tally.api.types import Currency
from tally.credits.schemas import Day, ExactNumber, Id
from tally.models import (
    CreditAutoRecharge,
    CreditRecharge,
    CreditTopUp,
    CreditUnitType,
    GrantWhen,
    RechargeStatus,
    TopUpStatus,
)


class CreditTopUpCreate(Schema):
    customer_id: Id
    name: str = Field(
        default="Credit top-up", min_length=1, max_length=500, description="The invoice line."
    )
    credit_unit_type: CreditUnitType = CreditUnitType.CURRENCY
    currency: Currency
    metric_id: Id | None = Field(default=None, description="METRIC credits: a usage metric.")
    amount: ExactNumber = Field(gt=0, description="Credits bought.")
    cost: ExactNumber = Field(gt=0, description="The price, before tax, in `currency`.")
    tax_rate_id: Id | None = Field(default=None, description="The tax of the invoice's line.")
    grant_when: GrantWhen = Field(
        default=GrantWhen.ON_PAYMENT,
        description="ON_PAYMENT: the credits are usable once the invoice is PAID; "
        "IMMEDIATELY: at once.",
    )
    expiry_date: Day | None = Field(default=None, description="The credits' last usable day.")


class CreditTopUpOut(Schema):
    id: str
    customer_id: str
    name: str
    credit_unit_type: CreditUnitType
    currency: str
    metric_id: str | None = None
    amount: ExactNumber
    cost: ExactNumber
    tax_rate_id: str | None = None
    expiry_date: Day | None = None
    grant_when: GrantWhen
    status: TopUpStatus
    invoice_id: str
    grant_id: str | None = None
    recharge_id: str | None = None
    created_at: datetime
    granted_at: datetime | None = None
    cancelled_at: datetime | None = None

    @classmethod
    def build(cls, top_up: CreditTopUp) -> CreditTopUpOut:
        return cls(
            id=top_up.id,
            customer_id=top_up.customer_id,
            name=top_up.name,
            credit_unit_type=top_up.credit_unit_type,
            currency=top_up.currency,
            metric_id=top_up.metric_id,
            amount=top_up.amount,
            cost=top_up.cost,
            tax_rate_id=top_up.tax_rate_id,
            expiry_date=top_up.expiry_date,
            grant_when=top_up.grant_when,
            status=top_up.status,
            invoice_id=top_up.invoice_id,
            grant_id=top_up.grant_id,
            recharge_id=top_up.recharge_id,
            created_at=top_up.created_at,
            granted_at=top_up.granted_at,
            cancelled_at=top_up.cancelled_at,
        )


class AutoRechargeSet(Schema):
    below_balance: ExactNumber = Field(
        ge=0, description="Recharge when the available balance falls below this."
    )
    recharge_amount: ExactNumber = Field(gt=0, description="Credits bought each time.")
    cost: ExactNumber | None = Field(
        default=None, gt=0, description="The price before tax; none: the amount (1:1)."
    )
    monthly_cap: ExactNumber | None = Field(
        default=None,
        gt=0,
        description="At most this much charged (tax included) per calendar month in the "
        "account's time zone; none: no cap.",
    )
    tax_rate_id: Id | None = None


class AutoRechargeOut(Schema):
    id: str
    customer_id: str
    currency: str
    below_balance: ExactNumber
    recharge_amount: ExactNumber
    cost: ExactNumber
    monthly_cap: ExactNumber | None = None
    tax_rate_id: str | None = None
    paused_until: datetime | None = None
    last_failure: str | None = None
    updated_at: datetime

    @classmethod
    def build(cls, row: CreditAutoRecharge) -> AutoRechargeOut:
        return cls(
            id=row.id,
            customer_id=row.customer_id,
            currency=row.currency,
            below_balance=row.below_balance,
            recharge_amount=row.recharge_amount,
            cost=row.cost if row.cost is not None else row.recharge_amount,
            monthly_cap=row.monthly_cap,
            tax_rate_id=row.tax_rate_id,
            paused_until=row.paused_until,
            last_failure=row.last_failure,
            updated_at=row.updated_at,
        )


class CreditRechargeOut(Schema):
    id: str
    auto_recharge_id: str
    customer_id: str
    currency: str
    number: int
    status: RechargeStatus
    amount: ExactNumber
    charged: ExactNumber
    balance_before: ExactNumber
    top_up_id: str | None = None
    invoice_id: str | None = None
    failure_message: str | None = None
    created_at: datetime
    completed_at: datetime | None = None

    @classmethod
    def build(cls, row: CreditRecharge) -> CreditRechargeOut:
        return cls(
            id=row.id,
            auto_recharge_id=row.auto_recharge_id,
            customer_id=row.customer_id,
            currency=row.currency,
            number=row.number,
            status=row.status,
            amount=row.amount,
            charged=row.charged,
            balance_before=row.balance_before,
            top_up_id=row.top_up_id,
            invoice_id=row.invoice_id,
            failure_message=row.failure_message,
            created_at=row.created_at,
            completed_at=row.completed_at,
        )


class CreditRechargesOut(Schema):
    items: list[CreditRechargeOut]
