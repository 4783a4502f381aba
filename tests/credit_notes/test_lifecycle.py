"""A credit note's lifecycle: every transition from every status, legal or refused with a
400 that names the conflict, says why and changes nothing; gapless numbers of their own,
assigned at finalize; the email a send queues; the webhook events each change emits."""

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, update

from tally.accounts.service import Credentials
from tally.db import Database
from tally.invoices.lifecycle import take_numbers
from tally.models import (
    Account,
    DocumentKind,
    EmailMessage,
    Invoice,
    InvoiceStatus,
    NotificationChannel,
    NotificationEvent,
    NotificationPolicy,
)
from tests.credit_notes.helpers import (
    act,
    add_line,
    apply,
    issued_note,
    line_body,
    new_note,
    ok,
    refused,
    sent_invoice,
)
from tests.factories import new_customer
from tests.support.api_client import ApiClient

STATES = ["DRAFT", "FINAL", "SENT", "VOIDED", "FINAL+APPLIED", "SENT+APPLIED"]
ACTIONS = [
    "finalize", "send", "finalize-and-send", "mark-as-sent", "void", "put", "delete", "add-line",
]  # fmt: skip
# The status each action leads to from each state; absent: refused with a 400 naming the
# conflict (`InvalidStateTransition`; voiding an applied one: `ReferenceInUse`).
LEGAL = {
    ("DRAFT", "finalize"): "FINAL",
    ("DRAFT", "finalize-and-send"): "SENT",
    ("DRAFT", "mark-as-sent"): "SENT",
    ("DRAFT", "void"): "VOIDED",
    ("DRAFT", "put"): "DRAFT",
    ("DRAFT", "delete"): None,  # gone
    ("DRAFT", "add-line"): "DRAFT",
    ("FINAL", "send"): "SENT",
    ("FINAL", "mark-as-sent"): "SENT",
    ("FINAL", "void"): "VOIDED",
    ("SENT", "void"): "VOIDED",
    ("FINAL+APPLIED", "send"): "SENT",
    ("FINAL+APPLIED", "mark-as-sent"): "SENT",
}


def in_state(api: ApiClient, invoice_id: str, customer_id: str, state: str) -> dict[str, Any]:
    note = new_note(api, invoice_id, customer_id)
    add_line(api, note["id"], rate="1")  # 1.20 gross
    status, _, applied = state.partition("+")
    if status in ("FINAL", "SENT"):
        ok(act(api, note["id"], "finalize" if status == "FINAL" else "finalize-and-send"))
    elif status == "VOIDED":
        ok(act(api, note["id"], "void"))
    note = ok(api.get(f"/api/credit-notes/{note['id']}"))
    if applied:
        invoice = ok(api.get(f"/api/invoices/{invoice_id}"))
        assert apply(api, note, invoice, 0.5).status_code == 201
        note = ok(api.get(f"/api/credit-notes/{note['id']}"))
    assert note["status"] == status
    return note


def perform(api: ApiClient, note: dict[str, Any], action: str) -> httpx.Response:
    url = f"/api/credit-notes/{note['id']}"
    if action == "put":
        return api.put(url, json={"memo": "changed"})
    if action == "delete":
        return api.delete(url)
    if action == "add-line":
        return api.post(f"{url}/line-items", json=line_body())
    return act(api, note["id"], action)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
def test_every_transition_from_every_status(
    api: ApiClient, customer: dict[str, Any], invoice_id: str, state: str, action: str
) -> None:
    note = in_state(api, invoice_id, customer["id"], state)
    url = f"/api/credit-notes/{note['id']}"
    response = perform(api, note, action)

    if (state, action) not in LEGAL:
        applied_void = action == "void" and state.endswith("+APPLIED")
        message = refused(response, "ReferenceInUse" if applied_void else "InvalidStateTransition")
        assert note["status"] in message or "only a DRAFT" in message or "applied" in message
        assert ok(api.get(url)) == note  # nothing changed
        return
    assert response.status_code in (200, 201), response.text
    expected = LEGAL[state, action]
    if expected is None:
        refused(api.get(url), 404)
        return
    after = ok(api.get(url))
    assert after["status"] == expected
    if expected in ("FINAL", "SENT"):
        assert after["creditNoteNumber"].startswith("CN")
        assert after["issueDate"]
    if expected == "VOIDED":
        assert ("balance" not in after, after.get("creditNoteNumber")) == (
            True, note.get("creditNoteNumber"),
        )  # fmt: skip


