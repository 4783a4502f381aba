"""The account's invoice render settings (Sequence's `/invoices/render-settings`): whether
invoice PDFs show the payment link (the customer's portal page of the invoice, where it is
viewed and paid) and currency conversions. One row per account, made with the defaults (show
both) the first time it is read; `documents.render` reads it when printing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.core.sql import upsert_insert
from tally.db import new_id
from tally.exceptions import NotFound
from tally.invoices.operation_schemas import RenderSettingsIn
from tally.models import InvoiceRenderSettings
from tally.models.scoped import scoped


def get_or_create(session: Session, account_id: str) -> InvoiceRenderSettings:
    """The account's settings; made with the defaults when it has none (two requests at once
    make one row: the insert skips an existing one)."""
    insert = upsert_insert(session)(InvoiceRenderSettings).values(
        id=new_id(), account_id=account_id
    )
    session.execute(insert.on_conflict_do_nothing(index_elements=["account_id"]))
    settings = session.scalar(scoped(InvoiceRenderSettings, account_id))
    assert settings is not None
    return settings


def update(
    session: Session, account_id: str, settings_id: str, data: RenderSettingsIn
) -> InvoiceRenderSettings:
    """PUT: `paymentLinkDisplay` always, `currencyConversionDisplay` when given. Another
    account's id, or an unknown one: 404."""
    settings = session.scalar(
        scoped(InvoiceRenderSettings, account_id)
        .where(InvoiceRenderSettings.id == settings_id)
        .with_for_update()
    )
    if settings is None:
        raise NotFound.resource("Invoice render settings", settings_id)
    before = _snapshot(settings)
    settings.payment_link_display = data.payment_link_display
    if data.currency_conversion_display is not None:
        settings.currency_conversion_display = data.currency_conversion_display
    changes = activity.changed(before, _snapshot(settings))
    if changes:
        activity.record(
            session,
            account_id,
            verb="UPDATED",
            object_type="INVOICE_RENDER_SETTINGS",
            object_id=settings.id,
            name="Invoice render settings changed",
            summary="Invoice PDFs: " + ", ".join(f"{c['field']} {c['after']}" for c in changes),
            changes=changes,
        )
        session.flush()
    return settings


def _snapshot(settings: InvoiceRenderSettings) -> dict[str, str]:
    return {
        "paymentLinkDisplay": settings.payment_link_display.value,
        "currencyConversionDisplay": settings.currency_conversion_display.value,
    }
