"""Names refuse control characters, and what was stored before cannot break email (issue 16,
item 6).

A company name with CR LF made every queued email fail at each retry until it was marked
failed: the merchant's name heads each message (the From display name and the Subject). Every
name that reaches an email header, a document's title or a line of a PDF is one line of text
(`api.types.PlainText`): CR, LF, TAB, other C0 and C1 controls, DEL and Unicode's line
separators answer 400 naming the field, and nothing changes.

Names stored before that rule (written straight into the database here, as old data would
be) fail the message once, with the reason, and no retry; a message is composed when sent,
so a name corrected after it was queued is what it carries.
"""

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tally.accounts.service import Credentials, create_account
from tally.core.clock import utcnow
from tally.db import Database
from tally.exceptions import InvalidRequest
from tally.models import Account, DeliveryStatus, EmailMessage
from tally.notifications.outbox import SendReport, send_due
from tally.settings import Settings
from tests.catalog.price_bodies import fixed, price_body
from tests.credit_notes.helpers import line_body as note_line
from tests.factories import customer_body, new_customer, product_body, tax_rate_body
from tests.fuzz.billing_objects import make_billing_objects
from tests.invoices.helpers import insert_invoice
from tests.notifications.email_support import Inbox, smtp_server
from tests.support.api_client import ApiClient

BREAKS = [
    "Acme Ltd\r\nBcc: everyone@example.com",
    "Acme Ltd\nX-Injected: 1",
    "Acme\rLtd",
    "Acme\tLtd",
    "Acme\x0bLtd",
    "Acme\x1bLtd",
    "Acme\x7fLtd",
    "Acme\x85Ltd",  # NEL, a C1 line break
    "Acme\u2028Ltd",
    "Acme\u2029Ltd",
]

INVOICE_LINE = {"title": "Setup", "quantity": "1", "rate": "5.00", "taxRate": "0.2"}
Ids = dict[str, str]
# field -> (method, url, body with the name set to `value`)
Attempt = Callable[[Ids, str], tuple[str, str, dict[str, Any]]]

ATTEMPTS: dict[str, Attempt] = {
    "companyName": lambda ids, v: (
        "PUT",
        f"/api/sequence-accounts/{ids['account']}",
        {"companyName": v},
    ),
    "legalName": lambda ids, v: ("POST", "/api/customers", customer_body(legalName=v)),
    "legalName (update)": lambda ids, v: (
        "PUT",
        f"/api/customers/{ids['customer']}",
        customer_body(legalName=v),
    ),
    "contacts.0.name": lambda ids, v: (
        "POST",
        "/api/customers",
        customer_body(
            contacts=[{"name": v, "email": "a@example.com", "billingPreference": "PRIMARY"}]
        ),
    ),
    "contactName": lambda ids, v: (
        "POST",
        "/api/customers",
        {**customer_body(contacts=None), "email": "a@example.com", "contactName": v},
    ),
    "name (contact)": lambda ids, v: (
        "POST",
        f"/api/customers/{ids['customer']}/contacts",
        {"name": v, "email": "b@example.com", "billingPreference": "STANDARD"},
    ),
    "name (product)": lambda ids, v: ("POST", "/api/products", product_body(name=v)),
    "name (product update)": lambda ids, v: (
        "PUT",
        f"/api/products/{ids['product']}",
        product_body(name=v),
    ),
    "name (price)": lambda ids, v: (
        "POST",
        "/api/prices",
        price_body(ids["product"], fixed(), name=v),
    ),
    "name (price update)": lambda ids, v: ("PUT", f"/api/prices/{ids['price']}", {"name": v}),
    "name (tax rate)": lambda ids, v: ("POST", "/api/tax-rates", tax_rate_body(name=v)),
    "invoiceName": lambda ids, v: ("POST", "/api/tax-rates", tax_rate_body(invoiceName=v)),
    "invoiceShortName": lambda ids, v: (
        "POST",
        "/api/tax-rates",
        tax_rate_body(invoiceShortName=v),
    ),
    "customerLegalCompanyName (invoice)": lambda ids, v: (
        "POST",
        "/api/invoices",
        {"currency": "GBP", "customerId": ids["customer"], "customerLegalCompanyName": v},
    ),
    "title (invoice line)": lambda ids, v: (
        "POST",
        f"/api/invoices/{ids['invoice']}/line-items",
        {**INVOICE_LINE, "title": v},
    ),
    "title (invoice group)": lambda ids, v: (
        "POST",
        f"/api/invoices/{ids['invoice']}/line-item-groups",
        {"title": v},
    ),
    "customerLegalCompanyName (credit note)": lambda ids, v: (
        "POST",
        "/api/credit-notes",
        {
            "invoiceId": ids["sent_invoice"],
            "customerId": ids["customer"],
            "currency": "GBP",
            "customerLegalCompanyName": v,
        },
    ),
    "customerLegalCompanyName (credit note update)": lambda ids, v: (
        "PUT",
        f"/api/credit-notes/{ids['credit_note']}",
        {"customerLegalCompanyName": v},
    ),
    "title (credit note line)": lambda ids, v: (
        "POST",
        f"/api/credit-notes/{ids['credit_note']}/line-items",
        note_line(title=v),
    ),
    "title (credit note group)": lambda ids, v: (
        "POST",
        f"/api/credit-notes/{ids['credit_note']}/line-item-groups",
        {"title": v},
    ),
}


