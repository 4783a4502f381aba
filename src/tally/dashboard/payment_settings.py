"""The dashboard's Payments settings (`/dashboard/settings/payments`): connect Stripe (the
keys are stored encrypted and never shown again: the page shows whether it is connected, the
secret key's last four characters and the webhook URL to paste into Stripe), disconnect it,
and the collection settings (automatic payments, retry days, failure notifications).

The same services as the API: `payments.connections` (`PUT/DELETE /api/payment-providers/
stripe`) and `payments.settings_service` (`PUT /api/stripe/collections/settings/{id}`,
`PUT /api/payments/settings/{id}`), with the API's request models, so the rules are the API's.
A refused form answers 422 with the messages next to the fields and saves nothing."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tally.api.deps import DbSession
from tally.dashboard import sessions
from tally.dashboard.form_errors import from_validation
from tally.dashboard.web import HOME, PostedForm, SignedInViewer, render
from tally.exceptions import ProviderNotConnected
from tally.models import FailureNotificationOption, PaymentProviderName, RetryAnchor
from tally.payments import connections, queries
from tally.payments import settings_service as service
from tally.payments.connection_schemas import ProviderConnectionOut, StripeConnectionIn
from tally.payments.settings_schemas import (
    AccountPaymentSettingsIn,
    StripeCollectionSettingsIn,
)
from tally.settings import Settings

PAYMENTS = HOME + "/settings/payments"
STRIPE = PaymentProviderName.STRIPE
SEND = FailureNotificationOption.SEND_NOTIFICATIONS
DO_NOT_SEND = FailureNotificationOption.DO_NOT_SEND_NOTIFICATIONS
KEY_FIELDS = ("secretKey", "webhookSecret", "publishableKey")

router = APIRouter(prefix=PAYMENTS, include_in_schema=False)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _page(
    request: Request,
    session: Session,
    viewer: sessions.Viewer,
    *,
    form: dict[str, Any] | None = None,
    keys: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    saved: str | None = None,
) -> HTMLResponse:
    account_id = viewer.account_id
    webhook_url = f"{_settings(request).public_url.rstrip('/')}/webhooks/stripe/{account_id}"
    connection = ProviderConnectionOut.build(
        STRIPE.value, connections.connection(session, account_id, STRIPE), webhook_url
    )
    return render(
        request,
        "dashboard/settings/payments.html",
        viewer=viewer,
        active=HOME + "/settings",
        status_code=422 if errors else 200,
        connection=connection,
        form=form or _stored_form(session, account_id),
        # Secrets are never printed back, not even those just refused; the publishable key
        # is public by design.
        publishable_key=(keys or {}).get("publishableKey", ""),
        errors=errors or {},
        saved=saved,
        anchors=[anchor.value for anchor in RetryAnchor],
    )


def _stored_form(session: Session, account_id: str) -> dict[str, Any]:
    """The stored settings as the form shows them (the defaults before the first save)."""
    stripe = queries.stripe_settings(session, account_id)
    account = queries.account_settings(session, account_id)
    return {
        "enableAutomaticPayments": bool(stripe and stripe.enable_automatic_payments),
        "autoEnableStripePayments": bool(stripe and stripe.auto_enable_stripe_payments),
        "retryAnchor": stripe.retry_anchor.value if stripe else RetryAnchor.SENT_DATE.value,
        "retryOffsetDays": ", ".join(str(day) for day in stripe.retry_offset_days)
        if stripe
        else "3, 7, 14",
        "merchantNotifications": account is None or account.merchant_notifications is SEND,
        "customerNotifications": account is None or account.customer_notifications is SEND,
    }


def _errors(invalid: ValidationError, fields: tuple[str, ...]) -> dict[str, str]:
    """The model's errors said for people (`form_errors`), by the form field they are about;
    those of no field under "form"."""

    def to_field(loc: Sequence[str | int]) -> str:
        return next((str(part) for part in loc if part in fields), "")

    return from_validation(invalid, to_field).by_field(fields)


@router.get("")
def payment_settings(
    request: Request, viewer: SignedInViewer, session: DbSession, saved: str | None = None
) -> Response:
    return _page(request, session, viewer, saved=saved)


@router.post("/stripe")
def connect_stripe(request: Request, posted: PostedForm, session: DbSession) -> Response:
    fields = {name: posted.fields.get(name, "").strip() for name in KEY_FIELDS}
    try:
        body = StripeConnectionIn.model_validate(
            {name: value for name, value in fields.items() if value}
        )
    except ValidationError as invalid:
        errors = _errors(invalid, KEY_FIELDS)
        return _page(request, session, posted.viewer, keys=fields, errors=errors)
    connections.connect(
        session,
        _settings(request),
        posted.viewer.account_id,
        STRIPE,
        secret_key=body.secret_key,
        webhook_secret=body.webhook_secret,
        publishable_key=body.publishable_key,
    )
    return RedirectResponse(f"{PAYMENTS}?saved=connected", status_code=303)


@router.post("/stripe/disconnect")
def disconnect_stripe(request: Request, posted: PostedForm, session: DbSession) -> Response:
    # Disconnected meanwhile (another tab): the page says it is not connected.
    with suppress(ProviderNotConnected):
        connections.disconnect(session, posted.viewer.account_id, STRIPE)
    return RedirectResponse(f"{PAYMENTS}?saved=disconnected", status_code=303)


COLLECTION_FIELDS = (
    "enableAutomaticPayments",
    "autoEnableStripePayments",
    "retryAnchor",
    "retryOffsetDays",
    "merchantNotifications",
    "customerNotifications",
)


@router.post("")
def save_payment_settings(request: Request, posted: PostedForm, session: DbSession) -> Response:
    fields = posted.fields
    ticked = {name: fields.get(name) == "true" for name in COLLECTION_FIELDS}
    days = [part.strip() for part in fields.get("retryOffsetDays", "").split(",")]
    form = {
        **ticked,
        "retryAnchor": fields.get("retryAnchor", ""),
        "retryOffsetDays": fields.get("retryOffsetDays", ""),
    }
    try:
        stripe_body = StripeCollectionSettingsIn.model_validate(
            {
                "enableAutomaticPayments": ticked["enableAutomaticPayments"],
                "autoEnableStripePayments": ticked["autoEnableStripePayments"],
                "retryAnchor": form["retryAnchor"],
                # Whole days only: "3.5" or "three" is refused as the API refuses it.
                "retryOffsetDays": [int(day) if day.isdigit() else day for day in days if day],
            }
        )
        account_body = AccountPaymentSettingsIn.model_validate(
            {
                "failureNotifications": {
                    name: (SEND if ticked[name] else DO_NOT_SEND).value
                    for name in ("merchantNotifications", "customerNotifications")
                }
            }
        )
    except ValidationError as invalid:
        errors = _errors(invalid, COLLECTION_FIELDS)
        return _page(request, session, posted.viewer, form=form, errors=errors)
    account_id = posted.viewer.account_id
    stripe = service.stripe_settings(session, account_id)
    service.update_stripe_settings(session, account_id, stripe.id, stripe_body)
    account = service.account_settings(session, account_id)
    service.update_account_settings(session, account_id, account.id, account_body)
    return RedirectResponse(f"{PAYMENTS}?saved=settings", status_code=303)
