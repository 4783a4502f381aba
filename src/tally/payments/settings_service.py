"""Payment settings: the account's (failure notifications), its Stripe collection settings
(automatic payments, retries), and which provider collects a customer's, a billing schedule's
or an invoice's payments (`preferences.collection_preference` reads them in that order).

The account's two rows are made with the defaults the first time they are read, so their ids
are stable. A customer, schedule or invoice has at most one live row; deleting one marks it
(`deleted_at`), after which it is not found and a new one may be made. A billing schedule's
row is its `paymentProvider` and `autoCharge` (schedules/schemas.py answers from it). Every
change leaves an activity log entry; a PUT that changes nothing leaves none."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.api import references
from tally.core.clock import utcnow
from tally.core.sql import upsert_insert
from tally.db import is_unique_violation, new_id
from tally.exceptions import DuplicateValue, NotFound, ReferenceMismatch
from tally.models import (
    AccountPaymentSettings,
    BillingSchedule,
    BillingSchedulePaymentSettings,
    Customer,
    CustomerPaymentSettings,
    Invoice,
    InvoicePaymentSettings,
    StripeCollectionSettings,
)
from tally.models.base import TenantMixin
from tally.models.scoped import scoped
from tally.payments import queries
from tally.payments.queries import ObjectSettings
from tally.payments.settings_schemas import (
    AccountPaymentSettingsIn,
    BillingSchedulePaymentSettingsIn,
    BillingSchedulePaymentSettingsUpdate,
    CustomerPaymentSettingsIn,
    InvoicePaymentSettingsIn,
    ProviderUpdate,
    StripeCollectionSettingsIn,
)

ACCOUNT_SETTINGS = "PAYMENT_SETTINGS"
STRIPE_SETTINGS = "STRIPE_COLLECTION_SETTINGS"
CUSTOMER_SETTINGS = "CUSTOMER_PAYMENT_SETTINGS"
SCHEDULE_SETTINGS = "BILLING_SCHEDULE_PAYMENT_SETTINGS"
INVOICE_SETTINGS = "INVOICE_PAYMENT_SETTINGS"
CUSTOMER = "CUSTOMER"
_Tenant = TypeVar("_Tenant", bound=TenantMixin)
_Found = TypeVar("_Found")


# --- the account's ---------------------------------------------------------------------------


def account_settings(session: Session, account_id: str) -> AccountPaymentSettings:
    """The account's payment settings, made with the defaults the first time (two requests
    at once make one row: the insert skips an existing one)."""
    _insert_once(session, AccountPaymentSettings, account_id)
    row = queries.account_settings(session, account_id)
    assert row is not None
    return row


def stripe_settings(session: Session, account_id: str) -> StripeCollectionSettings:
    """The account's Stripe collection settings, made with the defaults the first time."""
    _insert_once(session, StripeCollectionSettings, account_id)
    row = queries.stripe_settings(session, account_id)
    assert row is not None
    return row


def _insert_once(session: Session, model: Any, account_id: str) -> None:
    insert = upsert_insert(session)(model).values(id=new_id(), account_id=account_id)
    session.execute(insert.on_conflict_do_nothing(index_elements=["account_id"]))


def update_account_settings(
    session: Session, account_id: str, settings_id: str, data: AccountPaymentSettingsIn
) -> AccountPaymentSettings:
    account_settings(session, account_id)
    row = _locked(session, AccountPaymentSettings, account_id, settings_id, "Payment settings")
    before = _account_snapshot(row)
    row.merchant_notifications = data.failure_notifications.merchant_notifications
    row.customer_notifications = data.failure_notifications.customer_notifications
    _log_update(session, account_id, ACCOUNT_SETTINGS, row.id, "Payment settings", before,
                _account_snapshot(row))  # fmt: skip
    return row


def update_stripe_settings(
    session: Session, account_id: str, settings_id: str, data: StripeCollectionSettingsIn
) -> StripeCollectionSettings:
    """Only the fields given (not null) change."""
    stripe_settings(session, account_id)
    row = _locked(
        session, StripeCollectionSettings, account_id, settings_id, "Stripe collection settings"
    )
    before = _stripe_snapshot(row)
    if data.enable_automatic_payments is not None:
        row.enable_automatic_payments = data.enable_automatic_payments
    if data.auto_enable_stripe_payments is not None:
        row.auto_enable_stripe_payments = data.auto_enable_stripe_payments
    if data.retry_anchor is not None:
        row.retry_anchor = data.retry_anchor
    if data.retry_offset_days is not None:
        row.retry_offset_days = list(data.retry_offset_days)
    _log_update(session, account_id, STRIPE_SETTINGS, row.id, "Stripe collection settings",
                before, _stripe_snapshot(row))  # fmt: skip
    return row


def _locked(
    session: Session, model: type[_Tenant], account_id: str, row_id: str, kind: str
) -> _Tenant:
    row = session.scalar(scoped(model, account_id).where(model.id == row_id).with_for_update())
    if row is None:
        raise NotFound.resource(kind, row_id)
    return row


