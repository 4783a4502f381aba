"""`POST /webhooks/stripe/{accountId}`: where Stripe sends an account's events (a Tally route
outside /api: no API key, the signature is the authentication; not in the OpenAPI document,
which describes Sequence's API)."""

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from tally.api.guards import reject_unknown_query_parameters
from tally.db import Database
from tally.payments import events
from tally.settings import Settings

router = APIRouter(include_in_schema=False, dependencies=[Depends(reject_unknown_query_parameters)])


@router.post("/webhooks/stripe/{account_id}")
async def receive_stripe_event(account_id: str, request: Request) -> dict[str, str]:
    """Stripe signs the raw body: it is read as sent, before any parsing."""
    payload = await request.body()
    signature = request.headers.get("stripe-signature", "")
    database: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    received = await run_in_threadpool(
        events.receive, database, settings, account_id, payload, signature
    )
    return {"id": received.event_id, "outcome": received.outcome}
