"""The e-invoice as OASIS UBL 2.1 (an `Invoice`, or a `CreditNote`), Peppol BIS Billing 3.0.

Written by hand with lxml: PyPI has no maintained UBL builder (the packages there are
unmaintained or generate whole-schema bindings that still leave the EN 16931 mapping to us),
and the mapping is the work anyway. UBL is order-sensitive: each element is appended in the
order the UBL 2.1 schema sequences it; the tests validate every document against that XSD and
the CEN rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from tally.core.wire import plain
from tally.einvoice.model import Address, EInvoice, Line, Party, TaxCategory

CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

_ROOT = {
    "Invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "CreditNote": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


class _Writer:
    """Appends cac/cbc elements; amounts carry the document's currency and places."""

    def __init__(self, currency: str, decimals: int) -> None:
        self.currency = currency
        self.places = Decimal(1).scaleb(-decimals)

    @staticmethod
    def cac(parent: etree._Element, name: str) -> etree._Element:
        return etree.SubElement(parent, f"{{{CAC}}}{name}")

    @staticmethod
    def cbc(parent: etree._Element, name: str, text: str, **attributes: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{CBC}}}{name}", attributes)
        element.text = text
        return element

    def amount(self, parent: etree._Element, name: str, value: Decimal) -> None:
        rounded = value.quantize(self.places)
        text = format(rounded if rounded else abs(rounded), "f")
        self.cbc(parent, name, text, currencyID=self.currency)

    def day(self, parent: etree._Element, name: str, value: date) -> None:
        self.cbc(parent, name, value.isoformat())


def _address(w: _Writer, parent: etree._Element, address: Address) -> None:
    postal = w.cac(parent, "PostalAddress")
    if address.line1:
        w.cbc(postal, "StreetName", address.line1)
    if address.line2:
        w.cbc(postal, "AdditionalStreetName", address.line2)
    if address.town:
        w.cbc(postal, "CityName", address.town)
    if address.postcode:
        w.cbc(postal, "PostalZone", address.postcode)
    if address.subdivision:
        w.cbc(postal, "CountrySubentity", address.subdivision)
    w.cbc(w.cac(postal, "Country"), "IdentificationCode", address.country)


def _tax_scheme(w: _Writer, parent: etree._Element, company_id: str, scheme: str) -> None:
    tax_scheme = w.cac(parent, "PartyTaxScheme")
    w.cbc(tax_scheme, "CompanyID", company_id)
    w.cbc(w.cac(tax_scheme, "TaxScheme"), "ID", scheme)


def _party(w: _Writer, parent: etree._Element, role: str, party: Party, *, seller: bool) -> None:
    node = w.cac(w.cac(parent, role), "Party")
    if party.endpoint:
        scheme, identifier = party.endpoint
        w.cbc(node, "EndpointID", identifier, schemeID=scheme)
    _address(w, node, party.address)
    if party.vat_id:
        _tax_scheme(w, node, party.vat_id, "VAT")
    if seller and party.tax_registration_id:  # BT-32: a tax scheme other than VAT
        _tax_scheme(w, node, party.tax_registration_id, "TAX")
    legal = w.cac(node, "PartyLegalEntity")
    w.cbc(legal, "RegistrationName", party.name)
    if seller and party.legal_id:
        w.cbc(legal, "CompanyID", party.legal_id)


def _category(
    w: _Writer, parent: etree._Element, name: str, category: TaxCategory, *, reasons: bool
) -> None:
    node = w.cac(parent, name)
    w.cbc(node, "ID", category.code)
    if category.rate is not None:
        w.cbc(node, "Percent", plain(category.rate))
    if reasons and category.exemption_code:
        w.cbc(node, "TaxExemptionReasonCode", category.exemption_code)
    if reasons and category.exemption_reason:
        w.cbc(node, "TaxExemptionReason", category.exemption_reason)
    w.cbc(w.cac(node, "TaxScheme"), "ID", "VAT")