def _account_snapshot(row: AccountPaymentSettings) -> dict[str, Any]:
    return {
        "merchantNotifications": row.merchant_notifications.value,
        "customerNotifications": row.customer_notifications.value,
    }


def _stripe_snapshot(row: StripeCollectionSettings) -> dict[str, Any]:
    return {
        "enableAutomaticPayments": row.enable_automatic_payments,
        "autoEnableStripePayments": row.auto_enable_stripe_payments,
        "retryAnchor": row.retry_anchor.value,
        "retryOffsetDays": [int(day) for day in row.retry_offset_days],
    }


def _log_update(
    session: Session,
    account_id: str,
    object_type: str,
    object_id: str,
    what: str,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    target_id: str | None = None,
) -> None:
    changes = activity.changed(before, after)
    if not changes:
        return
    session.flush()
    activity.record(
        session,
        account_id,
        verb="UPDATED",
        object_type=object_type,
        object_id=object_id,
        name=f"{what} changed",
        summary=f"{what}: " + ", ".join(f"{c['field']} {c['after']}" for c in changes),
        changes=changes,
        target_type=CUSTOMER if target_id else None,
        target_id=target_id,
    )


# --- a customer's, a billing schedule's, an invoice's ---------------------------------------


def create_customer_settings(
    session: Session, account_id: str, data: CustomerPaymentSettingsIn
) -> CustomerPaymentSettings:
    customer = references.resolve_one(session, account_id, Customer, "customerId", data.customer_id)
    taken = queries.live_customer_settings(account_id).where(
        CustomerPaymentSettings.customer_id == customer.id
    )
    row = CustomerPaymentSettings(
        account_id=account_id, customer_id=customer.id, payment_provider=data.payment_provider
    )
    _add_once(session, taken, row, f"Customer {customer.id!r} already has payment settings")
    _log(session, "CREATED", CUSTOMER_SETTINGS, row, customer.id)
    return row


def create_schedule_settings(
    session: Session, account_id: str, data: BillingSchedulePaymentSettingsIn
) -> BillingSchedulePaymentSettings:
    schedule = references.resolve_one(
        session, account_id, BillingSchedule, "billingScheduleId", data.billing_schedule_id
    )
    taken = queries.live_schedule_settings(account_id).where(
        BillingSchedulePaymentSettings.billing_schedule_id == schedule.id
    )
    row = BillingSchedulePaymentSettings(
        account_id=account_id,
        billing_schedule_id=schedule.id,
        payment_provider=data.payment_provider,
        auto_charge=bool(data.auto_charge),
    )
    message = f"Billing schedule {schedule.id!r} already has payment settings"
    _add_once(session, taken, row, message)
    _log(session, "CREATED", SCHEDULE_SETTINGS, row, schedule.customer_id)
    return row


def create_invoice_settings(
    session: Session, account_id: str, data: InvoicePaymentSettingsIn
) -> InvoicePaymentSettings:
    invoice = references.resolve_one(session, account_id, Invoice, "invoiceId", data.invoice_id)
    if data.customer_id is not None:
        customer = references.resolve_one(
            session, account_id, Customer, "customerId", data.customer_id
        )
        if customer.id != invoice.customer_id:
            raise ReferenceMismatch(
                f"customerId: invoice {invoice.id!r} is customer {invoice.customer_id!r}'s",
                details=[{"field": "customerId", "message": "is not the invoice's customer"}],
            )
    taken = queries.live_invoice_settings(account_id).where(
        InvoicePaymentSettings.invoice_id == invoice.id
    )
    row = InvoicePaymentSettings(
        account_id=account_id,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        payment_provider=data.payment_provider,
    )
    _add_once(session, taken, row, f"Invoice {invoice.id!r} already has payment settings")
    _log(session, "CREATED", INVOICE_SETTINGS, row, invoice.customer_id)
    return row


def _add_once(session: Session, taken: Any, row: ObjectSettings, message: str) -> None:
    """Add `row` unless its object has a live row already (the partial unique index refuses
    a second made at the same moment)."""
    if session.scalar(taken.with_only_columns(type(row).id).limit(1)) is not None:
        raise DuplicateValue(message)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise DuplicateValue(message) from exc
        raise


def customer_settings(
    session: Session, account_id: str, settings_id: str, *, for_update: bool = False
) -> CustomerPaymentSettings:
    query = queries.live_customer_settings(account_id).where(
        CustomerPaymentSettings.id == settings_id
    )
    return _one(session, query, for_update, "Customer payment settings", settings_id)


def schedule_settings(
    session: Session, account_id: str, settings_id: str, *, for_update: bool = False
) -> BillingSchedulePaymentSettings:
    query = queries.live_schedule_settings(account_id).where(
        BillingSchedulePaymentSettings.id == settings_id
    )
    return _one(session, query, for_update, "Billing schedule payment settings", settings_id)


def invoice_settings(
    session: Session, account_id: str, settings_id: str, *, for_update: bool = False
) -> InvoicePaymentSettings:
    query = queries.live_invoice_settings(account_id).where(
        InvoicePaymentSettings.id == settings_id
    )
    return _one(session, query, for_update, "Invoice payment settings", settings_id)


