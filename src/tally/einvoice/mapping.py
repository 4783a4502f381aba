"""From Tally's rows to the EN 16931 model (pure: no query, no I/O).

Decisions (ARCHITECTURE.md, "E-invoices: decisions"):
- Every Tally line is an invoice line, discounts and prepaid credits included: they are
  negative lines (a negative quantity at a non-negative price, as BR-27 wants), taxed at the
  rate of what they reduce, exactly as the API's totals count them. So BT-106 = BT-109 is the
  API's `netTotal`, BT-110 its `totalTax`, BT-112 its `grossTotal`, with no document-level
  allowance; BT-113 (prepaid) is what payments and applied credit notes took off, and BT-115
  the invoice's `balance` (its amount due).
- Tax categories: a rate above zero is S; at zero rate a TAXED customer's line is Z, a
  REVERSE_CHARGED one's AE (VATEX-EU-AE), a TAX_EXEMPT one's E. A seller with no tax
  registration cannot charge VAT: its invoices are O ("not subject to VAT") when they carry
  no tax, and refused (naming the missing registration) when they do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from tally.core.money import minor_unit, round_money
from tally.core.wire import ABSOLUTE
from tally.einvoice.model import (
    CREDIT_NOTE,
    INVOICE,
    Address,
    CategoryCode,
    EInvoice,
    Line,
    Party,
    Period,
    PrecedingInvoice,
    TaxCategory,
    TaxSubtotal,
    Totals,
)
from tally.einvoice.queries import Rows
from tally.exceptions import IncompleteEInvoice, NotIssued
from tally.models import CreditNote, InvoiceStatus, TaxRegistration, TaxStatus
from tally.models.billed import BilledLine

ZERO = Decimal(0)
HUNDRED = Decimal(100)

REVERSE_CHARGE = "Reverse charge: the customer accounts for the tax on this supply."
EXEMPT = "The customer is exempt from tax."
NOT_SUBJECT = "Not subject to VAT: the seller is not registered for it."

# CEF EAS codes of VAT numbers, by country: a Peppol endpoint (BT-34/BT-49) made of the
# party's VAT number. Countries without one fall back to the buyer's email (EM).
_VAT_EAS = {
    "AD": "9922", "AL": "9923", "AT": "9914", "BA": "9924", "BE": "9925", "BG": "9926",
    "CH": "9927", "CY": "9928", "CZ": "9929", "DE": "9930", "EE": "9931", "ES": "9920",
    "FR": "9957", "GB": "9932", "GR": "9933", "HR": "9934", "HU": "9910", "IE": "9935",
    "LI": "9936", "LT": "9937", "LU": "9938", "LV": "9939", "MC": "9940", "ME": "9941",
    "MK": "9942", "MT": "9943", "NL": "9944", "PL": "9945", "PT": "9946", "RO": "9947",
    "RS": "9948", "SI": "9949", "SK": "9950", "SM": "9951", "TR": "9952", "VA": "9953",
}  # fmt: skip


class _Missing:
    """What the standard needs and the rows lack, gathered to be named all at once."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.items.append({"field": field, "message": message})

    def raise_any(self, title: str) -> None:
        if self.items:
            named = "; ".join(f"{item['field']}: {item['message']}" for item in self.items)
            raise IncompleteEInvoice(
                f"{title} cannot be an EN 16931 e-invoice: {named}.", details=self.items
            )


def _number(rows: Rows) -> tuple[str, str]:
    document = rows.document
    if isinstance(document, CreditNote):
        return "Credit note", document.credit_note_number or ""
    return "Invoice", document.invoice_number or ""


def _check_issued(rows: Rows, title: str, number: str) -> None:
    status = rows.document.status
    if status is InvoiceStatus.VOIDED:
        raise NotIssued(f"{title} {number} is voided: it is no longer a document to send.")
    if not number or status in (InvoiceStatus.DRAFT, InvoiceStatus.IN_PROGRESS):
        raise NotIssued(
            f"{title} {rows.document.id} is not issued: finalize it first (an e-invoice "
            "needs its number, BT-1)."
        )


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _address(raw: dict[str, Any] | None) -> Address | None:
    country = _text((raw or {}).get("country"))
    if raw is None or country is None:
        return None
    return Address(
        country=country.upper(),
        line1=_text(raw.get("line1")),
        line2=_text(raw.get("line2")),
        town=_text(raw.get("town")),
        postcode=_text(raw.get("postcode")),
        subdivision=_text(raw.get("state")),
    )


