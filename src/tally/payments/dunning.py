"""Dunning: what follows a failed automatic charge. The retry schedule (days after an anchor,
`StripeCollectionSettings.retry_offset_days`), the emails that escalate with each failure,
and the final state: after the last retry fails the collection is FAILED and the invoice
UNCOLLECTIBLE.

Emails go through the email outbox (`notifications.outbox`) like invoice reminders: queued in
the transaction that records the failure, once per failed attempt (`dedupe_key`), to the
invoice's customer emails with the merchant's alert addresses in copy, as the account's
payment settings say (`AccountPaymentSettings`: customer and merchant notifications). They
carry no PDF and keep the text they were queued with: the retry date they announce is the
one decided then."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from typing import Any, Literal

from sqlalchemy.orm import Session

from tally.core.clock import local_date
from tally.core.formatting import DEFAULT_LOCALE, format_money
from tally.core.i18n import language_of_locale, locale_for, translations_for_locale
from tally.db import insert_new, table_of
from tally.documents.languages import customer_locales
from tally.documents.links import invoice_path, portal_url
from tally.models import (
    Account,
    AccountPaymentSettings,
    EmailMessage,
    FailureNotificationOption,
    Invoice,
    RetryAnchor,
    StripeCollectionSettings,
)
from tally.models.payment_settings import DEFAULT_RETRY_OFFSET_DAYS
from tally.models.scoped import scoped
from tally.notifications.email import Content, format_day, message_values

# What a dunning email says: no saved method to charge, the first failure, a later one
# (firmer), the last one (the invoice is written off).
Stage = Literal["no_method", "first", "retry", "final"]
SEND = FailureNotificationOption.SEND_NOTIFICATIONS


@dataclass(frozen=True)
class RetryRules:
    anchor: RetryAnchor
    offsets: list[int]

    @classmethod
    def of(cls, settings: StripeCollectionSettings | None) -> RetryRules:
        if settings is None:
            return cls(RetryAnchor.SENT_DATE, list(DEFAULT_RETRY_OFFSET_DAYS))
        return cls(settings.retry_anchor, [int(days) for days in settings.retry_offset_days])


def anchor_date(invoice: Invoice, anchor: RetryAnchor, timezone: str) -> date:
    """The day retries count from: the invoice's sent date (its issue date until it is sent),
    or its due date (the issue date when it has none)."""
    issued = invoice.issue_date or local_date(invoice.finalized_at or invoice.created_at, timezone)
    if anchor is RetryAnchor.DUE_DATE:
        return invoice.due_date or issued
    return local_date(invoice.sent_at, timezone) if invoice.sent_at else issued


def next_retry(rules: RetryRules, anchor: date, failures: int, today: date) -> date | None:
    """The day of the next attempt after `failures` failed ones (the first attempt is no
    retry), never before tomorrow; None once every retry was made."""
    retries_made = failures - 1
    if retries_made >= len(rules.offsets):
        return None
    return max(anchor + timedelta(days=rules.offsets[retries_made]), today + timedelta(days=1))


def notification_settings(
    session: Session, account_id: str
) -> tuple[FailureNotificationOption, FailureNotificationOption]:
    """(customer, merchant) notifications of failed payments; both sent when never set."""
    row = session.scalars(scoped(AccountPaymentSettings, account_id)).one_or_none()
    if row is None:
        return SEND, SEND
    return row.customer_notifications, row.merchant_notifications


def dunning_key(invoice_id: str, stage: Stage, failures: int) -> str:
    if stage == "no_method":
        return f"invoice:{invoice_id}:dunning:no-method"
    return f"invoice:{invoice_id}:dunning:attempt:{failures}"


def content(
    account: Account,
    invoice: Invoice,
    link: str,
    stage: Stage,
    *,
    retry_on: date | None,
    reason: str | None,
    locale: str = DEFAULT_LOCALE,
) -> Content:
    """The stage's email in `locale` (the customer's). `reason` is the provider's words
    ("Your card was declined."), quoted as they come."""
    _ = translations_for_locale(locale).gettext
    values = {
        "number": invoice.invoice_number or invoice.id,
        "merchant": account.name,
        "amount": format_money(invoice.balance, invoice.currency, locale),
        "reason": reason.rstrip(".") if reason else "",
        "date": format_day(retry_on, locale) if retry_on else "",
    }
    if stage == "no_method":
        subject = _("Payment for invoice %(number)s from %(merchant)s could not be collected")
        paragraphs = [
            _(
                "We could not collect %(amount)s for invoice %(number)s "
                "automatically: there is no saved payment method to charge."
            ),
            _("Please pay it, or save a payment method, in your billing portal."),
        ]
    elif stage == "first":
        subject = _("Payment for invoice %(number)s from %(merchant)s failed")
        paragraphs = [
            _("Your payment of %(amount)s for invoice %(number)s failed (%(reason)s).")
            if reason
            else _("Your payment of %(amount)s for invoice %(number)s failed."),
            _(
                "We'll retry on %(date)s. To pay now or use another payment "
                "method, visit your billing portal."
            ),
        ]
    elif stage == "retry":
        subject = _(
            "Action required: payment for invoice %(number)s from %(merchant)s failed again"
        )
        paragraphs = [
            _(
                "We have again been unable to collect %(amount)s for invoice "
                "%(number)s (%(reason)s)."
            )
            if reason
            else _("We have again been unable to collect %(amount)s for invoice %(number)s."),
            _(
                "Please pay it now in your billing portal. We will try once "
                "more on %(date)s; if payment keeps failing, the invoice will "
                "be marked uncollectible."
            ),
        ]
    else:
        subject = _("Invoice %(number)s from %(merchant)s is marked uncollectible")
        paragraphs = [
            (
                _(
                    "After repeated attempts we could not collect %(amount)s for "
                    "invoice %(number)s (%(reason)s)."
                )
                if reason
                else _(
                    "After repeated attempts we could not collect %(amount)s for "
                    "invoice %(number)s."
                )
            )
            + " "
            + _("The invoice is now marked uncollectible and we will not try again."),
            _("Please pay it in your billing portal or contact %(merchant)s."),
        ]
    return _compose(
        account,
        invoice.customer_legal_company_name,
        subject % values,
        [paragraph % values for paragraph in paragraphs],
        link,
        locale,
    )


def _compose(
    account: Account,
    greeting_name: str,
    subject: str,
    paragraphs: list[str],
    link: str,
    locale: str,
) -> Content:
    _ = translations_for_locale(locale).gettext
    hello = _("Hello %(name)s,") % {"name": greeting_name}
    thanks = _("Thank you,")
    pay_now = _("Pay now")
    text = "\n\n".join(
        [
            hello,
            *paragraphs,
            _("Pay the invoice in your billing portal:") + f"\n{link}",
            f"{thanks}\n{account.name}",
        ]
    )
    html = (
        "<!DOCTYPE html>\n"
        f'<html lang="{language_of_locale(locale)}">'
        '<body style="font-family: sans-serif; color: #222; line-height: 1.5">'
        f"<p>{escape(hello)}</p>"
        + "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        + f'<p><a href="{escape(link)}" style="display: inline-block; padding: 8px 16px; '
        'background: #222; color: #fff; text-decoration: none; border-radius: 4px">'
        f"{escape(pay_now)}</a></p>"
        f"<p>{escape(thanks)}<br>{escape(account.name)}</p>"
        "</body></html>\n"
    )
    return Content(subject, text + "\n", html)


def queue_email(
    session: Session,
    account: Account,
    invoice: Invoice,
    stage: Stage,
    *,
    failures: int,
    retry_on: date | None,
    reason: str | None,
    base_url: str,
) -> bool:
    """Queue the stage's email (once per failed attempt: its `dedupe_key`), as the account's
    payment settings say: to the customer emails with the merchant's alert addresses in
    copy; to the merchant alone when customers are not notified. Whether one was queued."""
    to_customer, to_merchant = notification_settings(session, account.id)
    customers = list(invoice.customer_emails or []) if to_customer is SEND else []
    merchant = list(account.alert_email_addresses or []) if to_merchant is SEND else []
    if not customers and not merchant:
        return False
    link = portal_url(session, invoice.customer_id, base_url, invoice_path(invoice.id))
    # The customer's language; the merchant's notice alone reads the account's.
    locale = (
        customer_locales(session, [account.id], [invoice.customer_id]).get(
            invoice.customer_id, DEFAULT_LOCALE
        )
        if customers
        else locale_for(account.language)
    )
    said = content(account, invoice, link, stage, retry_on=retry_on, reason=reason, locale=locale)
    if not customers:  # the merchant's notice of what the customer was not told
        name = invoice.customer_legal_company_name
        said = Content(f"[{name}] {said.subject}", said.text, said.html)
    values: dict[str, Any] = message_values(
        account,
        "DUNNING",
        customers or merchant,
        said,
        ("invoice", invoice.id),
        dunning_key(invoice.id, stage, failures),
    )
    # No PDF: the outbox then sends the text as queued (the retry date decided now).
    values["attachments"] = []
    values["cc_addresses"] = merchant if customers else []
    queued = insert_new(session, table_of(EmailMessage), [values], ["account_id", "dedupe_key"])
    return bool(queued)
