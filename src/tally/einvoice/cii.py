"""The e-invoice as UN/CEFACT Cross Industry Invoice (CII D16B), Factur-X/ZUGFeRD's EN 16931
profile: the XML a Factur-X PDF embeds.

Built with `drafthorse`, which knows CII's element order and checks the result against the
Factur-X EN 16931 XSD when it serializes (a document it cannot make valid is an error here,
never a file sent)."""

from __future__ import annotations

from decimal import Decimal

from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import PostalTradeAddress, TaxRegistration, TradeParty
from drafthorse.models.payment import PaymentTerms
from drafthorse.models.trade import TradeSettlement
from drafthorse.models.tradelines import LineItem

from tally.core.wire import plain
from tally.einvoice.model import (
    GUIDELINE,
    Address,
    EInvoice,
    Line,
    Party,
    TaxCategory,
    TaxSubtotal,
)

SCHEMA = "FACTUR-X_EN16931"


def _amount(value: Decimal, decimals: int) -> Decimal:
    """An amount with the currency's places ("150.00", JPY "1500"), never "-0.00"."""
    rounded = value.quantize(Decimal(1).scaleb(-decimals))
    return rounded if rounded else abs(rounded)


def _number(value: Decimal) -> Decimal:
    """A quantity, price or rate without trailing zeros or exponent."""
    return Decimal(plain(value))


def _address(target: PostalTradeAddress, address: Address) -> None:
    if address.postcode:
        target.postcode = address.postcode
    if address.line1:
        target.line_one = address.line1
    if address.line2:
        target.line_two = address.line2
    if address.town:
        target.city_name = address.town
    target.country_id = address.country
    if address.subdivision:
        target.country_subdivision = address.subdivision


def _party(target: TradeParty, party: Party, *, seller: bool) -> None:
    target.name = party.name
    if seller and party.legal_id:
        target.legal_organization.id = party.legal_id
    _address(target.address, party.address)
    if party.endpoint:
        target.electronic_address.uri_ID = party.endpoint
    if party.vat_id:
        registration = TaxRegistration()
        registration.id = ("VA", party.vat_id)
        target.tax_registrations.add(registration)
    if seller and party.tax_registration_id:
        registration = TaxRegistration()
        registration.id = ("FC", party.tax_registration_id)
        target.tax_registrations.add(registration)


def _category(target: ApplicableTradeTax, category: TaxCategory) -> None:
    target.type_code = "VAT"
    target.category_code = category.code
    if category.rate is not None:
        target.rate_applicable_percent = _number(category.rate)


def _line(line: Line, decimals: int) -> LineItem:
    item = LineItem()
    item.document.line_id = line.id
    item.product.name = line.name
    if line.description:
        item.product.description = line.description
    item.agreement.net.amount = _number(line.price)
    item.delivery.billed_quantity = (_number(line.quantity), line.unit_code)
    _category(item.settlement.trade_tax, line.category)
    if line.period is not None:
        item.settlement.period.start = line.period.start
        item.settlement.period.end = line.period.end
    item.settlement.monetary_summation.total_amount = _amount(line.net_amount, decimals)
    return item


def _tax(subtotal: TaxSubtotal, places: int) -> ApplicableTradeTax:
    tax = ApplicableTradeTax()
    tax.calculated_amount = _amount(subtotal.tax_amount, places)
    tax.type_code = "VAT"
    if subtotal.category.exemption_reason:
        tax.exemption_reason = subtotal.category.exemption_reason
    tax.basis_amount = _amount(subtotal.taxable_amount, places)
    tax.category_code = subtotal.category.code
    if subtotal.category.exemption_code:
        tax.exemption_reason_code = subtotal.category.exemption_code
    if subtotal.category.rate is not None:
        tax.rate_applicable_percent = _number(subtotal.category.rate)
    return tax


def _settlement(settlement: TradeSettlement, invoice: EInvoice) -> None:
    places = invoice.decimals
    settlement.currency_code = invoice.currency
    for subtotal in invoice.tax_subtotals:
        settlement.trade_tax.add(_tax(subtotal, places))
    if invoice.billing_period is not None:
        settlement.period.start = invoice.billing_period.start
        settlement.period.end = invoice.billing_period.end
    if invoice.payment_terms or invoice.due_date:
        terms = PaymentTerms()
        terms.description = invoice.payment_terms or ""
        if invoice.due_date is not None:
            terms.due = invoice.due_date
        settlement.terms.add(terms)

    totals = invoice.totals
    summation = settlement.monetary_summation
    summation.line_total = _amount(totals.line_total, places)
    summation.charge_total = _amount(totals.charges, places)
    summation.allowance_total = _amount(totals.allowances, places)
    summation.tax_basis_total = (_amount(totals.tax_exclusive, places), None)
    summation.tax_total = (_amount(totals.tax, places), invoice.currency)
    summation.grand_total = (_amount(totals.tax_inclusive, places), None)
    summation.prepaid_total = _amount(totals.prepaid, places)
    summation.due_amount = _amount(totals.payable, places)

    if invoice.preceding_invoice is not None:
        reference = settlement.invoice_referenced_document
        reference.issuer_assigned_id = invoice.preceding_invoice.number
        if invoice.preceding_invoice.issue_date is not None:
            reference.issue_date_time = invoice.preceding_invoice.issue_date


def cii_xml(invoice: EInvoice) -> bytes:
    """The CII document, checked against the Factur-X EN 16931 XSD."""
    places = invoice.decimals
    doc = Document()
    doc.context.guideline_parameter.id = GUIDELINE
    doc.header.id = invoice.number
    doc.header.type_code = invoice.type_code
    doc.header.issue_date_time = invoice.issue_date
    for text in invoice.notes:
        note = IncludedNote()
        note.content = text
        doc.header.notes.add(note)

    for line in invoice.lines:
        doc.trade.items.add(_line(line, places))

    agreement = doc.trade.agreement
    if invoice.buyer_reference:
        agreement.buyer_reference = invoice.buyer_reference
    _party(agreement.seller, invoice.seller, seller=True)
    _party(agreement.buyer, invoice.buyer, seller=False)
    if invoice.purchase_order:
        agreement.buyer_order.issuer_assigned_id = invoice.purchase_order

    _settlement(doc.trade.settlement, invoice)
    xml: bytes = doc.serialize(schema=SCHEMA)
    return xml
