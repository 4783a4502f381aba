"""Connecting a merchant account to a payment provider: the credentials are encrypted before
they reach the database and never leave it again except to call the provider."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.core.clock import utcnow
from tally.exceptions import ProviderNotConnected
from tally.models import PaymentProviderConnection, PaymentProviderName
from tally.models.scoped import scoped
from tally.payments import secrets
from tally.payments.providers import PaymentProvider
from tally.settings import Settings

CONNECTION = "PAYMENT_PROVIDER_CONNECTION"


def connection(
    session: Session, account_id: str, provider: PaymentProviderName
) -> PaymentProviderConnection | None:
    """The live connection, or None (never connected, or disconnected)."""
    row = session.scalars(
        scoped(PaymentProviderConnection, account_id).where(
            PaymentProviderConnection.provider == provider
        )
    ).one_or_none()
    return row if row is not None and row.disconnected_at is None else None


def connect(
    session: Session,
    settings: Settings,
    account_id: str,
    provider: PaymentProviderName,
    *,
    secret_key: str,
    webhook_secret: str | None,
    publishable_key: str | None,
) -> PaymentProviderConnection:
    """Store (or replace) the account's credentials, encrypted; the activity log records who
    connected which key (its last four characters), never the key."""
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    row = session.scalars(
        scoped(PaymentProviderConnection, account_id)
        .where(PaymentProviderConnection.provider == provider)
        .with_for_update()
    ).one_or_none()
    if row is None:
        row = PaymentProviderConnection(account_id=account_id, provider=provider)
        session.add(row)
    row.secret_key_encrypted = secrets.encrypt(key, secret_key)
    row.webhook_secret_encrypted = (
        secrets.encrypt(key, webhook_secret) if webhook_secret is not None else None
    )
    row.publishable_key = publishable_key
    row.secret_key_hint = secret_key[-4:]
    row.connected_at = utcnow()
    row.disconnected_at = None
    session.flush()
    activity.record(
        session,
        account_id,
        verb="CONNECTED",
        object_type=CONNECTION,
        object_id=row.id,
        name=provider.value,
        summary=f"Connected {provider.value.title()} (secret key ending {row.secret_key_hint})",
    )
    return row


def disconnect(
    session: Session, account_id: str, provider: PaymentProviderName
) -> PaymentProviderConnection:
    """Stop using the provider. The row stays (who connected what, and when); its secrets are
    wiped, so a disconnected key can never be used again."""
    row = connection(session, account_id, provider)
    if row is None:
        raise ProviderNotConnected(f"{provider.value} is not connected.")
    row.disconnected_at = utcnow()
    row.secret_key_encrypted = ""
    row.webhook_secret_encrypted = None
    activity.record(
        session,
        account_id,
        verb="DISCONNECTED",
        object_type=CONNECTION,
        object_id=row.id,
        name=provider.value,
        summary=f"Disconnected {provider.value.title()}",
    )
    return row


def provider_for(
    session: Session,
    settings: Settings,
    account_id: str,
    provider: PaymentProviderName = PaymentProviderName.STRIPE,
) -> PaymentProvider:
    """A client for the account's provider, its credentials decrypted for this call only."""
    row = connection(session, account_id, provider)
    if row is None:
        raise ProviderNotConnected(
            f"{provider.value.title()} is not connected: PUT /api/payment-providers/"
            f"{provider.value.lower()} with the account's keys first."
        )
    return build(settings, row)


def build(settings: Settings, row: PaymentProviderConnection) -> PaymentProvider:
    # Imported here: the `stripe` package takes most of a second to import, which every
    # process (and `tally` command) would pay at start whether it collects payments or not.
    from tally.payments.providers.stripe import StripeProvider  # noqa: PLC0415

    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    secret = secrets.decrypt(key, row.secret_key_encrypted)
    webhook_secret = (
        secrets.decrypt(key, row.webhook_secret_encrypted) if row.webhook_secret_encrypted else None
    )
    return StripeProvider(secret, webhook_secret, settings.stripe_api_base)


def check_secret_key(session: Session, settings: Settings) -> None:
    """Refuse to start with stored credentials and no key to read them: every payment would
    fail later, one at a time, instead of once, now."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return
    stored = session.scalar(
        select(PaymentProviderConnection.id)  # every account's, on purpose
        .where(PaymentProviderConnection.disconnected_at.is_(None))
        .limit(1)
    )
    if stored is not None:
        raise secrets.SecretKeyMissing(
            "Payment provider credentials are stored but TALLY_SECRET_KEY is not set: set it "
            "to the key they were stored with."
        )
