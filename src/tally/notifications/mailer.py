"""Email transport: MIME messages built from outbox rows, handed to an SMTP server, or, with
no server configured (the default), written as `.eml` files to `data_dir/outbox` and logged.

SMTP: STARTTLS (certificate verified) before anything else when `smtp_starttls` is on, LOGIN
when a username is set; one connection is kept for a batch and reopened after an error.
"""

from __future__ import annotations

import email.errors
import email.policy
import logging
import os
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, formataddr
from typing import Protocol

from tally.core.clock import utcnow
from tally.settings import Settings

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30.0
# CRLF line ends; non-ASCII bodies quoted-printable or base64, so servers without 8BITMIME
# take them as they are; headers folded only past RFC 5322's hard limit (Python folds a long
# subject before its first word at 78, which its own parser then reads with a leading space).
POLICY = email.policy.SMTP.clone(cte_type="7bit", max_line_length=998)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "pdf"


@dataclass(frozen=True)
class Outgoing:
    """One email, as the sender hands it to a transport."""

    message_id: str  # the outbox row's id: a stable Message-ID across retries
    sender_name: str  # the merchant, shown as the From display name
    to: Sequence[str]
    subject: str
    text: str
    cc: Sequence[str] = ()
    html: str | None = None
    attachments: Sequence[Attachment] = field(default_factory=tuple)

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc]


class DeliveryRefused(Exception):
    """The server refused the message for good (a 5xx answer): retrying will not help."""


class Unsendable(Exception):
    """The message cannot be made from what Tally holds (a name with a line break stored
    before names refused them, a document deleted since, no valid address): it fails at once,
    with this Tally-written reason, before any server is contacted."""


class Transport(Protocol):
    def send(self, message: Outgoing) -> None:
        """Deliver or raise: Unsendable when no valid message can be built from it,
        DeliveryRefused when the server refuses it for good, anything else when a later
        attempt may succeed."""

    def close(self) -> None: ...


def build_mime(message: Outgoing, from_address: str) -> MimeMessage:
    """The MIME message, or Unsendable when a header cannot be written (the sender checks
    what it composes first and names the culprit: this is the last guard)."""
    try:
        return _mime(message, from_address)
    except (ValueError, email.errors.MessageError) as error:
        log.warning("email %s: not a valid message", message.message_id, exc_info=True)
        raise Unsendable("a header of the message is not valid") from error


def _mime(message: Outgoing, from_address: str) -> MimeMessage:
    mime = MimeMessage(policy=POLICY)
    mime["From"] = formataddr((message.sender_name, from_address))
    mime["To"] = ", ".join(message.to)
    if message.cc:
        mime["Cc"] = ", ".join(message.cc)
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(utcnow())
    domain = from_address.rpartition("@")[2] or "tally.localhost"
    mime["Message-ID"] = f"<{message.message_id}@{domain}>"
    mime.set_content(message.text)
    if message.html is not None:
        mime.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        mime.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
    return mime


class OutboxFolder:
    """No SMTP server: each message becomes `<data_dir>/outbox/<time>-<id>.eml`."""

    def __init__(self, settings: Settings) -> None:
        self.folder = settings.data_dir / "outbox"
        self.from_address = settings.smtp_from

    def send(self, message: Outgoing) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"{stamp}-{message.message_id}.eml"
        data = bytes(build_mime(message, self.from_address))
        # Written aside, then renamed: whoever watches the folder never reads half a message.
        partial = path.with_suffix(".eml.part")
        partial.write_bytes(data)
        os.replace(partial, path)
        log.info(
            "email %r to %s written to %s (no TALLY_SMTP_HOST set)",
            message.subject,
            ", ".join(message.recipients),
            path,
        )

    def close(self) -> None:
        pass


def _refused_for_good(error: smtplib.SMTPException) -> bool:
    """5xx answers to the message itself (sender, recipients, content) are permanent; 4xx,
    lost connections, failed logins or TLS are worth another attempt (an operator may fix
    the configuration meanwhile)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return False


class SmtpServer:
    """Sends through `smtp_host`, one connection for as many messages as it is given."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host
        self.settings = settings
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        assert settings.smtp_host
        connection = smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS
        )
        try:
            connection.ehlo()
            if settings.smtp_starttls:
                # Never falls back to plain text: a server without STARTTLS is an error.
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if settings.smtp_username:
                connection.login(settings.smtp_username, settings.smtp_password or "")
        except BaseException:
            connection.close()
            raise
        return connection

    def send(self, message: Outgoing) -> None:
        mime = build_mime(message, self.settings.smtp_from)
        try:
            if self.connection is None:
                self.connection = self._connect()
            refused = self.connection.send_message(
                mime, from_addr=self.settings.smtp_from, to_addrs=message.recipients
            )
        except smtplib.SMTPException as error:
            if _refused_for_good(error):
                raise DeliveryRefused(str(error)) from error
            self.close()  # whatever state the conversation is in, start the next one afresh
            raise
        except OSError:
            self.close()
            raise
        if refused:
            # Delivered to the others; the refused addresses are logged, not retried.
            log.warning("email %s: recipients refused: %s", message.message_id, refused)

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()


def transport(settings: Settings) -> Transport:
    """The SMTP server when one is configured, the outbox folder otherwise."""
    return SmtpServer(settings) if settings.smtp_host else OutboxFolder(settings)
