"""/api/payment-providers/stripe: connect the account's Stripe (a Tally extension: Sequence
connects Stripe through its dashboard's OAuth flow)."""

from fastapi import Request

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession
from tally.api.routing import api_router
from tally.models import PaymentProviderName
from tally.payments import connections
from tally.payments.connection_schemas import ProviderConnectionOut, StripeConnectionIn
from tally.settings import Settings

router = api_router(tags=["Payment providers"])
STRIPE = PaymentProviderName.STRIPE


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _webhook_url(request: Request, account_id: str) -> str:
    return f"{_settings(request).public_url.rstrip('/')}/webhooks/stripe/{account_id}"


@router.get("/payment-providers/stripe", summary="Is Stripe connected? (Tally)")
def get_stripe(
    account: CurrentAccount, session: DbSession, request: Request
) -> ProviderConnectionOut:
    """Whether Stripe is connected, and which key (its last four characters); never the
    secrets."""
    row = connections.connection(session, account.account_id, STRIPE)
    return ProviderConnectionOut.build(STRIPE, row, _webhook_url(request, account.account_id))


@router.put("/payment-providers/stripe", summary="Connect Stripe (Tally)")
def put_stripe(
    body: StripeConnectionIn, account: CurrentAccount, session: DbSession, request: Request
) -> ProviderConnectionOut:
    """Store the account's Stripe keys, encrypted with a key derived from TALLY_SECRET_KEY
    (503 when it is not set); replaces keys stored before."""
    row = connections.connect(
        session,
        _settings(request),
        account.account_id,
        STRIPE,
        secret_key=body.secret_key,
        webhook_secret=body.webhook_secret,
        publishable_key=body.publishable_key,
    )
    return ProviderConnectionOut.build(STRIPE, row, _webhook_url(request, account.account_id))


@router.delete("/payment-providers/stripe", summary="Disconnect Stripe (Tally)")
def delete_stripe(
    account: CurrentAccount, session: DbSession, request: Request
) -> ProviderConnectionOut:
    """Stop collecting through Stripe; the stored keys are wiped."""
    row = connections.disconnect(session, account.account_id, STRIPE)
    return ProviderConnectionOut.build(STRIPE, row, _webhook_url(request, account.account_id))
