"""Every kind of invoice Tally makes is a valid EN 16931 e-invoice in both syntaxes (the XML
schema and every fatal CEN rule), stating the API's own totals to the cent. Invoices are made
as merchants make them: billing schedules billed, one-off invoices, grants, credit notes."""

from decimal import Decimal
from typing import Any

from lxml import etree

from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import fixed, graduated
from tests.credits.billing_helpers import CreditMerchant, credit_lines, grant
from tests.einvoice.helpers import (
    NS,
    api_totals,
    customer_with_vat,
    issued_invoice,
    line,
    ok,
    totals,
    valid_both,
)
from tests.metering.helpers import event, send
from tests.support.api_client import ApiClient
from tests.support.en16931 import Syntax

D = Decimal


def finalized(api: ApiClient, invoice_id: str) -> dict[str, Any]:
    ok(api.post(f"/api/invoices/{invoice_id}/finalize"))
    return ok(api.get(f"/api/invoices/{invoice_id}"))


def valid_with_api_totals(
    api: ApiClient, document: dict[str, Any], *, credit_note: bool = False
) -> dict[Syntax, etree._Element]:
    """Both syntaxes valid, their totals the API's; the parsed documents."""
    path = f"/api/{'credit-notes' if credit_note else 'invoices'}/{document['id']}"
    documents = valid_both(api, path)
    expected = api_totals(document, credit_note=credit_note)
    for syntax, xml in documents.items():
        assert totals(xml, syntax) == expected, syntax
    return {syntax: etree.fromstring(xml) for syntax, xml in documents.items()}


def categories(root: etree._Element, syntax: Syntax) -> list[tuple[str, str]]:
    """The VAT breakdown's (category, rate) pairs."""
    if syntax == "cii":
        taxes = root.xpath(
            "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS
        )
        code, rate = "ram:CategoryCode", "ram:RateApplicablePercent"
        return [
            (t.findtext(code, namespaces=NS), t.findtext(rate, "", namespaces=NS)) for t in taxes
        ]
    subtotals = root.xpath("/*/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory", namespaces=NS)
    return [
        (t.findtext("cbc:ID", namespaces=NS), t.findtext("cbc:Percent", "", namespaces=NS))
        for t in subtotals
    ]


def test_a_monthly_billed_invoice(merchant: ApiClient) -> None:
    billing = Merchant(merchant)
    price = billing.price(fixed("49.99"), name="Platform fee")
    customer = billing.customer("Monthly Ltd")
    schedule = billing.schedule(customer, [price], "2024-01-01", "2024-12-31")
    billing.bill("2024-02-01")
    invoice = finalized(merchant, billing.invoice_for(schedule["id"], "2024-01-01")["id"])

    roots = valid_with_api_totals(merchant, invoice)

    assert D(invoice["grossTotal"]) == D("59.99")  # 49.99 + 10.00 tax (20 %)
    for syntax, root in roots.items():
        assert categories(root, syntax) == [("S", "20")]


def test_graduated_tiers_and_a_discount(merchant: ApiClient) -> None:
    billing = Merchant(merchant)
    metric = billing.usage_metric("Calls", "call", aggregationType="COUNT")
    tiers = [
        {"price": "1.00", "upperBound": "10", "fee": "0"},
        {"price": "0.50", "upperBound": "50", "fee": "2.00"},
        {"price": "0.25", "fee": "0"},
    ]
    price = billing.price(graduated(metric, tiers), name="Calls")
    customer = billing.customer("Tiered Ltd")
    discount = {
        "type": "PERCENTAGE",
        "amount": 15,
        "message": "15 % off",
        "separateLineItem": True,
    }
    phases = [{"priceIds": [price], "startDate": "2024-03-01", "endDate": "2024-03-31",
               "discounts": [discount]}]  # fmt: skip
    schedule = billing.schedule(customer, [price], "2024-03-01", "2024-03-31", phases=phases)
    send(merchant, *(event(customer, "2024-03-10T10:00:00Z", "call") for _ in range(63)))
    billing.bill("2024-04-01")
    invoice = finalized(merchant, billing.invoice_for(schedule["id"], "2024-03-01")["id"])
    kinds = {item["kind"] for item in invoice["lineItems"]}
    assert "DISCOUNT" in kinds, invoice["lineItems"]

    roots = valid_with_api_totals(merchant, invoice)

    # The discount is a negative line at a non-negative price (BR-27).
    ubl = roots["ubl"]
    quantities = ubl.xpath("//cac:InvoiceLine/cbc:InvoicedQuantity/text()", namespaces=NS)
    prices = ubl.xpath("//cac:InvoiceLine/cac:Price/cbc:PriceAmount/text()", namespaces=NS)
    assert any(D(q) < 0 for q in quantities)
    assert all(D(p) >= 0 for p in prices)


def test_a_reverse_charged_eu_customer(merchant: ApiClient) -> None:
    customer = customer_with_vat(
        merchant, "Kunde GmbH", "DE123456789", country="DE", taxStatus="REVERSE_CHARGED"
    )
    invoice = issued_invoice(merchant, customer["id"], [line("Consulting", "3", "400.00")])
    assert invoice["totalTax"] == "0.00"

    roots = valid_with_api_totals(merchant, invoice)

    for syntax, root in roots.items():
        assert categories(root, syntax) == [("AE", "0")]
    cii = roots["cii"]
    assert cii.xpath("string(//ram:ExemptionReasonCode)", namespaces=NS) == "VATEX-EU-AE"
    buyer_vat = "string(//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID)"
    assert cii.xpath(buyer_vat, namespaces=NS) == "DE123456789"
    seller_vat = "string(//cac:AccountingSupplierParty//cac:PartyTaxScheme/cbc:CompanyID)"
    assert roots["ubl"].xpath(seller_vat, namespaces=NS) == "GB123456789"


