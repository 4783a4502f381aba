"""/api/payment-providers bodies (a Tally extension)."""

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from tally.api.schemas import Schema
from tally.models import PaymentProviderConnection

_Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=255)]


class StripeConnectionIn(Schema):
    """The account's Stripe keys: stored encrypted, never answered again."""

    secret_key: Annotated[_Key, Field(pattern=r"^(sk|rk)_[A-Za-z0-9_]+$")] = Field(
        description="A secret (sk_...) or restricted (rk_...) API key."
    )
    webhook_secret: Annotated[_Key, Field(pattern=r"^whsec_[A-Za-z0-9_]+$")] | None = Field(
        default=None,
        description="The signing secret of the webhook endpoint Stripe sends events to "
        "(`webhookUrl` in the answer).",
    )
    publishable_key: Annotated[_Key, Field(pattern=r"^pk_[A-Za-z0-9_]+$")] | None = Field(
        default=None,
        description="The publishable key (pk_...) Stripe.js uses in the customer portal's Pay "
        "form. Public by design.",
    )


class ProviderConnectionOut(Schema):
    id: str | None = Field(default=None, description="The connection, once ever connected.")
    provider: str
    connected: bool
    secret_key_hint: str | None = Field(
        default=None, description="The stored secret key's last four characters."
    )
    has_webhook_secret: bool = False
    publishable_key: str | None = None
    webhook_url: str = Field(description="Where the provider sends this account's events.")
    connected_at: datetime | None = None

    @classmethod
    def build(
        cls, provider: str, row: PaymentProviderConnection | None, webhook_url: str
    ) -> "ProviderConnectionOut":
        if row is None or row.disconnected_at is not None:
            return cls(
                id=row.id if row else None,
                provider=provider,
                connected=False,
                webhook_url=webhook_url,
            )
        return cls(
            id=row.id,
            provider=provider,
            connected=True,
            secret_key_hint=row.secret_key_hint,
            has_webhook_secret=row.webhook_secret_encrypted is not None,
            publishable_key=row.publishable_key,
            webhook_url=webhook_url,
            connected_at=row.connected_at,
        )