@pytest.fixture
def ids(api: ApiClient, database: Database) -> Ids:
    return make_billing_objects(api, database)


def _state(api: ApiClient, ids: Ids) -> list[Any]:
    urls = [
        f"/api/sequence-accounts/{ids['account']}",
        "/api/customers?limit=100",
        f"/api/customers/{ids['customer']}/contacts",
        "/api/products?limit=100",
        "/api/prices?limit=100",
        "/api/tax-rates?limit=100",
        "/api/invoices?limit=100",
        f"/api/invoices/{ids['invoice']}",
        "/api/credit-notes?limit=100",
        f"/api/credit-notes/{ids['credit_note']}",
    ]
    return [api.get(url).json() for url in urls]


@pytest.mark.parametrize("what", sorted(ATTEMPTS))
def test_a_name_with_a_control_character_is_refused(api: ApiClient, ids: Ids, what: str) -> None:
    field = what.split(" (", maxsplit=1)[0]
    before = _state(api, ids)
    for value in BREAKS:
        method, url, body = ATTEMPTS[what](ids, value)
        answer = api.request(method, url, json=body)
        assert answer.status_code == 400, (what, repr(value), answer.text)
        fields = [detail["field"] for detail in answer.json()["error"]["details"]]
        assert fields == [field], (what, fields)
    assert _state(api, ids) == before
    # One line of text, in any script, is a name.
    method, url, body = ATTEMPTS[what](ids, "Ünïcødé & Søns — 株式会社 «Ltd»")
    assert api.request(method, url, json=body).status_code in (200, 201), what


def test_an_account_made_on_the_command_line_follows_the_rule(database: Database) -> None:
    with database.transaction() as session, pytest.raises(InvalidRequest) as refused:
        create_account(session, "Shop\r\nBcc: everyone@example.com")
    assert refused.value.details == [
        {"field": "companyName", "message": refused.value.details[0]["message"]}
    ]


# --- old data: composed when sent ----------------------------------------------------------

INJECTED = "Acme Ltd\r\nBcc: everyone@example.com"


def _smtp_settings(database: Database, data_dir: Path, port: int) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database.url,
        billing_scheduler=False,
        public_url="https://billing.example.com",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        smtp_from="invoices@billing.example.com",
        delivery_max_attempts=3,
        delivery_backoff_seconds=60,
    )


def _send_due_over_smtp(
    database: Database, data_dir: Path, account_id: str
) -> tuple[SendReport, Inbox]:
    """The account's due emails sent once to a real SMTP server: what was sent, what arrived."""
    inbox = Inbox()
    with smtp_server(inbox) as port:
        report = send_due(database, _smtp_settings(database, data_dir, port), account_id=account_id)
    return report, inbox


def _store_name(database: Database, account_id: str, name: str) -> None:
    """As a name stored before names refused control characters: past the API."""
    with database.transaction() as session:
        session.execute(update(Account).where(Account.id == account_id).values(name=name))


def _send_invoice(api: ApiClient, database: Database, account_id: str, **customer: Any) -> str:
    """An invoice finalized and sent by email through the API; its id."""
    invoice_id = insert_invoice(database, account_id, new_customer(api, "Globex Ltd", **customer))
    sent = api.post(f"/api/invoices/{invoice_id}/finalize-and-send")
    assert sent.status_code == 200, sent.text
    return invoice_id


def _messages(database: Database, account_id: str) -> list[EmailMessage]:
    with database.session(write=False) as session:
        return list(
            session.scalars(
                select(EmailMessage)
                .where(EmailMessage.account_id == account_id)
                .order_by(EmailMessage.kind)
            )
        )