def _line(w: _Writer, parent: etree._Element, line: Line, *, credit_note: bool) -> None:
    node = w.cac(parent, "CreditNoteLine" if credit_note else "InvoiceLine")
    w.cbc(node, "ID", line.id)
    quantity = "CreditedQuantity" if credit_note else "InvoicedQuantity"
    w.cbc(node, quantity, plain(line.quantity), unitCode=line.unit_code)
    w.amount(node, "LineExtensionAmount", line.net_amount)
    if line.period is not None:
        period = w.cac(node, "InvoicePeriod")
        w.day(period, "StartDate", line.period.start)
        w.day(period, "EndDate", line.period.end)
    item = w.cac(node, "Item")
    if line.description:
        w.cbc(item, "Description", line.description)
    w.cbc(item, "Name", line.name)
    _category(w, item, "ClassifiedTaxCategory", line.category, reasons=False)
    price = w.cac(node, "Price")
    w.cbc(price, "PriceAmount", plain(line.price), currencyID=w.currency)


def ubl_xml(invoice: EInvoice) -> bytes:
    """The UBL 2.1 Invoice (or CreditNote), Peppol BIS Billing 3.0's customization."""
    credit_note = invoice.is_credit_note
    kind = "CreditNote" if credit_note else "Invoice"
    w = _Writer(invoice.currency, invoice.decimals)
    root = etree.Element(
        f"{{{_ROOT[kind]}}}{kind}", nsmap={None: _ROOT[kind], "cac": CAC, "cbc": CBC}
    )
    w.cbc(root, "CustomizationID", CUSTOMIZATION)
    w.cbc(root, "ProfileID", PROFILE)
    w.cbc(root, "ID", invoice.number)
    w.day(root, "IssueDate", invoice.issue_date)
    if invoice.due_date is not None and not credit_note:
        w.day(root, "DueDate", invoice.due_date)
    w.cbc(root, f"{kind}TypeCode", invoice.type_code)
    for text in invoice.notes:
        w.cbc(root, "Note", text)
    w.cbc(root, "DocumentCurrencyCode", invoice.currency)
    if invoice.buyer_reference:
        w.cbc(root, "BuyerReference", invoice.buyer_reference)
    if invoice.billing_period is not None:
        period = w.cac(root, "InvoicePeriod")
        w.day(period, "StartDate", invoice.billing_period.start)
        w.day(period, "EndDate", invoice.billing_period.end)
    if invoice.purchase_order:
        w.cbc(w.cac(root, "OrderReference"), "ID", invoice.purchase_order)
    if invoice.preceding_invoice is not None:
        reference = w.cac(w.cac(root, "BillingReference"), "InvoiceDocumentReference")
        w.cbc(reference, "ID", invoice.preceding_invoice.number)
        if invoice.preceding_invoice.issue_date is not None:
            w.day(reference, "IssueDate", invoice.preceding_invoice.issue_date)
    _party(w, root, "AccountingSupplierParty", invoice.seller, seller=True)
    _party(w, root, "AccountingCustomerParty", invoice.buyer, seller=False)
    if invoice.payment_terms:
        w.cbc(w.cac(root, "PaymentTerms"), "Note", invoice.payment_terms)

    tax_total = w.cac(root, "TaxTotal")
    w.amount(tax_total, "TaxAmount", invoice.totals.tax)
    for subtotal in invoice.tax_subtotals:
        node = w.cac(tax_total, "TaxSubtotal")
        w.amount(node, "TaxableAmount", subtotal.taxable_amount)
        w.amount(node, "TaxAmount", subtotal.tax_amount)
        _category(w, node, "TaxCategory", subtotal.category, reasons=True)

    totals = invoice.totals
    monetary = w.cac(root, "LegalMonetaryTotal")
    w.amount(monetary, "LineExtensionAmount", totals.line_total)
    w.amount(monetary, "TaxExclusiveAmount", totals.tax_exclusive)
    w.amount(monetary, "TaxInclusiveAmount", totals.tax_inclusive)
    w.amount(monetary, "AllowanceTotalAmount", totals.allowances)
    w.amount(monetary, "ChargeTotalAmount", totals.charges)
    w.amount(monetary, "PrepaidAmount", totals.prepaid)
    w.amount(monetary, "PayableAmount", totals.payable)

    for line in invoice.lines:
        _line(w, root, line, credit_note=credit_note)
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return xml