def settings_for_schedule(
    session: Session, account_id: str, schedule_id: str
) -> BillingSchedulePaymentSettings:
    """The schedule's live settings; 404 when it has none (or is not the account's)."""
    query = queries.live_schedule_settings(account_id).where(
        BillingSchedulePaymentSettings.billing_schedule_id == schedule_id
    )
    return _one(session, query, False, "Payment settings of billing schedule", schedule_id)


def settings_for_invoice(
    session: Session, account_id: str, invoice_id: str
) -> InvoicePaymentSettings:
    query = queries.live_invoice_settings(account_id).where(
        InvoicePaymentSettings.invoice_id == invoice_id
    )
    return _one(session, query, False, "Payment settings of invoice", invoice_id)


def _one(
    session: Session, query: Select[_Found], for_update: bool, kind: str, identifier: str
) -> _Found:
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = session.scalar(query)
    if row is None:
        raise NotFound.resource(kind, identifier)
    return row


def update_customer_settings(
    session: Session, account_id: str, settings_id: str, data: ProviderUpdate
) -> CustomerPaymentSettings:
    row = customer_settings(session, account_id, settings_id, for_update=True)
    before = _provider_snapshot(row)
    row.payment_provider = data.payment_provider
    _log_update(session, account_id, CUSTOMER_SETTINGS, row.id, "Customer payment settings",
                before, _provider_snapshot(row), target_id=row.customer_id)  # fmt: skip
    return row


def update_schedule_settings(
    session: Session, account_id: str, settings_id: str, data: BillingSchedulePaymentSettingsUpdate
) -> BillingSchedulePaymentSettings:
    """`autoCharge` left out (or null) keeps its value."""
    row = schedule_settings(session, account_id, settings_id, for_update=True)
    before = _schedule_snapshot(row)
    row.payment_provider = data.payment_provider
    if data.auto_charge is not None:
        row.auto_charge = data.auto_charge
    customer_id = _schedule_customer(session, account_id, row.billing_schedule_id)
    _log_update(session, account_id, SCHEDULE_SETTINGS, row.id,
                "Billing schedule payment settings", before, _schedule_snapshot(row),
                target_id=customer_id)  # fmt: skip
    return row


def update_invoice_settings(
    session: Session, account_id: str, settings_id: str, data: ProviderUpdate
) -> InvoicePaymentSettings:
    row = invoice_settings(session, account_id, settings_id, for_update=True)
    before = _provider_snapshot(row)
    row.payment_provider = data.payment_provider
    _log_update(session, account_id, INVOICE_SETTINGS, row.id, "Invoice payment settings",
                before, _provider_snapshot(row), target_id=row.customer_id)  # fmt: skip
    return row


def delete_customer_settings(
    session: Session, account_id: str, settings_id: str
) -> CustomerPaymentSettings:
    row = customer_settings(session, account_id, settings_id, for_update=True)
    return _delete(session, CUSTOMER_SETTINGS, row, row.customer_id)


def delete_schedule_settings(
    session: Session, account_id: str, settings_id: str
) -> BillingSchedulePaymentSettings:
    row = schedule_settings(session, account_id, settings_id, for_update=True)
    customer_id = _schedule_customer(session, account_id, row.billing_schedule_id)
    return _delete(session, SCHEDULE_SETTINGS, row, customer_id)


def delete_invoice_settings(
    session: Session, account_id: str, settings_id: str
) -> InvoicePaymentSettings:
    row = invoice_settings(session, account_id, settings_id, for_update=True)
    return _delete(session, INVOICE_SETTINGS, row, row.customer_id)


Row = TypeVar(
    "Row", CustomerPaymentSettings, BillingSchedulePaymentSettings, InvoicePaymentSettings
)


def _delete(session: Session, object_type: str, row: Row, customer_id: str) -> Row:
    """Marked, never removed: what was set, and until when, stays in the database."""
    row.deleted_at = utcnow()
    session.flush()
    _log(session, "DELETED", object_type, row, customer_id)
    return row


def _schedule_customer(session: Session, account_id: str, schedule_id: str) -> str:
    customer_id = session.scalar(
        select(BillingSchedule.customer_id).where(
            BillingSchedule.account_id == account_id, BillingSchedule.id == schedule_id
        )
    )
    assert customer_id is not None
    return customer_id


def _provider_snapshot(row: ObjectSettings) -> dict[str, Any]:
    return {"paymentProvider": row.payment_provider.value}


def _schedule_snapshot(row: BillingSchedulePaymentSettings) -> dict[str, Any]:
    return {"paymentProvider": row.payment_provider.value, "autoCharge": row.auto_charge}


def _log(
    session: Session, verb: str, object_type: str, row: ObjectSettings, customer_id: str
) -> None:
    what = object_type.replace("_", " ").capitalize()
    activity.record(
        session,
        row.account_id,
        verb=verb,
        object_type=object_type,
        object_id=row.id,
        name=f"{what} {verb.lower()}",
        summary=f"{what} {verb.lower()}: collected through {row.payment_provider.value}",
        target_type=CUSTOMER,
        target_id=customer_id,
    )