def test_a_tax_exempt_customer(merchant: ApiClient) -> None:
    customer = customer_with_vat(merchant, "Charity Trust", None, taxStatus="TAX_EXEMPT")
    invoice = issued_invoice(merchant, customer["id"], [line("Licences", "5", "80.00")])

    roots = valid_with_api_totals(merchant, invoice)

    for syntax, root in roots.items():
        assert categories(root, syntax) == [("E", "0")]
    assert roots["ubl"].xpath("string(//cbc:TaxExemptionReason)", namespaces=NS)


def test_two_tax_rates(merchant: ApiClient) -> None:
    customer = customer_with_vat(merchant, "Mixed Ltd", "GB111222333")
    lines = [
        line("Software", "1", "100.00", "0.2"),
        line("E-books", "3", "9.99", "0.05"),
        line("Support", "2", "33.33", "0.2"),
        line("Exports", "1", "10.00", "0"),
    ]
    invoice = issued_invoice(merchant, customer["id"], lines)

    roots = valid_with_api_totals(merchant, invoice)

    for syntax, root in roots.items():
        assert categories(root, syntax) == [("S", "20"), ("S", "5"), ("Z", "0")]


def test_a_jpy_invoice(merchant: ApiClient) -> None:
    customer = customer_with_vat(merchant, "Kabushiki", None, country="JP")
    lines = [line("Platform", "1", "15000", "0.1"), line("Seats", "3", "1234", "0.1")]
    invoice = issued_invoice(merchant, customer["id"], lines, currency="JPY")

    roots = valid_with_api_totals(merchant, invoice)

    assert invoice["grossTotal"] == "20572"  # 15000 + 3702 + 1500 + 370
    grand = "string(//ram:GrandTotalAmount)"
    assert roots["cii"].xpath(grand, namespaces=NS) == "20572"  # no decimals


def test_a_credit_note(merchant: ApiClient) -> None:
    customer = customer_with_vat(merchant, "Refunded Ltd", "GB444555666")
    invoice = issued_invoice(merchant, customer["id"], [line("Platform", "1", "300.00")])
    ok(merchant.post(f"/api/invoices/{invoice['id']}/mark-as-sent"))
    body = {"invoiceId": invoice["id"], "customerId": customer["id"], "currency": "GBP"}
    note = ok(merchant.post("/api/credit-notes", json=body), 201)
    refund = {"title": "Outage refund", "quantity": "1", "rate": "50.00", "taxRate": "0.2",
              "externalIds": []}  # fmt: skip
    ok(merchant.post(f"/api/credit-notes/{note['id']}/line-items", json=refund), 201)
    note = ok(merchant.post(f"/api/credit-notes/{note['id']}/finalize"))

    roots = valid_with_api_totals(merchant, note, credit_note=True)

    assert (
        roots["cii"].xpath("string(//rsm:ExchangedDocument/ram:TypeCode)", namespaces=NS) == "381"
    )
    assert roots["ubl"].tag.endswith("}CreditNote")
    credited = "string(//cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID)"
    assert roots["ubl"].xpath(credited, namespaces=NS) == invoice["invoiceNumber"]
    cii_credited = "string(//ram:InvoiceReferencedDocument/ram:IssuerAssignedID)"
    assert roots["cii"].xpath(cii_credited, namespaces=NS) == invoice["invoiceNumber"]


def test_prepaid_credits_applied(merchant: ApiClient) -> None:
    billing = CreditMerchant(merchant)
    metric, usage = billing.verifications("2.00")
    fee = billing.price({"pricingType": "FIXED", "price": "10.00"}, name="Platform fee")
    customer = billing.customer("Prepaid Ltd")
    schedule = billing.schedule(customer, [usage, fee], "2024-03-01", None)
    grant(merchant, customer, 3, name="Verification units", metric_id=metric)
    grant(merchant, customer, "5", name="Cash credit")
    billing.verify(customer, "2024-03-10", *[f"a{n}" for n in range(7)])  # 7 x 2.00
    billing.bill("2024-04-01")
    march = billing.invoice_for(schedule["id"], "2024-03-01")
    invoice = finalized(merchant, march["id"])
    assert credit_lines(invoice), invoice["lineItems"]
    # 24.00 less 6.00 of units and 5.00 of cash: 13.00, tax 2.60.
    assert (invoice["netTotal"], invoice["totalTax"]) == ("13.00", "2.60")

    valid_with_api_totals(merchant, invoice)


def test_a_payment_is_prepaid_and_lowers_the_amount_due(merchant: ApiClient) -> None:
    customer = customer_with_vat(merchant, "Paying Ltd", "GB777888999")
    invoice = issued_invoice(merchant, customer["id"], [line("Platform", "1", "100.00")])
    ok(merchant.post(f"/api/invoices/{invoice['id']}/mark-as-sent"))
    response = merchant.post(f"/api/invoices/{invoice['id']}/payments", json={"amount": "20.00"})
    assert response.status_code == 201, response.text
    invoice = ok(merchant.get(f"/api/invoices/{invoice['id']}"))
    assert (invoice["grossTotal"], invoice["balance"]) == ("120.00", "100.00")

    for syntax, xml in valid_both(merchant, f"/api/invoices/{invoice['id']}").items():
        assert totals(xml, syntax) == api_totals(invoice)
        assert totals(xml, syntax)["prepaid"] == D("20.00")
