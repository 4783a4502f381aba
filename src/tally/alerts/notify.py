"""The emails of a firing, queued in the outbox in the firing's transaction: one to the
alert's `emailAddresses` (the merchant's people), and, with `notifyCustomer`, one to the
customer's billing contacts as its invoices are addressed (PRIMARY, STANDARD in copy), in
the customer's language. Each once per firing (`dedupe_key`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from html import escape

from sqlalchemy.orm import Session

from tally.core.clock import utcnow
from tally.core.formatting import DEFAULT_LOCALE, format_money
from tally.core.i18n import language_of_locale, translations_for_locale
from tally.customers.queries import billing_recipients, customer_names
from tally.db import bulk_insert, new_id, table_of
from tally.documents.languages import customer_locales
from tally.models import Account, Alert, AlertType, DeliveryStatus, EmailMessage
from tally.notifications.email import format_day


def _amount(alert: Alert, value: object, locale: str) -> str:
    number = Decimal(str(value))
    if alert.type is not AlertType.USAGE and alert.currency and not alert.metric_id:
        return format_money(number, alert.currency, locale)
    return f"{number.normalize():f}"


def content(
    account: Account, alert: Alert, customer_name: str, row: Mapping[str, object], locale: str
) -> tuple[str, str, str]:
    """(subject, text, html) of a firing's email, in `locale`."""
    _ = translations_for_locale(locale).gettext
    values = {
        "alert": alert.name,
        "customer": customer_name,
        "value": _amount(alert, row["value"], locale),
        "threshold": _amount(alert, row["threshold"], locale),
    }
    subject = _("Alert: %(alert)s") % values
    if alert.type is AlertType.USAGE:
        sentence = _(
            "%(customer)s's usage reached %(value)s, at or above the threshold of %(threshold)s."
        )
    elif alert.type is AlertType.SPEND:
        sentence = _(
            "%(customer)s's charges so far this period reached %(value)s, at or above the "
            "threshold of %(threshold)s."
        )
    else:
        sentence = _(
            "%(customer)s's credit balance fell to %(value)s, below the level of %(threshold)s."
        )
    paragraphs = [sentence % values]
    start, end = row.get("period_start"), row.get("period_end")
    if isinstance(start, date) and isinstance(end, date):
        paragraphs.append(
            _("Billing period: %(start)s to %(end)s.")
            % {"start": format_day(start, locale), "end": format_day(end, locale)}
        )
    greeting = _("Hello,")
    text = "\n\n".join([greeting, *paragraphs, account.name]) + "\n"
    html = (
        "<!DOCTYPE html>\n"
        f'<html lang="{language_of_locale(locale)}">'
        '<body style="font-family: sans-serif; color: #222; line-height: 1.5">'
        f"<p>{escape(greeting)}</p>"
        + "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        + f"<p>{escape(account.name)}</p></body></html>\n"
    )
    return subject, text, html


def queue_emails(
    session: Session,
    account: Account,
    alerts: Mapping[str, Alert],
    fired: Sequence[Mapping[str, object]],
) -> None:
    """The emails of the new firings `fired` (rows of alert_firings): one insert."""
    wanted = [
        row
        for row in fired
        if alerts[str(row["alert_id"])].email_addresses
        or alerts[str(row["alert_id"])].notify_customer
    ]
    if not wanted:
        return
    customers = {str(row["customer_id"]) for row in wanted}
    names = customer_names(session, account.id, customers)
    notified = {
        str(row["customer_id"]) for row in wanted if alerts[str(row["alert_id"])].notify_customer
    }
    contacts = billing_recipients(session, account.id, notified)
    locales = customer_locales(session, [account.id], notified)
    now = utcnow()
    messages = []

    def message(to: list[str], cc: list[str], parts: tuple[str, str, str], key: str) -> None:
        subject, text, html = parts
        messages.append(
            {
                "id": new_id(),
                "account_id": account.id,
                "created_at": now,
                "updated_at": now,
                "kind": "ALERT",
                "to_addresses": to,
                "cc_addresses": cc,
                "subject": subject,
                "text_body": text,
                "html_body": html,
                "attachments": [],
                "dedupe_key": key,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
            }
        )

    for row in wanted:
        alert = alerts[str(row["alert_id"])]
        customer = str(row["customer_id"])
        name = names.get(customer, customer)
        if alert.email_addresses:
            parts = content(account, alert, name, row, DEFAULT_LOCALE)
            message(list(alert.email_addresses), [], parts, f"alert:{row['id']}:merchant")
        to, cc = contacts.get(customer, ([], []))
        if alert.notify_customer and (to or cc):
            parts = content(account, alert, name, row, locales.get(customer, DEFAULT_LOCALE))
            message(to or cc[:1], cc if to else cc[1:], parts, f"alert:{row['id']}:customer")
    if messages:
        bulk_insert(session, table_of(EmailMessage), messages)
