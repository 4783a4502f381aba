"""Credit bodies in Sequence's shapes: `CreateCreditGrantRequest`, `CreditGrant` (get and
list; `CreditGrantResponse` for create and delete is the same minus optional fields),
`CreditBalancesReply` and `CreditGrantsResponse`.

Grant `amount` and `costOfCredit` are JSON numbers in Sequence's schema: read without floats
(the endpoint parses the body itself) and written as exact numbers. The balances reply has
decimal strings, as Sequence's does.

Tally's extensions: `creditsPerCurrencyUnit` (a wallet's conversion: 10 credits per dollar
shows 434.2 credits as $43.42), `walletValue`/`walletCurrency` where a conversion applies,
`invoiceId` (the draft invoice `createInvoice` made), a grant's `balance`, `deletedAt`, and
a transaction's `entryType` (the ledger's GRANT, DEBIT, RESTORE, EXPIRY, ROLLOVER, REVOKE).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field, WithJsonSchema

from tally.api.schemas import Schema
from tally.api.types import Currency
from tally.models import CreditUnitType, LedgerEntryType

# A JSON number, held exactly (the endpoint parses the body without floats).
ExactNumber = Annotated[
    Decimal,
    Field(allow_inf_nan=False, max_digits=30, decimal_places=12),
    WithJsonSchema({"type": "number"}),
]
Id = Annotated[str, Field(min_length=1, max_length=36)]
Day = Annotated[date, Field(ge=date(1970, 1, 1), le=date(2999, 12, 31))]


class CreditType(StrEnum):
    CASH = "CASH"
    USAGE = "USAGE"


class TransactionType(StrEnum):
    DEBIT = "DEBIT"
    CREDIT = "CREDIT"


# --- requests --------------------------------------------------------------------------------


class CreditGrantCreate(Schema):
    """Sequence's CreateCreditGrantRequest, plus `creditsPerCurrencyUnit`."""

    sequence_account_id: str | None = Field(
        default=None, max_length=36, description="The caller's account, if given."
    )
    customer_id: Id
    name: str = Field(min_length=1, max_length=500, description="Shown on invoice lines.")
    credit_unit_type: CreditUnitType
    currency: Currency
    metric_id: Id | None = Field(default=None, description="METRIC grants: a usage metric.")
    amount: ExactNumber = Field(gt=0, description="Credits granted.")
    cost_of_credit: ExactNumber | None = Field(
        default=None, ge=0, description="Money, in the currency's minor unit at most."
    )
    effective_date: Day | None = Field(
        default=None, description="First usable day. Default: today, in the account's zone."
    )
    expiry_date: Day | None = Field(
        default=None, description="Last usable day (inclusive); none: never expires."
    )
    create_invoice: bool = Field(
        default=False, description="A DRAFT invoice for costOfCredit, answered as invoiceId."
    )
    tax_rate_id: Id | None = Field(default=None, description="The tax of that invoice's line.")
    credits_per_currency_unit: ExactNumber | None = Field(
        default=None,
        gt=0,
        description="Tally: credits per unit of `currency`, to show a wallet's money value.",
    )


# --- responses -------------------------------------------------------------------------------


class IntegrationIdOut(Schema):
    service: str
    id: str
    is_pending: bool


class CreditGrantOut(Schema):
    """Sequence's CreditGrant (numbers exact), plus Tally's extensions."""

    id: str
    sequence_account_id: str
    customer_id: str
    name: str
    credit_unit_type: CreditUnitType
    currency: str
    metric_id: str | None = None
    amount: ExactNumber
    cost_of_credit: ExactNumber
    tax_rate_id: str | None = None
    effective_date: date
    expiry_date: date | None = None
    created_at: datetime
    credit_note_id: str | None = None
    integration_ids: list[IntegrationIdOut] = Field(default_factory=list)
    credits_per_currency_unit: ExactNumber | None = None
    invoice_id: str | None = None
    balance: ExactNumber = Field(description="Tally: the sum of the grant's ledger entries.")
    deleted_at: datetime | None = None


class BalanceGrantOut(Schema):
    """Sequence's CreditGrant2: a grant within a balance (amounts as decimal strings)."""

    id: str
    sequence_account_id: str
    customer_id: str
    type: CreditType
    currency: str
    metric_id: str | None = None
    name: str
    original_amount: str
    current_balance: str
    expiry_date: date | None = None
    cost_of_credit: str
    tax_rate_id: str | None = None
    effective_date: date
    created_at: datetime
    credits_per_currency_unit: str | None = None
    wallet_value: str | None = None


class TransactionOut(Schema):
    """Sequence's CreditTransaction: one ledger entry; a negative one is a DEBIT."""

    id: str
    grant_id: str
    reason: str | None = None
    invoice_id: str | None = None
    billing_run_id: str | None = None
    type: TransactionType
    amount: str
    date: date
    entry_type: LedgerEntryType


class CreditBalanceOut(Schema):
    """Sequence's CreditBalance: per currency (CASH) or per metric (USAGE)."""

    id: str
    type: CreditType
    name: str
    balance: str
    grants: list[BalanceGrantOut]
    transactions: list[TransactionOut]
    wallet_value: str | None = None
    wallet_currency: str | None = None


class CreditBalancesOut(Schema):
    items: list[CreditBalanceOut]


class GrantItemOut(Schema):
    """Sequence's CreditGrantResponseItem (numbers exact)."""

    id: str
    name: str
    grant_amount: ExactNumber
    balance: ExactNumber
    issue_date: date
    expiry_date: date | None = None


class GrantItemsOut(Schema):
    items: list[GrantItemOut]
