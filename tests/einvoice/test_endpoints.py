"""GET /api/{invoices,credit-notes}/{id}/e-invoice: what it refuses and how, and that the
validator used everywhere does catch a broken document."""

from typing import Any

from sqlalchemy import update

from tally.db import Database
from tally.models import Account
from tests.einvoice.helpers import (
    account_id_of,
    customer_with_vat,
    e_invoice,
    issued_invoice,
    line,
    ok,
    set_up_merchant,
)
from tests.support.api_client import ApiClient
from tests.support.en16931 import fired_rules, problems


def error(response: Any, status: int, error_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["type"] == error_type, body
    return body


def test_the_answer_is_xml_named_after_the_number(merchant: ApiClient) -> None:
    customer = customer_with_vat(merchant, "Named Ltd", "GB100200300")
    invoice = issued_invoice(merchant, customer["id"], [line("Platform", "1", "10.00")])

    for syntax in ("ubl", "cii"):
        response = merchant.get(f"/api/invoices/{invoice['id']}/e-invoice?syntax={syntax}")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/xml"
        disposition = response.headers["content-disposition"]
        assert disposition == f'attachment; filename="{invoice["invoiceNumber"]}.{syntax}.xml"'


def test_another_accounts_documents_are_not_found(
    merchant: ApiClient, other_api: ApiClient
) -> None:
    customer = customer_with_vat(merchant, "Private Ltd", "GB100200301")
    invoice = issued_invoice(merchant, customer["id"], [line("Platform", "1", "10.00")])

    response = other_api.get(f"/api/invoices/{invoice['id']}/e-invoice?syntax=ubl")
    error(response, 404, "NotFound")
    response = other_api.get(f"/api/credit-notes/{invoice['id']}/e-invoice?syntax=cii")
    error(response, 404, "NotFound")


def test_an_unknown_syntax_or_parameter_is_refused_naming_it(merchant: ApiClient) -> None:
    customer = customer_with_vat(merchant, "Strict Ltd", "GB100200302")
    invoice = issued_invoice(merchant, customer["id"], [line("Platform", "1", "10.00")])
    url = f"/api/invoices/{invoice['id']}/e-invoice"

    body = error(merchant.get(url, params={"syntax": "pdf"}), 400, "ValidationError")
    assert body["details"][0]["field"] == "syntax"
    assert "'pdf'" in body["message"]
    body = error(merchant.get(url, params={"syntax": "ubl", "format": "x"}), 400, "ValidationError")
    assert body["details"][0]["field"] == "format"
    body = error(merchant.get(url), 400, "ValidationError")  # no syntax: nothing assumed
    assert "syntax" in str(body)


def test_a_draft_must_be_finalized_first(merchant: ApiClient) -> None:
    customer = customer_with_vat(merchant, "Drafty Ltd", "GB100200303")
    draft = issued_invoice(
        merchant, customer["id"], [line("Platform", "1", "10.00")], finalize=False
    )

    for syntax in ("ubl", "cii"):
        response = merchant.get(f"/api/invoices/{draft['id']}/e-invoice?syntax={syntax}")
        body = error(response, 400, "NotIssued")
        assert "finalize it first" in body["message"]


def test_a_voided_invoice_is_refused(merchant: ApiClient) -> None:
    customer = customer_with_vat(merchant, "Void Ltd", "GB100200304")
    invoice = issued_invoice(merchant, customer["id"], [line("Platform", "1", "10.00")])
    ok(merchant.post(f"/api/invoices/{invoice['id']}/void"))

    body = error(
        merchant.get(f"/api/invoices/{invoice['id']}/e-invoice?syntax=ubl"), 400, "NotIssued"
    )
    assert "voided" in body["message"]


def test_what_the_standard_needs_and_the_invoice_lacks_is_named(
    api: ApiClient, database: Database
) -> None:
    """A merchant without an address, a reverse-charged customer without a VAT number: a 400
    naming each, never a 500 or an invalid file. (Finalizing needs the seller's address now;
    invoices finalized before that rule, by an account that never gave one, remain.)"""
    account_id = account_id_of(api)
    body = {"taxIdentifier": "GB123456789", "merchantId": account_id, "country": "GB"}
    ok(api.post("/api/tax-registrations", json=body), 201)
    customer = customer_with_vat(
        api, "Reverse GmbH", None, country="DE", taxStatus="REVERSE_CHARGED"
    )
    invoice = issued_invoice(api, customer["id"], [line("Consulting", "1", "10.00")])
    with database.transaction() as session:  # as the account was before the rule
        session.execute(update(Account).where(Account.id == account_id).values(address=None))

    response = api.get(f"/api/invoices/{invoice['id']}/e-invoice?syntax=cii")

    body = error(response, 400, "IncompleteEInvoice")
    fields = [detail["field"] for detail in body["details"]]
    assert fields == ["merchant.address.country", "customer.taxRegistration"]
    assert "merchant's address" in body["message"]


def test_a_seller_with_no_tax_registration(api: ApiClient) -> None:
    """Charging tax without a registration is refused, naming it; charging none makes an
    invoice "not subject to VAT" (category O), valid as it is."""
    set_up_merchant(api, vat=None)
    customer = customer_with_vat(api, "Small Ltd", "GB100200305")
    taxed = issued_invoice(api, customer["id"], [line("Platform", "1", "10.00", "0.2")])
    untaxed = issued_invoice(api, customer["id"], [line("Platform", "1", "10.00", "0")])

    body = error(
        api.get(f"/api/invoices/{taxed['id']}/e-invoice?syntax=ubl"), 400, "IncompleteEInvoice"
    )
    assert [d["field"] for d in body["details"]] == ["merchant.taxRegistration"]
    for syntax in ("ubl", "cii"):
        xml = e_invoice(api, f"/api/invoices/{untaxed['id']}", syntax)
        assert problems(xml, syntax) == []
        assert b">O<" in xml
        # BR-O-2: under category O no party states a VAT number.
        assert b"PartyTaxScheme" not in xml and b"SpecifiedTaxRegistration" not in xml


def test_the_validator_catches_a_wrong_total(merchant: ApiClient) -> None:
    customer = customer_with_vat(merchant, "Checked Ltd", "GB100200306")
    invoice = issued_invoice(merchant, customer["id"], [line("Platform", "1", "10.00")])
    cii = e_invoice(merchant, f"/api/invoices/{invoice['id']}", "cii")
    ubl = e_invoice(merchant, f"/api/invoices/{invoice['id']}", "ubl")
    assert problems(cii, "cii") == problems(ubl, "ubl") == []

    broken_cii = cii.replace(b"<ram:GrandTotalAmount>12.00<", b"<ram:GrandTotalAmount>12.01<")
    broken_ubl = ubl.replace(
        b'"GBP">12.00</cbc:TaxInclusiveAmount>', b'"GBP">12.01</cbc:TaxInclusiveAmount>'
    )
    assert broken_cii != cii and broken_ubl != ubl

    assert "BR-CO-15" in {rule.id for rule in fired_rules(broken_cii, "cii")}
    assert "BR-CO-15" in {rule.id for rule in fired_rules(broken_ubl, "ubl")}
    assert any("BR-CO-15" in problem for problem in problems(broken_ubl, "ubl"))
    broken_schema = cii.replace(b"<ram:TypeCode>380</ram:TypeCode>", b"<ram:Kind>380</ram:Kind>")
    assert any("Kind" in problem for problem in problems(broken_schema, "cii"))
