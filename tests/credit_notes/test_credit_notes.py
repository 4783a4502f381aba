"""/api/credit-notes: created against a SENT invoice of the customer (its details copied),
edited while a draft, deleted only as a draft, listed with Sequence's filters."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import CreditNote, InvoiceStatus
from tests.credit_notes.helpers import (
    add_line,
    issued_note,
    new_note,
    ok,
    refused,
    sent_invoice,
)
from tests.factories import address, new_customer
from tests.invoices.helpers import insert_invoice
from tests.support.api_client import ApiClient


def test_a_credit_note_copies_its_invoice_customer_details(
    api: ApiClient, account: Credentials, customer: dict[str, Any], invoice_id: str
) -> None:
    note = new_note(api, invoice_id, customer["id"])

    assert note == {
        "id": note["id"],
        "sequenceAccountId": account.account_id,
        "status": "DRAFT",
        "invoiceId": invoice_id,
        "invoiceNumber": "INV-T1",
        "currency": "GBP",
        "billingPeriodStart": "2024-05-01T00:00:00Z",
        "billingPeriodEnd": "2024-05-31T00:00:00Z",
        "customerId": customer["id"],
        "customerEmails": ["jane@example.com"],
        "customerLegalCompanyName": "Example Ltd",
        "customerBillingAddress": customer["address"],
        "customerShippingAddress": customer["address"],
        "totalTax": "0.00",
        "netTotal": "0.00",
        "grossTotal": "0.00",
        "metadata": [],
        "linkedServices": [],
        "applications": [],
        "settings": {"generateCashCreditGrant": "DISABLED"},
        "createdAt": note["createdAt"],
        "updatedAt": note["createdAt"],
        "lineItems": [],
        "lineItemGroups": [],
    }
    assert ok(api.get(f"/api/credit-notes/{note['id']}")) == note


def test_given_details_replace_the_invoice_ones(
    api: ApiClient, customer: dict[str, Any], invoice_id: str
) -> None:
    shipping = address(line1="Dock 4", town="Leeds")
    note = new_note(
        api,
        invoice_id,
        customer["id"],
        billingPeriodStart="2024-05-10",
        billingPeriodEnd="2024-05-20T00:00:00Z",
        purchaseOrderNumber="PO-9",
        customerEmails=["ap@example.com"],
        customerLegalCompanyName="Example Holdings Ltd",
        customerShippingAddress=shipping,
        memo="Outage credit",
        metadata=[{"key": "ticket", "value": "T-1"}],
        customerTaxId="GB123",
        accountingDate="2024-06-30",
    )

    assert (
        note.items()
        >= {
            "billingPeriodStart": "2024-05-10T00:00:00Z",
            "billingPeriodEnd": "2024-05-20T00:00:00Z",
            "purchaseOrderNumber": "PO-9",
            "customerEmails": ["ap@example.com"],
            "customerLegalCompanyName": "Example Holdings Ltd",
            "customerShippingAddress": shipping,
            "memo": "Outage credit",
            "metadata": [{"key": "ticket", "value": "T-1"}],
            "customerTaxId": "GB123",
            "accountingDate": "2024-06-30",
        }.items()
    )


def test_only_a_sent_invoice_of_the_customer_in_its_currency_takes_credit_notes(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    for status in (InvoiceStatus.DRAFT, InvoiceStatus.FINAL, InvoiceStatus.VOIDED):
        other = insert_invoice(database, account.account_id, customer, status=status)
        body = {"invoiceId": other, "customerId": customer["id"], "currency": "GBP"}
        assert f"is {status.value}" in refused(
            api.post("/api/credit-notes", json=body), "InvalidStateTransition"
        )

    invoice_id = sent_invoice(database, account.account_id, customer)
    stranger = new_customer(api, "Stranger Ltd")
    body = {"invoiceId": invoice_id, "customerId": stranger["id"], "currency": "GBP"}
    assert "is not the customer" in refused(
        api.post("/api/credit-notes", json=body), "ReferenceMismatch"
    )
    body = {"invoiceId": invoice_id, "customerId": customer["id"], "currency": "EUR"}
    assert "is not the currency" in refused(
        api.post("/api/credit-notes", json=body), "ReferenceMismatch"
    )
    body = {"invoiceId": "nope", "customerId": customer["id"], "currency": "GBP"}
    refused(api.post("/api/credit-notes", json=body), 404)
    refused(api.post("/api/credit-notes", json={"customerId": customer["id"]}), 400)
    assert ok(api.get("/api/credit-notes"))["items"] == []


def test_another_accounts_invoice_is_not_found(
    api: ApiClient, other_api: ApiClient, customer: dict[str, Any], invoice_id: str
) -> None:
    body = {"invoiceId": invoice_id, "customerId": customer["id"], "currency": "GBP"}
    refused(other_api.post("/api/credit-notes", json=body), 404)


def test_a_draft_changes_what_is_sent_and_keeps_the_rest(
    api: ApiClient, customer: dict[str, Any], invoice_id: str
) -> None:
    note = new_note(api, invoice_id, customer["id"], memo="first", purchaseOrderNumber="PO-1")
    url = f"/api/credit-notes/{note['id']}"

    changed = ok(api.put(url, json={"memo": "second", "customerEmails": ["b@example.com"]}))
    assert (changed["memo"], changed["purchaseOrderNumber"]) == ("second", "PO-1")
    assert changed["customerEmails"] == ["b@example.com"]
    cleared = ok(api.put(url, json={"purchaseOrderNumber": None, "billingPeriodStart": None}))
    assert "purchaseOrderNumber" not in cleared
    assert "billingPeriodStart" not in cleared
    assert cleared["memo"] == "second"

    before = ok(api.get(url))
    refused(api.put(url, json={"customerLegalCompanyName": None}), 400)
    refused(api.put(url, json={"settings": {"generateCashCreditGrant": "ENABLED"}}), 400)
    body = {"billingPeriodStart": "2024-05-31", "billingPeriodEnd": "2024-05-01"}
    refused(api.put(url, json=body), 400)
    assert ok(api.get(url)) == before


def test_only_drafts_are_deleted(api: ApiClient, customer: dict[str, Any], invoice_id: str) -> None:
    draft = new_note(api, invoice_id, customer["id"])
    add_line(api, draft["id"])
    deleted = ok(api.delete(f"/api/credit-notes/{draft['id']}"))
    assert (deleted["id"], len(deleted["lineItems"])) == (draft["id"], 1)
    refused(api.get(f"/api/credit-notes/{draft['id']}"), 404)
    refused(api.get(f"/api/credit-notes/{draft['id']}/line-items"), 404)

    final = issued_note(api, invoice_id, customer["id"])
    assert "only a DRAFT" in refused(
        api.delete(f"/api/credit-notes/{final['id']}"), "InvalidStateTransition"
    )
    assert ok(api.get(f"/api/credit-notes/{final['id']}")) == final


def test_lists_filter_by_status_customer_number_and_sent_day(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    invoice_id = sent_invoice(database, account.account_id, customer)
    other = new_customer(api, "Other Ltd")
    other_invoice = sent_invoice(database, account.account_id, other)
    draft = new_note(api, invoice_id, customer["id"])
    final = issued_note(api, invoice_id, customer["id"])  # CN00001
    sent = issued_note(api, other_invoice, other["id"], action="finalize-and-send")  # CN00002
    with database.transaction() as session:  # sent on 2024-03-10 (UTC)
        session.execute(
            update(CreditNote)
            .where(CreditNote.id == sent["id"])
            .values(sent_at=datetime(2024, 3, 10, 12, tzinfo=UTC))
        )

    def ids(**params: str) -> list[str]:
        return [item["id"] for item in ok(api.get("/api/credit-notes", params=params))["items"]]

    assert ids() == [sent["id"], final["id"], draft["id"]]
    assert ids(sortOrder="ASC") == [draft["id"], final["id"], sent["id"]]
    assert ids(creditNoteStatus="DRAFT,final") == [final["id"], draft["id"]]
    assert ids(customerId=other["id"]) == [sent["id"]]
    assert ids(searchCreditNoteNumber="cn00001") == [final["id"]]
    assert ids(searchCreditNoteNumber="0000") == [sent["id"], final["id"]]
    assert ids(sentBefore="2024-03-11") == [sent["id"]]
    assert ids(sentBefore="2024-03-10") == []
    assert ids(sentAfter="2024-03-09") == [sent["id"]]
    assert ids(sentAfter="2024-03-10") == []
    assert ids(sortBy="STATUS", sortOrder="ASC") == [draft["id"], final["id"], sent["id"]]
    assert ids(sortBy="STATUS", limit="1", sortOrder="ASC") == [draft["id"]]
    refused(api.get("/api/credit-notes", params={"sortBy": "AMOUNT"}), 400)
    refused(api.get("/api/credit-notes", params={"creditNoteStatus": "PAID"}), 400)


def test_lists_sort_by_gross_total_and_number(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    invoice_id = sent_invoice(database, account.account_id, customer)
    draft = new_note(api, invoice_id, customer["id"])
    first = issued_note(api, invoice_id, customer["id"])  # CN00001
    second = issued_note(api, invoice_id, customer["id"])  # CN00002
    # By value, not as text: 9.50 < 10.00 < 100.00.
    totals = {draft["id"]: "100.00", first["id"]: "9.50", second["id"]: "10.00"}
    with database.transaction() as session:
        for note_id, total in totals.items():
            session.execute(
                update(CreditNote)
                .where(CreditNote.id == note_id)
                .values(gross_total=Decimal(total))
            )

    def ids(**params: str) -> list[str]:
        return [item["id"] for item in ok(api.get("/api/credit-notes", params=params))["items"]]

    by_total = [first["id"], second["id"], draft["id"]]
    assert ids(sortBy="GROSS_TOTAL", sortOrder="ASC") == by_total
    assert ids(sortBy="gross_total") == by_total[::-1]  # DESC by default, any case
    page = ok(api.get("/api/credit-notes", params={"sortBy": "GROSS_TOTAL", "limit": "2"}))
    assert [item["id"] for item in page["items"]] == by_total[:0:-1]
    after = page["pagination"]["after"]
    assert ids(sortBy="GROSS_TOTAL", limit="2", after=after) == [first["id"]]
    # Drafts have no number yet: first ascending.
    by_number = [draft["id"], first["id"], second["id"]]
    assert ids(sortBy="CREDIT_NOTE_NUMBER", sortOrder="ASC") == by_number
    assert ids(sortBy="CREDIT_NOTE_NUMBER") == by_number[::-1]


def test_sent_days_are_the_accounts_local_days(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    account_id = account.account_id
    ok(api.put(f"/api/sequence-accounts/{account_id}", json={"timezone": "America/New_York"}))
    invoice_id = sent_invoice(database, account_id, customer)
    note = issued_note(api, invoice_id, customer["id"], action="mark-as-sent")
    with database.transaction() as session:  # 2024-03-10 23:00 in New York
        session.execute(
            update(CreditNote)
            .where(CreditNote.id == note["id"])
            .values(sent_at=datetime(2024, 3, 11, 3, tzinfo=UTC))
        )
    params = {"sentBefore": "2024-03-11", "sentAfter": "2024-03-09"}
    items = ok(api.get("/api/credit-notes", params=params))["items"]
    assert [item["id"] for item in items] == [note["id"]]


def test_the_list_pages(api: ApiClient, customer: dict[str, Any], invoice_id: str) -> None:
    notes = [new_note(api, invoice_id, customer["id"])["id"] for _ in range(3)]
    first = ok(api.get("/api/credit-notes", params={"limit": 2}))
    assert [item["id"] for item in first["items"]] == notes[:0:-1]
    assert first["pagination"]["totalResultSize"] == 3
    rest = ok(api.get("/api/credit-notes", params={"after": first["pagination"].get("after")}))
    assert [item["id"] for item in rest["items"]] == notes[:1]
