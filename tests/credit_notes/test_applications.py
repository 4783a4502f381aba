"""POST /api/credit-note-applications: one ledger transaction lowers the credit note's balance
and the invoice's together, advancing both versions; a stale version is refused with 409 and
both current balances (Sequence's `VersionConflictResponse`); an amount beyond either balance,
another currency or customer, or a document not FINAL or SENT is refused with a 400 naming the
conflict. Neither changes anything. A property test: after any sequence of applications,
each balance is its gross total less the sum of its applications, and never negative."""

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.api.types import Currency
from tally.credit_notes import applications
from tally.credit_notes.schemas import ApplicationCreate
from tally.db import Database
from tally.exceptions import Conflict
from tally.models import CreditNoteApplication, InvoiceStatus, PaymentStatus
from tests.credit_notes.helpers import (
    act,
    add_line,
    apply,
    issued_note,
    new_note,
    ok,
    refused,
    sent_invoice,
)
from tests.factories import new_customer
from tests.invoices.helpers import D, insert_invoice
from tests.support.api_client import ApiClient


def read(
    api: ApiClient, note: dict[str, Any], invoice_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    return ok(api.get(f"/api/credit-notes/{note['id']}")), ok(
        api.get(f"/api/invoices/{invoice_id}")
    )


def test_an_application_lowers_both_balances(
    api: ApiClient, customer: dict[str, Any], invoice_id: str
) -> None:
    note, invoice = read(api, issued_note(api, invoice_id, customer["id"], rate="50"), invoice_id)
    assert (note["balance"], note["balanceVersion"]) == ("60.00", 1)
    assert (invoice["balance"], invoice["balanceVersion"]) == ("270.00", 1)

    response = apply(api, note, invoice, 25.5)
    assert response.status_code == 201, response.text
    applied = response.json()
    assert applied == {
        "ledgerTransactionId": applied["ledgerTransactionId"],
        "creditNoteId": note["id"],
        "invoiceId": invoice_id,
        "amount": 25.5,
        "currency": "GBP",
        "appliedAt": applied["appliedAt"],
        "invoiceBalance": {"value": 244.5, "currency": "GBP", "version": 2},
        "creditNoteBalance": {"value": 34.5, "currency": "GBP", "version": 2},
    }
    assert '"amount":25.50' in response.text  # an exact number, in the minor unit
    note, invoice = read(api, note, invoice_id)
    assert (note["balance"], note["balanceVersion"], note["applicationStatus"]) == (
        "34.50", 2, "PARTIALLY_APPLIED",
    )  # fmt: skip
    assert note["applications"] == [
        {
            "invoiceId": invoice_id,
            "invoiceNumber": "INV-T1",
            "amount": "25.50",
            "appliedAt": applied["appliedAt"],
        }
    ]
    assert (invoice["balance"], invoice["balanceVersion"], invoice["paymentStatus"]) == (
        "244.50", 2, "UNPAID",
    )  # fmt: skip

    assert apply(api, note, invoice, "34.50").status_code == 201
    note, invoice = read(api, note, invoice_id)
    assert (note["balance"], note["applicationStatus"], len(note["applications"])) == (
        "0.00", "FULLY_APPLIED", 2,
    )  # fmt: skip
    assert invoice["balance"] == "210.00"


def test_an_invoice_credited_in_full_is_paid(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    small = sent_invoice(
        database, account.account_id, customer, groups=[], lines=[],
        net_total=D("10"), total_tax=D("2"), gross_total=D("12"),
    )  # fmt: skip
    note, invoice = read(api, issued_note(api, small, customer["id"], rate="10"), small)
    assert apply(api, note, invoice, 12).status_code == 201
    _, invoice = read(api, note, small)
    assert (invoice["balance"], invoice["paymentStatus"]) == ("0.00", "PAID")


def test_a_credit_note_pays_another_invoice_of_its_customer(
    api: ApiClient,
    database: Database,
    account: Credentials,
    customer: dict[str, Any],
    invoice_id: str,
) -> None:
    final = insert_invoice(
        database, account.account_id, customer, status=InvoiceStatus.FINAL,
        invoice_number="INV-T2", balance=D("270"), balance_version=3,
        finalized_at=datetime.now(UTC),
    )  # fmt: skip
    note, invoice = read(api, issued_note(api, invoice_id, customer["id"]), final)
    assert apply(api, note, invoice, 5).status_code == 201
    note, invoice = read(api, note, final)
    assert (invoice["balance"], invoice["balanceVersion"]) == ("265.00", 4)
    assert note["applications"][0]["invoiceNumber"] == "INV-T2"


def test_a_stale_version_changes_nothing(
    api: ApiClient, customer: dict[str, Any], invoice_id: str
) -> None:
    note, invoice = read(api, issued_note(api, invoice_id, customer["id"], rate="50"), invoice_id)
    assert apply(api, note, invoice, 10).status_code == 201
    note_now, invoice_now = read(api, note, invoice_id)

    for stale in (
        {},  # both stale
        {"creditNoteBalanceVersion": note_now["balanceVersion"]},
        {"invoiceBalanceVersion": invoice_now["balanceVersion"]},
        {"creditNoteBalanceVersion": 99, "invoiceBalanceVersion": invoice_now["balanceVersion"]},
    ):
        response = apply(api, note, invoice, 10, **stale)
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["error"]["type"] == "StaleVersion"
        assert body["message"].startswith("Balance version mismatch")
        assert body["currentInvoiceBalance"] == {"value": 260.0, "currency": "GBP", "version": 2}
        assert body["currentCreditNoteBalance"] == {"value": 50.0, "currency": "GBP", "version": 2}
    assert read(api, note, invoice_id) == (note_now, invoice_now)


def test_refusals_change_nothing(
    api: ApiClient,
    database: Database,
    account: Credentials,
    customer: dict[str, Any],
    invoice_id: str,
) -> None:
    account_id = account.account_id
    note, invoice = read(api, issued_note(api, invoice_id, customer["id"], rate="50"), invoice_id)
    small = sent_invoice(
        database, account_id, customer, groups=[], lines=[], invoice_number="INV-T3",
        net_total=D("10"), total_tax=D("2"), gross_total=D("12"),
    )  # fmt: skip
    small_invoice = ok(api.get(f"/api/invoices/{small}"))
    draft = new_note(api, invoice_id, customer["id"])
    add_line(api, draft["id"])
    voided = issued_note(api, invoice_id, customer["id"])
    ok(act(api, voided["id"], "void"))
    voided = ok(api.get(f"/api/credit-notes/{voided['id']}"))
    draft_invoice = insert_invoice(database, account_id, customer, invoice_number=None)
    paid = sent_invoice(database, account_id, customer, payment_status=PaymentStatus.PAID)
    stranger = new_customer(api, "Stranger Ltd")
    strangers = sent_invoice(database, account_id, stranger)

    def invoice_of(invoice_id: str) -> dict[str, Any]:
        return {**ok(api.get(f"/api/invoices/{invoice_id}")), "balanceVersion": 1}

    before = read(api, note, invoice_id)
    for (what, error_type), response in {
        ("more than the credit note's balance", "BalanceExceeded"): apply(
            api, note, invoice, "60.01"
        ),
        ("more than the invoice's balance", "BalanceExceeded"): apply(
            api, note, small_invoice, "12.01"
        ),
        ("another currency", "ReferenceMismatch"): apply(api, note, invoice, 1, currency="EUR"),
        ("a draft credit note", "InvalidStateTransition"): apply(
            api, {**draft, "balanceVersion": 0}, invoice, 1
        ),
        ("a voided credit note", "InvalidStateTransition"): apply(
            api, {**voided, "balanceVersion": 2}, invoice, 1
        ),
        ("a draft invoice", "InvalidStateTransition"): apply(
            api, note, invoice_of(draft_invoice), 1
        ),
        ("a paid invoice", "BalanceExceeded"): apply(api, note, invoice_of(paid), 1),
        ("another customer's invoice", "ReferenceMismatch"): apply(
            api, note, invoice_of(strangers), 1
        ),
    }.items():
        assert response.status_code == 400, f"{what}: {response.text}"
        assert response.json()["error"]["type"] == error_type, f"{what}: {response.text}"
    for amount in (0, -1, "1.001", "1e-3"):
        assert apply(api, note, invoice, amount).status_code == 400, amount
    refused(apply(api, {**note, "id": "nope"}, invoice, 1), 404)
    refused(apply(api, note, {**invoice, "id": "nope"}, 1), 404)
    assert read(api, note, invoice_id) == before
    assert ok(api.get(f"/api/invoices/{small}")) == small_invoice
    assert ok(api.get(f"/api/credit-notes/{voided['id']}")) == voided


def test_other_accounts_see_nothing_to_apply(
    api: ApiClient, other_api: ApiClient, customer: dict[str, Any], invoice_id: str
) -> None:
    note, invoice = read(api, issued_note(api, invoice_id, customer["id"]), invoice_id)
    refused(apply(other_api, note, invoice, 1), 404)
    assert read(api, note, invoice_id) == (note, invoice)


def test_concurrent_applications_with_one_version_apply_once(
    api: ApiClient,
    database: Database,
    account: Credentials,
    customer: dict[str, Any],
    invoice_id: str,
) -> None:
    note = issued_note(api, invoice_id, customer["id"], rate="50")
    body = ApplicationCreate(
        credit_note_id=note["id"], invoice_id=invoice_id, amount=Decimal(10),
        currency=Currency.GBP, credit_note_balance_version=1, invoice_balance_version=1,
    )  # fmt: skip
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt() -> None:
        start.wait()
        try:
            with database.transaction() as session:
                applications.apply(session, account.account_id, body)
            outcomes.append("applied")
        except applications.VersionConflict:
            outcomes.append("stale")
        except Conflict as other:  # pragma: no cover - shown if it happens
            outcomes.append(other.message)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["applied", "stale", "stale", "stale"]
    note, invoice = read(api, note, invoice_id)
    assert (note["balance"], note["balanceVersion"]) == ("50.00", 2)
    assert (invoice["balance"], invoice["balanceVersion"]) == ("260.00", 2)


# One step: (credit note, invoice, amount in pence, whether the versions sent are stale).
steps = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(1, 13_000), st.booleans()),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_balances_are_the_ledger(
    api: ApiClient,
    database: Database,
    account: Credentials,
    steps: list[tuple[int, int, int, bool]],
) -> None:
    customer = new_customer(api, "Ledger Ltd")
    invoice_ids = [
        sent_invoice(database, account.account_id, customer),  # 270.00
        sent_invoice(
            database,
            account.account_id,
            customer,
            groups=[],
            lines=[],
            invoice_number="INV-T2",
            net_total=D("100"),
            total_tax=D("0"),
            gross_total=D("100"),
        ),
    ]
    notes = [
        issued_note(api, invoice_ids[0], customer["id"], rate="100"),  # 120.00
        issued_note(api, invoice_ids[0], customer["id"], rate="50", action="mark-as-sent"),  # 60.00
    ]
    gross = {notes[0]["id"]: D("120"), notes[1]["id"]: D("60"), invoice_ids[0]: D("270"),
             invoice_ids[1]: D("100")}  # fmt: skip
    applied: dict[str, Decimal] = dict.fromkeys(gross, D(0))

    for note_index, invoice_index, pence, stale in steps:
        note, invoice = read(api, notes[note_index], invoice_ids[invoice_index])
        amount = D(pence) / 100
        versions = {"creditNoteBalanceVersion": note["balanceVersion"] - 1} if stale else {}
        response = apply(api, note, invoice, str(amount), **versions)
        fits = amount <= D(note["balance"]) and amount <= D(invoice["balance"])
        if stale or not fits:
            # A stale version is checked first: Sequence's 409; else the amount does not fit.
            assert response.status_code == (409 if stale else 400), response.text
            assert read(api, note, invoice["id"]) == (note, invoice)
            continue
        assert response.status_code == 201, response.text
        applied[note["id"]] += amount
        applied[invoice["id"]] += amount

    ledger = dict.fromkeys(gross, D(0))
    with database.transaction() as session:
        amounts = session.execute(
            select(
                CreditNoteApplication.credit_note_id,
                CreditNoteApplication.invoice_id,
                CreditNoteApplication.amount,
            ).where(CreditNoteApplication.credit_note_id.in_(n["id"] for n in notes))
        ).all()
    for note_id, invoice_id, amount in amounts:
        ledger[note_id] += amount
        ledger[invoice_id] += amount
    assert ledger == applied
    for index, note in enumerate(notes):
        shown = ok(api.get(f"/api/credit-notes/{note['id']}"))
        assert D(shown["balance"]) == gross[note["id"]] - ledger[note["id"]] >= 0
        assert sum(D(a["amount"]) for a in shown["applications"]) == ledger[note["id"]]
        assert shown["balanceVersion"] == 1 + len(shown["applications"]), index
    for invoice_id in invoice_ids:
        shown = ok(api.get(f"/api/invoices/{invoice_id}"))
        assert D(shown["balance"]) == gross[invoice_id] - ledger[invoice_id] >= 0
