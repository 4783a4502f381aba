"""The neutral EN 16931 model: what both syntaxes write, in the standard's terms (BT-n are
its business terms, BG-n its groups). Amounts are exact decimals already rounded to the
currency's minor unit; rates are percentages (20 for 20 %)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

# UNTDID 1001: 380 commercial invoice, 381 credit note.
INVOICE = "380"
CREDIT_NOTE = "381"
GUIDELINE = "urn:cen.eu:en16931:2017"
# UN/ECE Recommendation 20: "one" (a unit without a dimension).
UNIT = "C62"

CategoryCode = Literal["S", "Z", "E", "AE", "O"]


@dataclass(frozen=True)
class Address:
    """BG-5 / BG-8: only the country (BT-40 / BT-55) is mandatory."""

    country: str
    line1: str | None = None
    line2: str | None = None
    town: str | None = None
    postcode: str | None = None
    subdivision: str | None = None


@dataclass(frozen=True)
class Party:
    """The seller (BG-4) or the buyer (BG-7)."""

    name: str
    address: Address
    vat_id: str | None = None  # BT-31 / BT-48, with its country prefix
    tax_registration_id: str | None = None  # BT-32: the seller's other tax identifier
    legal_id: str | None = None  # BT-30: the seller's company number
    # BT-34 / BT-49: the electronic address (CEF EAS scheme, identifier) Peppol routes to.
    endpoint: tuple[str, str] | None = None


@dataclass(frozen=True)
class TaxCategory:
    """BT-151/BT-152 on a line, BT-118/BT-119 in the breakdown. `rate` is None for O (not
    subject to VAT), whose rate the standard forbids."""

    code: CategoryCode
    rate: Decimal | None
    exemption_reason: str | None = None  # BT-120
    exemption_code: str | None = None  # BT-121


@dataclass(frozen=True)
class Period:
    start: date
    end: date


@dataclass(frozen=True)
class Line:
    """BG-25. `price` (BT-146) is never negative: a negative amount has a negative quantity."""

    id: str  # BT-126
    name: str  # BT-153
    description: str | None  # BT-154
    quantity: Decimal  # BT-129
    price: Decimal  # BT-146, net, per one unit (BT-149 base quantity 1)
    net_amount: Decimal  # BT-131
    category: TaxCategory
    period: Period | None = None  # BG-26
    unit_code: str = UNIT  # BT-130


@dataclass(frozen=True)
class TaxSubtotal:
    """BG-23: one per category and rate."""

    category: TaxCategory
    taxable_amount: Decimal  # BT-116
    tax_amount: Decimal  # BT-117


@dataclass(frozen=True)
class Totals:
    """BG-22. Tally has no document-level allowances or charges (discounts and prepaid
    credits are lines), so BT-107/BT-108 are zero and BT-109 = BT-106."""

    line_total: Decimal  # BT-106
    tax_exclusive: Decimal  # BT-109
    tax: Decimal  # BT-110
    tax_inclusive: Decimal  # BT-112
    prepaid: Decimal  # BT-113: payments and credit notes applied
    payable: Decimal  # BT-115
    allowances: Decimal = Decimal(0)  # BT-107
    charges: Decimal = Decimal(0)  # BT-108


@dataclass(frozen=True)
class PrecedingInvoice:
    """BG-3: the invoice a credit note credits."""

    number: str  # BT-25
    issue_date: date | None  # BT-26


@dataclass(frozen=True)
class EInvoice:
    type_code: str  # BT-3: INVOICE or CREDIT_NOTE
    number: str  # BT-1
    issue_date: date  # BT-2
    currency: str  # BT-5
    seller: Party
    buyer: Party
    lines: list[Line]
    tax_subtotals: list[TaxSubtotal]
    totals: Totals
    due_date: date | None = None  # BT-9
    payment_terms: str | None = None  # BT-20
    billing_period: Period | None = None  # BG-14
    purchase_order: str | None = None  # BT-13
    buyer_reference: str | None = None  # BT-10
    preceding_invoice: PrecedingInvoice | None = None  # BG-3
    notes: list[str] = field(default_factory=list)  # BT-22
    decimals: int = 2  # the currency's minor-unit places

    @property
    def is_credit_note(self) -> bool:
        return self.type_code == CREDIT_NOTE