def vat_prefixed(registration: TaxRegistration) -> str:
    """A VAT identifier with its country prefix (BR-CO-9): Greece's is EL."""
    prefix = "EL" if registration.country == "GR" else registration.country
    identifier = registration.tax_identifier.replace(" ", "")
    return identifier if identifier[:2].upper() == prefix else f"{prefix}{identifier}"


def _pick(registrations: Sequence[TaxRegistration], country: str | None) -> TaxRegistration | None:
    """The party's registration of its own country, else its first."""
    for registration in registrations:
        if registration.country == country:
            return registration
    return registrations[0] if registrations else None


def _endpoint(vat_id: str | None, country: str | None, email: str | None) -> tuple[str, str] | None:
    if vat_id and country in _VAT_EAS:
        return _VAT_EAS[country], vat_id
    if email:
        return "EM", email
    return None


def _seller(rows: Rows, missing: _Missing) -> Party | None:
    account = rows.account
    address = _address(account.address)
    if address is None:
        missing.add(
            "merchant.address.country",
            "the merchant's address with its country (PUT /api/sequence-accounts/{id})",
        )
        return None
    vats = [row for row in rows.seller_registrations if row.scheme == "VAT"]
    others = [row for row in rows.seller_registrations if row.scheme != "VAT"]
    vat = _pick(vats, address.country)
    other = _pick(others, address.country)
    vat_id = vat_prefixed(vat) if vat else None
    return Party(
        name=account.name,
        address=address,
        vat_id=vat_id,
        tax_registration_id=other.tax_identifier if other and not vat else None,
        legal_id=_text(account.company_number),
        endpoint=_endpoint(vat_id, vat.country if vat else None, None),
    )


def _buyer(rows: Rows, missing: _Missing) -> Party | None:
    document = rows.document
    address = _address(document.customer_billing_address)
    if address is None:
        missing.add(
            "customerBillingAddress.country", "the customer's billing address with its country"
        )
        return None
    vat_id = None
    vat_country = None
    if isinstance(document, CreditNote) and document.customer_tax_id:
        vat_id, vat_country = document.customer_tax_id.replace(" ", ""), address.country
    else:
        vats = [row for row in rows.buyer_registrations if row.scheme == "VAT"]
        vat = _pick(vats, address.country)
        if vat is not None:
            vat_id, vat_country = vat_prefixed(vat), vat.country
    emails = [str(email) for email in document.customer_emails or [] if email]
    return Party(
        name=document.customer_legal_company_name,
        address=address,
        vat_id=vat_id,
        endpoint=_endpoint(vat_id, vat_country, emails[0] if emails else None),
    )


def _percent(tax_rate: Decimal) -> Decimal:
    return tax_rate * HUNDRED


def _category(line: BilledLine, tax_status: str, registered: bool) -> TaxCategory:
    if not registered:
        return TaxCategory("O", None, NOT_SUBJECT)
    if line.tax_rate != 0:
        return TaxCategory("S", _percent(line.tax_rate))
    if tax_status == TaxStatus.REVERSE_CHARGED:
        return TaxCategory("AE", ZERO, REVERSE_CHARGE, "VATEX-EU-AE")
    if tax_status == TaxStatus.TAX_EXEMPT:
        return TaxCategory("E", ZERO, EXEMPT)
    return TaxCategory("Z", ZERO)


def _quantity_and_price(line: BilledLine, currency: str) -> tuple[Decimal, Decimal]:
    """BT-129 and BT-146 so that quantity x price is the line's net amount: the line's own
    when they make it (a negative rate moves its sign to the quantity), else one unit (or
    minus one) at the net amount (percentage lines, whose quantity is money)."""
    quantity, rate, net = line.quantity, line.rate, line.net_total
    if line.rate_display == ABSOLUTE and round_money(quantity * rate, currency) == net:
        return (-quantity, -rate) if rate < 0 else (quantity, rate)
    return (Decimal(-1) if net < 0 else Decimal(1)), abs(net)


def _lines(
    lines: Iterable[BilledLine], currency: str, tax_status: str, registered: bool
) -> list[Line]:
    result = []
    for position, line in enumerate(sorted(lines, key=lambda line: line.index), start=1):
        quantity, price = _quantity_and_price(line, currency)
        period = None
        if line.service_period_start and line.service_period_end:
            period = Period(line.service_period_start, line.service_period_end)
        result.append(
            Line(
                id=str(position),
                name=line.title,
                description=_text(line.description),
                quantity=quantity,
                price=price,
                net_amount=line.net_total,
                category=_category(line, tax_status, registered),
                period=period,
            )
        )
    return result