def test_finalizing_issues_a_number_a_date_and_a_balance(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    ok(
        api.put(
            f"/api/sequence-accounts/{account.account_id}", json={"timezone": "Pacific/Kiritimati"}
        )
    )
    invoice_id = sent_invoice(database, account.account_id, customer)
    before = datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    note = issued_note(api, invoice_id, customer["id"], rate="10")
    after = datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()

    assert note["creditNoteNumber"] == "CN00001"
    assert note["issueDate"] in (before, after)
    assert note["accountingDate"] == note["issueDate"]
    assert (note["balance"], note["balanceVersion"], note["applicationStatus"]) == (
        "12.00", 1, "UNAPPLIED",
    )  # fmt: skip


def test_nothing_to_credit_is_not_finalized(
    api: ApiClient, customer: dict[str, Any], invoice_id: str
) -> None:
    empty = new_note(api, invoice_id, customer["id"])
    for action in ("finalize", "finalize-and-send", "mark-as-sent"):
        assert "positive amount" in refused(act(api, empty["id"], action), "InvalidStateTransition")
    negative = new_note(api, invoice_id, customer["id"])
    add_line(api, negative["id"], rate="-5")
    refused(act(api, negative["id"], "finalize"), "InvalidStateTransition")
    # The refusals took no number.
    assert issued_note(api, invoice_id, customer["id"])["creditNoteNumber"] == "CN00001"


def test_an_invoice_voided_since_takes_no_credit_note(
    api: ApiClient, database: Database, customer: dict[str, Any], invoice_id: str
) -> None:
    note = new_note(api, invoice_id, customer["id"])
    add_line(api, note["id"])
    with database.transaction() as session:
        session.execute(
            update(Invoice).where(Invoice.id == invoice_id).values(status=InvoiceStatus.VOIDED)
        )
    assert "VOIDED" in refused(act(api, note["id"], "finalize"), "InvalidStateTransition")
    ok(act(api, note["id"], "void"))


def test_numbers_are_gapless_per_account_and_apart_from_invoices(
    api: ApiClient,
    other_api: ApiClient,
    database: Database,
    account: Credentials,
    customer: dict[str, Any],
    invoice_id: str,
) -> None:
    def invoice_numbers(count: int) -> list[int]:
        with database.transaction() as session:
            return list(take_numbers(session, account.account_id, DocumentKind.INVOICE, count))

    assert invoice_numbers(2) == [1, 2]
    first = issued_note(api, invoice_id, customer["id"], rate="1")
    draft = new_note(api, invoice_id, customer["id"])
    add_line(api, draft["id"], rate="1")
    refused(
        act(api, new_note(api, invoice_id, customer["id"])["id"], "finalize"),
        "InvalidStateTransition",
    )  # empty
    second = issued_note(api, invoice_id, customer["id"], rate="1", action="mark-as-sent")
    assert invoice_numbers(1) == [3]
    with database.transaction() as session:
        session.execute(
            update(Account)
            .where(Account.id == account.account_id)
            .values(credit_note_number_prefix="SCN")
        )
    third = ok(act(api, draft["id"], "finalize-and-send"))
    voided = issued_note(api, invoice_id, customer["id"], rate="1", action="finalize")
    ok(act(api, voided["id"], "void"))

    numbers = [n["creditNoteNumber"] for n in (first, second, third, voided)]
    assert numbers == ["CN00001", "CN00002", "SCN00003", "SCN00004"]
    assert ok(api.get(f"/api/credit-notes/{voided['id']}"))["creditNoteNumber"] == "SCN00004"
    assert invoice_numbers(1) == [4]

    # Another account counts from one.
    stranger = new_customer(other_api, "Stranger Ltd")
    other_account = ok(other_api.get("/api/sequence-accounts"))["items"][0]["id"]
    other_invoice = sent_invoice(database, other_account, stranger)
    assert issued_note(other_api, other_invoice, stranger["id"])["creditNoteNumber"] == "CN00001"


def emails(database: Database, account_id: str) -> list[EmailMessage]:
    with database.transaction() as session:
        return list(
            session.scalars(
                select(EmailMessage)
                .where(EmailMessage.account_id == account_id)
                .order_by(EmailMessage.id)
            )
        )


def test_sending_emails_the_credit_note_to_the_customer(
    api: ApiClient,
    database: Database,
    account: Credentials,
    customer: dict[str, Any],
    invoice_id: str,
) -> None:
    note = issued_note(api, invoice_id, customer["id"], action="finalize-and-send")
    assert note["status"] == "SENT"
    (message,) = emails(database, account.account_id)
    assert (message.kind, message.to_addresses) == ("CREDIT_NOTE", ["jane@example.com"])
    assert message.attachments == [{"document": "credit_note", "id": note["id"]}]
    assert "CN00001" in message.subject

    final = issued_note(api, invoice_id, customer["id"])
    sent = ok(act(api, final["id"], "send"))
    assert sent["status"] == "SENT"
    marked = issued_note(api, invoice_id, customer["id"], action="mark-as-sent")
    assert marked["status"] == "SENT"
    assert len(emails(database, account.account_id)) == 2  # none for mark-as-sent


def test_no_email_address_no_send(
    api: ApiClient,
    database: Database,
    account: Credentials,
    customer: dict[str, Any],
    invoice_id: str,
) -> None:
    note = new_note(api, invoice_id, customer["id"], customerEmails=[])
    add_line(api, note["id"])
    assert "no customer email" in refused(
        act(api, note["id"], "finalize-and-send"), "MissingRecipient"
    )
    final = ok(act(api, note["id"], "finalize"))
    refused(act(api, note["id"], "send"), "MissingRecipient")
    assert ok(api.get(f"/api/credit-notes/{note['id']}")) == final
    assert emails(database, account.account_id) == []
    assert ok(act(api, note["id"], "mark-as-sent"))["status"] == "SENT"


def test_changes_announce_themselves(
    api: ApiClient,
    database: Database,
    account: Credentials,
    customer: dict[str, Any],
    invoice_id: str,
) -> None:
    with database.transaction() as session:
        session.add(
            NotificationPolicy(
                account_id=account.account_id,
                name="All",
                channel=NotificationChannel.WEBHOOK,
                recipients=["https://hooks.example.com/tally"],
            )
        )

    note = new_note(api, invoice_id, customer["id"])
    add_line(api, note["id"])
    ok(api.put(f"/api/credit-notes/{note['id']}", json={"memo": "m"}))
    ok(act(api, note["id"], "finalize"))
    issued = ok(act(api, note["id"], "send"))
    invoice = ok(api.get(f"/api/invoices/{invoice_id}"))
    assert apply(api, issued, invoice, "1.00").status_code == 201
    refused(act(api, note["id"], "void"), "ReferenceInUse")  # refused: announces nothing

    with database.transaction() as session:
        events = session.scalars(
            select(NotificationEvent)
            .where(NotificationEvent.account_id == account.account_id)
            .order_by(NotificationEvent.id)
        ).all()
        seen = [(e.notification_type, e.resource_type, e.resource_id) for e in events]
        resources = [json.loads(e.resource or "null") for e in events]
    assert seen == [
        ("CREDIT_NOTE_CREATED", "CreditNote", note["id"]),
        ("CREDIT_NOTE_UPDATED", "CreditNote", note["id"]),  # the line
        ("CREDIT_NOTE_UPDATED", "CreditNote", note["id"]),  # the memo
        ("CREDIT_NOTE_ISSUED", "CreditNote", note["id"]),
        ("CREDIT_NOTE_UPDATED", "CreditNote", note["id"]),  # sent
        ("CREDIT_NOTE_UPDATED", "CreditNote", note["id"]),  # applied
        ("INVOICE_UPDATED", "InvoiceResponse", invoice_id),
    ]
    assert resources[0]["status"] == "DRAFT"
    assert resources[3]["creditNoteNumber"] == "CN00001"
    assert resources[4] == issued
    assert resources[5]["balance"] == "11.00"
    assert resources[6]["balance"] == "269.00"