def test_a_company_name_with_a_line_break_fails_its_emails_once_with_the_reason(
    api: ApiClient, database: Database, account: Credentials, tmp_path: Path
) -> None:
    """The attack: CR LF in the stored company name, then an invoice sent (and an EMAIL
    policy listening): one attempt each, failed for good with the reason, nothing sent, no
    retry, however long the sender keeps running."""
    policy = {
        "name": "Finance",
        "recipients": ["finance@example.com"],
        "channel": "EMAIL",
        "notificationTypes": ["INVOICE_ISSUED"],
    }
    assert api.post("/api/notifications/policies", json=policy).status_code == 201
    _store_name(database, account.account_id, INJECTED)
    _send_invoice(api, database, account.account_id)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        settings = _smtp_settings(database, tmp_path, port)
        report = send_due(database, settings, account_id=account.account_id)
        later = send_due(
            database, settings, utcnow() + timedelta(days=30), account_id=account.account_id
        )

    invoice_email, notification = _messages(database, account.account_id)
    assert (invoice_email.kind, notification.kind) == ("INVOICE", "NOTIFICATION")
    assert sorted(report.failed) == sorted([invoice_email.id, notification.id])
    assert report.retrying == report.delivered == []
    assert later.failed == later.retrying == later.delivered == []
    for message in (invoice_email, notification):
        assert (message.status, message.attempts, message.next_attempt_at) == (
            DeliveryStatus.FAILED,
            1,
            None,
        )
        assert message.last_error == "could not compose: the company name contains a line break"
    assert inbox.arrivals == []


def test_a_name_corrected_after_queueing_is_what_the_email_carries(
    api: ApiClient, database: Database, account: Credentials, tmp_path: Path
) -> None:
    _store_name(database, account.account_id, INJECTED)
    invoice_id = _send_invoice(api, database, account.account_id)
    [queued] = _messages(database, account.account_id)
    assert "Bcc" in queued.subject  # composed at queue time too, from the name then

    fixed = api.put(f"/api/sequence-accounts/{account.account_id}", json={"companyName": "Acme"})
    assert fixed.status_code == 200, fixed.text
    report, inbox = _send_due_over_smtp(database, tmp_path, account.account_id)

    assert report.delivered == [queued.id]
    [arrival] = inbox.arrivals
    assert arrival.recipients == ["jane@example.com"]
    number = api.get(f"/api/invoices/{invoice_id}").json()["invoiceNumber"]
    assert arrival.message["Subject"] == f"Invoice {number} from Acme"
    assert arrival.message["From"] == "Acme <invoices@billing.example.com>"
    text = arrival.message.get_body(("plain",))
    assert text is not None and str(text.get_content()).splitlines()[-2:] == ["Thank you,", "Acme"]
    [sent] = _messages(database, account.account_id)
    assert (sent.status, sent.attempts, sent.last_error) == (DeliveryStatus.DELIVERED, 1, None)
    assert sent.subject == f"Invoice {number} from Acme"  # the row reads what was sent
    assert "Bcc" not in sent.text_body and "Bcc" not in (sent.html_body or "")


def _set_recipients(database: Database, message_id: str, *addresses: str) -> None:
    """As addresses stored before they were checked."""
    with database.transaction() as session:
        session.execute(
            update(EmailMessage)
            .where(EmailMessage.id == message_id)
            .values(to_addresses=list(addresses))
        )


def test_a_message_without_a_valid_address_left_fails_at_once(
    api: ApiClient, database: Database, account: Credentials, tmp_path: Path
) -> None:
    _send_invoice(api, database, account.account_id)
    [queued] = _messages(database, account.account_id)
    _set_recipients(database, queued.id, "jane@example.com\r\nBcc: everyone@example.com")
    report, inbox = _send_due_over_smtp(database, tmp_path, account.account_id)

    assert report.failed == [queued.id]
    [row] = _messages(database, account.account_id)
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 1)
    assert row.last_error == (
        "could not compose: no valid recipient address left "
        "('jane@example.com\\r\\nBcc: everyone@example.com' contains a line break)"
    )
    assert inbox.arrivals == []


def test_an_invalid_address_is_left_out_and_said(
    api: ApiClient, database: Database, account: Credentials, tmp_path: Path
) -> None:
    _send_invoice(api, database, account.account_id)
    [queued] = _messages(database, account.account_id)
    _set_recipients(database, queued.id, "jane@example.com", "ap@example.com\nBcc: x@example.com")
    report, inbox = _send_due_over_smtp(database, tmp_path, account.account_id)

    assert report.delivered == [queued.id]
    [arrival] = inbox.arrivals
    assert arrival.recipients == ["jane@example.com"]
    assert arrival.message["To"] == "jane@example.com"
    [row] = _messages(database, account.account_id)
    assert row.last_error == (
        "not sent to 'ap@example.com\\nBcc: x@example.com' contains a line break"
    )