def _subtotals(lines: Sequence[Line], taxes: Sequence[Decimal]) -> list[TaxSubtotal]:
    """BG-23: one per category and rate, in the order they first appear; the tax is the sum
    of the lines' own, which is the rate's taxable amount x rate rounded once (Tally shares
    each rate's tax among its lines: `engine/tax.py`), as BR-CO-17 wants."""
    sums: dict[tuple[str, Decimal | None], tuple[TaxCategory, Decimal, Decimal]] = {}
    for line, tax in zip(lines, taxes, strict=True):
        key = (line.category.code, line.category.rate)
        category, taxable, total = sums.get(key, (line.category, ZERO, ZERO))
        sums[key] = (category, taxable + line.net_amount, total + tax)
    return [TaxSubtotal(category, taxable, tax) for category, taxable, tax in sums.values()]


def _reverse_charge_needs(lines: Sequence[Line], buyer: Party, missing: _Missing) -> None:
    if any(line.category.code == "AE" for line in lines) and not buyer.vat_id:
        missing.add(
            "customer.taxRegistration",
            "the customer's VAT number: a reverse-charged invoice names it (BR-AE-2)",
        )


def e_invoice(rows: Rows) -> EInvoice:
    """The document as EN 16931 sees it. Refuses (`NotIssued`) a draft or a voided document
    and names everything the standard needs and the rows lack (`IncompleteEInvoice`)."""
    title, number = _number(rows)
    _check_issued(rows, title, number)
    document = rows.document
    missing = _Missing()
    currency = document.currency
    decimals = -minor_unit(currency).as_tuple().exponent  # type: ignore[operator]
    if decimals > 2:
        missing.add("currency", f"{currency} has {decimals} decimals; EN 16931 allows 2 at most")
    if document.issue_date is None:
        missing.add("issueDate", "the issue date (BT-2)")
    seller = _seller(rows, missing)
    buyer = _buyer(rows, missing)
    registered = bool(rows.seller_registrations)
    billed: list[BilledLine] = list(document.line_items)
    ordered = sorted(billed, key=lambda line: line.index)
    if not registered and any(line.total_tax != 0 for line in ordered):
        missing.add(
            "merchant.taxRegistration",
            "the merchant's tax registration: an invoice that charges tax names the seller's "
            "VAT number (POST /api/tax-registrations)",
        )
    if not ordered:
        missing.add("lineItems", "at least one line (BG-25)")
    lines = _lines(ordered, currency, rows.tax_status, registered)
    if buyer is not None:
        _reverse_charge_needs(lines, buyer, missing)
        if not registered and buyer.vat_id:  # BR-O-2: category O names no buyer VAT number
            buyer = Party(buyer.name, buyer.address, endpoint=buyer.endpoint)
    missing.raise_any(f"{title} {number}")
    assert seller is not None and buyer is not None and document.issue_date is not None

    if isinstance(document, CreditNote):
        prepaid, payable = ZERO, document.gross_total
        terms = "Credited to the customer: nothing to pay."
        due_date = None
    else:
        payable = document.balance
        prepaid = document.gross_total - document.balance
        days = document.payment_term_days
        terms = (
            f"Payment terms: {days if days is not None else rows.account.payment_terms_days} days"
        )
        due_date = document.due_date
    notes = [text for text in (_text(document.memo),) if text]
    if not isinstance(document, CreditNote) and _text(document.credit_balances):
        notes.append(str(document.credit_balances))
    period = None
    if document.billing_period_start and document.billing_period_end:
        period = Period(document.billing_period_start, document.billing_period_end)
    preceding = None
    if rows.credited is not None and rows.credited.number:
        preceding = PrecedingInvoice(rows.credited.number, rows.credited.issue_date)
    buyer_reference = None if isinstance(document, CreditNote) else _text(document.reference)
    return EInvoice(
        type_code=CREDIT_NOTE if isinstance(document, CreditNote) else INVOICE,
        number=number,
        issue_date=document.issue_date,
        currency=currency,
        seller=seller,
        buyer=buyer,
        lines=lines,
        tax_subtotals=_subtotals(lines, [line.total_tax for line in ordered]),
        totals=Totals(
            line_total=sum((line.net_amount for line in lines), ZERO),
            tax_exclusive=document.net_total,
            tax=document.total_tax,
            tax_inclusive=document.gross_total,
            prepaid=prepaid,
            payable=payable,
        ),
        due_date=due_date,
        payment_terms=terms,
        billing_period=period,
        purchase_order=_text(document.purchase_order_number),
        buyer_reference=buyer_reference or _text(document.purchase_order_number),
        preceding_invoice=preceding,
        notes=notes,
        decimals=decimals,
    )


__all__ = ["CategoryCode", "e_invoice", "vat_prefixed"]
