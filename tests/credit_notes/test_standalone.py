"""Credit notes created without an invoice (Sequence's create request requires only currency
and customer): a standalone credit note for the customer, with lines, the lifecycle and the
numbering of invoice-linked ones, applied to an invoice later through an application."""

from typing import Any

from tally.accounts.service import Credentials
from tally.db import Database
from tally.exceptions import Conflict
from tests.credit_notes.helpers import (
    act,
    add_line,
    apply,
    created,
    invoice_lines,
    issued_note,
    line_body,
    ok,
    refused,
    sent_invoice,
)
from tests.factories import address, new_customer
from tests.support.api_client import ApiClient


def standalone(api: ApiClient, customer_id: str, **fields: Any) -> dict[str, Any]:
    body = {"customerId": customer_id, "currency": "GBP", **fields}
    return created(api.post("/api/credit-notes", json=body))


def test_a_standalone_credit_note_carries_the_customer_s_details(api: ApiClient) -> None:
    customer = new_customer(
        api,
        "Goodwill Ltd",
        contacts=[
            {"name": "Payer", "email": "payer@example.com", "billingPreference": "PRIMARY"},
            {"name": "Sales", "email": "sales@example.com", "billingPreference": "NONE"},
        ],
    )
    note = standalone(api, customer["id"], memo="Outage in May")
    assert note["status"] == "DRAFT"
    assert note.get("invoiceId") is None and note.get("invoiceNumber") is None
    assert note["customerLegalCompanyName"] == "Goodwill Ltd"
    assert note["customerEmails"] == ["payer@example.com"]
    assert note["customerBillingAddress"]["line1"] == customer["address"]["line1"]
    assert (note["currency"], note["memo"]) == ("GBP", "Outage in May")

    given = standalone(
        api,
        customer["id"],
        currency="EUR",
        customerLegalCompanyName="Goodwill GmbH",
        customerEmails=["ap@example.com"],
        customerBillingAddress=address(line1="1 Other Street"),
    )
    assert (given["currency"], given["customerLegalCompanyName"]) == ("EUR", "Goodwill GmbH")
    assert given["customerEmails"] == ["ap@example.com"]
    assert given["customerBillingAddress"]["line1"] == "1 Other Street"


def test_it_is_issued_in_the_account_s_numbering_and_applied_to_an_invoice(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    invoice_id = sent_invoice(database, account.account_id, customer)
    linked = issued_note(api, invoice_id, customer["id"])  # CN00001
    note = standalone(api, customer["id"])
    add_line(api, note["id"], title="Goodwill", rate="50.00")
    draft = ok(api.get(f"/api/credit-notes/{note['id']}"))
    assert (draft["netTotal"], draft["totalTax"], draft["grossTotal"]) == (
        "50.00",
        "10.00",
        "60.00",
    )
    issued = ok(act(api, note["id"], "finalize"))
    assert issued["status"] == "FINAL"
    assert linked["creditNoteNumber"].endswith("00001")
    assert issued["creditNoteNumber"].endswith("00002")
    assert (issued["balance"], issued["applicationStatus"]) == ("60.00", "UNAPPLIED")

    invoice = ok(api.get(f"/api/invoices/{invoice_id}"))
    applied = apply(api, issued, invoice, 25)
    assert applied.status_code in (200, 201), applied.text
    after = ok(api.get(f"/api/credit-notes/{note['id']}"))
    assert (after["balance"], after["applicationStatus"]) == ("35.00", "PARTIALLY_APPLIED")
    assert after["applications"][0]["invoiceId"] == invoice_id
    assert ok(api.get(f"/api/invoices/{invoice_id}"))["balance"] == "245.00"

    pdf = api.get(f"/api/credit-notes/{note['id']}/download")
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    sent = ok(act(api, note["id"], "mark-as-sent"))
    assert sent["status"] == "SENT"
    voided = act(api, note["id"], "void")
    assert voided.status_code == Conflict.status_code
    assert "applied" in voided.json()["error"]["message"]


def test_a_standalone_draft_voids_and_deletes_like_any(api: ApiClient) -> None:
    customer = new_customer(api)
    to_void = standalone(api, customer["id"])
    add_line(api, to_void["id"])
    assert ok(act(api, to_void["id"], "void"))["status"] == "VOIDED"
    to_delete = standalone(api, customer["id"])
    assert ok(api.delete(f"/api/credit-notes/{to_delete['id']}"))["id"] == to_delete["id"]
    assert api.get(f"/api/credit-notes/{to_delete['id']}").status_code == 404
    empty = standalone(api, customer["id"])
    assert "credits 0.00" in refused(act(api, empty["id"], "finalize"), Conflict.status_code)


def test_it_credits_no_invoice_line_and_no_foreign_customer(
    api: ApiClient, other_api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    invoice_id = sent_invoice(database, account.account_id, customer)
    line_id = invoice_lines(api, invoice_id)["Platform fee"]["id"]
    group_id = ok(api.get(f"/api/invoices/{invoice_id}/line-item-groups"))["items"][0]["id"]
    note = standalone(api, customer["id"])
    lines_url = f"/api/credit-notes/{note['id']}/line-items"
    assert "lineItemId" in refused(api.post(lines_url, json=line_body(lineItemId=line_id)), 400)
    assert "invoiceLineItemIds" in refused(
        api.post(lines_url, json=line_body(invoiceLineItemIds=[line_id])), 400
    )
    groups_url = f"/api/credit-notes/{note['id']}/line-item-groups"
    body = {"title": "Platform", "lineItemGroupId": group_id}
    assert "lineItemGroupId" in refused(api.post(groups_url, json=body), 400)

    other_customer = new_customer(other_api)
    other_invoice = sent_invoice(database, _account_id(other_api), other_customer)
    foreign_line = invoice_lines(other_api, other_invoice)["Platform fee"]["id"]
    refused(api.post(lines_url, json=line_body(lineItemId=foreign_line)), 404)
    assert ok(api.get(f"/api/credit-notes/{note['id']}"))["grossTotal"] == "0.00"

    before = ok(api.get("/api/credit-notes"))["pagination"]["totalResultSize"]
    body = {"customerId": other_customer["id"], "currency": "GBP"}
    refused(api.post("/api/credit-notes", json=body), 404)
    refused(api.post("/api/credit-notes", json={"customerId": customer["id"]}), 400)
    bad = {"customerId": customer["id"], "currency": "XYZ"}
    refused(api.post("/api/credit-notes", json=bad), 400)
    archived = new_customer(api, "Gone Ltd")
    ok(api.post(f"/api/customers/{archived['id']}/archive"))
    body = {"customerId": archived["id"], "currency": "GBP"}
    assert "archived" in refused(api.post("/api/credit-notes", json=body), Conflict.status_code)
    assert ok(api.get("/api/credit-notes"))["pagination"]["totalResultSize"] == before


def _account_id(api: ApiClient) -> str:
    return str(api.get("/api/sequence-accounts").json()["items"][0]["id"])
