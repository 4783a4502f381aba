"""Invoices and credit notes for e-invoice tests, made through the API as a merchant would:
the merchant's address and VAT number, customers with theirs, one-off invoices with lines,
finalized; their e-invoices fetched and validated."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from lxml import etree

from tests.factories import address, new_customer
from tests.support.api_client import ApiClient
from tests.support.en16931 import Syntax, assert_valid

D = Decimal

MERCHANT = {
    "companyName": "Acme Billing Ltd",
    "companyNumber": "01234567",
    "address": address(line1="1 Hills Road", line2=None, town="Cambridge", postcode="CB1 1AA"),
}
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def account_id_of(api: ApiClient) -> str:
    return str(ok(api.get("/api/sequence-accounts"))["items"][0]["id"])


def set_up_merchant(api: ApiClient, *, vat: str | None = "GB123456789", **fields: Any) -> str:
    """The merchant's address and company number, and its VAT number unless `vat` is None."""
    account_id = account_id_of(api)
    ok(api.put(f"/api/sequence-accounts/{account_id}", json={**MERCHANT, **fields}))
    if vat is not None:
        body = {"taxIdentifier": vat, "merchantId": account_id, "country": vat[:2]}
        ok(api.post("/api/tax-registrations", json=body), 201)
    return account_id


def customer_with_vat(
    api: ApiClient, name: str, vat: str | None, *, country: str = "GB", **fields: Any
) -> dict[str, Any]:
    customer = new_customer(api, name, address=address(country=country), **fields)
    if vat is not None:
        body = {"taxIdentifier": vat, "customerId": customer["id"], "country": country}
        ok(api.post("/api/tax-registrations", json=body), 201)
    return customer


def line(
    title: str, quantity: str, rate: str, tax_rate: str = "0.2", **fields: Any
) -> dict[str, Any]:
    return {"title": title, "quantity": quantity, "rate": rate, "taxRate": tax_rate, **fields}


def issued_invoice(
    api: ApiClient,
    customer_id: str,
    lines: list[dict[str, Any]],
    *,
    currency: str = "GBP",
    finalize: bool = True,
    **fields: Any,
) -> dict[str, Any]:
    """A one-off invoice with `lines`, finalized (numbered, issued) unless told not to."""
    body = {"currency": currency, "customerId": customer_id, **fields}
    invoice = ok(api.post("/api/invoices", json=body), 201)
    for body in lines:
        ok(api.post(f"/api/invoices/{invoice['id']}/line-items", json=body), 201)
    if finalize:
        ok(api.post(f"/api/invoices/{invoice['id']}/finalize"))
    return ok(api.get(f"/api/invoices/{invoice['id']}"))


def e_invoice(api: ApiClient, path: str, syntax: Syntax) -> bytes:
    """The XML `GET {path}/e-invoice?syntax=` answers (`path`: /api/invoices/{id} ...)."""
    response = api.get(f"{path}/e-invoice", params={"syntax": syntax})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return response.content


def valid_both(api: ApiClient, path: str) -> dict[Syntax, bytes]:
    """Both syntaxes of the document, each checked against its XSD and the CEN rules."""
    documents: dict[Syntax, bytes] = {}
    for syntax in ("cii", "ubl"):
        xml = e_invoice(api, path, syntax)
        assert_valid(xml, syntax)
        documents[syntax] = xml
    return documents


def totals(xml: bytes, syntax: Syntax) -> dict[str, Decimal]:
    """The document totals an e-invoice states (BT-109, BT-110, BT-112, BT-113, BT-115)."""
    root = etree.fromstring(xml)
    if syntax == "cii":
        base = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
        names = {
            "net": "TaxBasisTotalAmount", "tax": "TaxTotalAmount", "gross": "GrandTotalAmount",
            "prepaid": "TotalPrepaidAmount", "due": "DuePayableAmount",
        }  # fmt: skip
    else:
        base = "//cac:LegalMonetaryTotal/cbc:"
        names = {
            "net": "TaxExclusiveAmount", "gross": "TaxInclusiveAmount",
            "prepaid": "PrepaidAmount", "due": "PayableAmount",
        }  # fmt: skip
    found = {
        key: D(root.xpath(f"string({base}{name})", namespaces=NS)) for key, name in names.items()
    }
    if syntax == "ubl":
        found["tax"] = D(root.xpath("string(/*/cac:TaxTotal/cbc:TaxAmount)", namespaces=NS))
    return found


def api_totals(document: dict[str, Any], *, credit_note: bool = False) -> dict[str, Decimal]:
    """The same totals as the API answers them: an invoice owes its `balance`, a credit note
    its gross total."""
    gross = D(document["grossTotal"])
    due = gross if credit_note else D(document["balance"])
    return {
        "net": D(document["netTotal"]),
        "tax": D(document["totalTax"]),
        "gross": gross,
        "prepaid": gross - due,
        "due": due,
    }
