"""Sequence's payment settings operations: `/payments/settings...` (the account's failure
notifications; which provider collects a customer's, a billing schedule's or an invoice's
payments) and `/stripe/collections/settings...` (automatic payments and retries)."""

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession
from tally.api.routing import api_router
from tally.payments import settings_service as service
from tally.payments.settings_schemas import (
    AccountPaymentSettingsIn,
    AccountPaymentSettingsOut,
    BillingSchedulePaymentSettingsIn,
    BillingSchedulePaymentSettingsOut,
    BillingSchedulePaymentSettingsUpdate,
    CustomerPaymentSettingsIn,
    CustomerPaymentSettingsOut,
    InvoicePaymentSettingsIn,
    InvoicePaymentSettingsOut,
    ProviderUpdate,
    StripeCollectionSettingsIn,
    StripeCollectionSettingsOut,
)

router = api_router(tags=["Payment settings"])

ACCOUNT = "/payments/settings"
SCHEDULES = "/payments/settings/billing-schedules"
CUSTOMERS = "/payments/settings/customers"
INVOICES = "/payments/settings/invoices"
STRIPE = "/stripe/collections/settings"
_DELETED = (
    "Marks the settings deleted (they are kept, not found any more) and answers them as they "
    "were; a new one may then be created."
)


@router.get(ACCOUNT, summary="Payment settings for Sequence account")
def get_account_settings(account: CurrentAccount, session: DbSession) -> AccountPaymentSettingsOut:
    """Made with the defaults (send every failure notification) the first time."""
    return AccountPaymentSettingsOut.build(service.account_settings(session, account.account_id))


@router.put(f"{ACCOUNT}/{{id}}", summary="Update payment settings for Sequence account")
def put_account_settings(
    id: str, body: AccountPaymentSettingsIn, account: CurrentAccount, session: DbSession
) -> AccountPaymentSettingsOut:
    row = service.update_account_settings(session, account.account_id, id, body)
    return AccountPaymentSettingsOut.build(row)


@router.get(STRIPE, summary="Stripe collection settings for Sequence account")
def get_stripe_settings(account: CurrentAccount, session: DbSession) -> StripeCollectionSettingsOut:
    """Made with the defaults (no automatic payments; retries 3, 7 and 14 days after the
    invoice is sent) the first time."""
    return StripeCollectionSettingsOut.build(service.stripe_settings(session, account.account_id))


@router.put(f"{STRIPE}/{{id}}", summary="Update Stripe collection settings for Sequence account")
def put_stripe_settings(
    id: str, body: StripeCollectionSettingsIn, account: CurrentAccount, session: DbSession
) -> StripeCollectionSettingsOut:
    """Fields left out (or null) keep their values."""
    row = service.update_stripe_settings(session, account.account_id, id, body)
    return StripeCollectionSettingsOut.build(row)


# --- billing schedules -----------------------------------------------------------------------


@router.post(SCHEDULES, status_code=201, summary="Create billing schedule payment settings")
def post_schedule_settings(
    body: BillingSchedulePaymentSettingsIn, account: CurrentAccount, session: DbSession
) -> BillingSchedulePaymentSettingsOut:
    """The schedule's `paymentProvider` and `autoCharge`; one per schedule (a second:
    400 DuplicateValue). They take precedence over the customer's."""
    row = service.create_schedule_settings(session, account.account_id, body)
    return BillingSchedulePaymentSettingsOut.build(row)


@router.get(
    f"{SCHEDULES}/for-billing-schedule/{{id}}",
    summary="Get billing schedule payment settings by billing schedule ID",
)
def get_settings_for_schedule(
    id: str, account: CurrentAccount, session: DbSession
) -> BillingSchedulePaymentSettingsOut:
    row = service.settings_for_schedule(session, account.account_id, id)
    return BillingSchedulePaymentSettingsOut.build(row)


@router.get(f"{SCHEDULES}/{{id}}", summary="Get billing schedule payment settings")
def get_schedule_settings(
    id: str, account: CurrentAccount, session: DbSession
) -> BillingSchedulePaymentSettingsOut:
    row = service.schedule_settings(session, account.account_id, id)
    return BillingSchedulePaymentSettingsOut.build(row)


@router.put(f"{SCHEDULES}/{{id}}", summary="Update billing schedule payment settings")
def put_schedule_settings(
    id: str, body: BillingSchedulePaymentSettingsUpdate, account: CurrentAccount, session: DbSession
) -> BillingSchedulePaymentSettingsOut:
    row = service.update_schedule_settings(session, account.account_id, id, body)
    return BillingSchedulePaymentSettingsOut.build(row)


@router.delete(
    f"{SCHEDULES}/{{id}}", summary="Delete billing schedule payment settings", description=_DELETED
)
def delete_schedule_settings(
    id: str, account: CurrentAccount, session: DbSession
) -> BillingSchedulePaymentSettingsOut:
    row = service.delete_schedule_settings(session, account.account_id, id)
    return BillingSchedulePaymentSettingsOut.build(row)


# --- customers -------------------------------------------------------------------------------


@router.post(CUSTOMERS, status_code=201, summary="Create customer payment settings")
def post_customer_settings(
    body: CustomerPaymentSettingsIn, account: CurrentAccount, session: DbSession
) -> CustomerPaymentSettingsOut:
    """One per customer (a second: 400 DuplicateValue)."""
    row = service.create_customer_settings(session, account.account_id, body)
    return CustomerPaymentSettingsOut.build(row)


@router.get(f"{CUSTOMERS}/{{id}}", summary="Get customer payment settings")
def get_customer_settings(
    id: str, account: CurrentAccount, session: DbSession
) -> CustomerPaymentSettingsOut:
    row = service.customer_settings(session, account.account_id, id)
    return CustomerPaymentSettingsOut.build(row)


@router.put(f"{CUSTOMERS}/{{id}}", summary="Update customer payment settings")
def put_customer_settings(
    id: str, body: ProviderUpdate, account: CurrentAccount, session: DbSession
) -> CustomerPaymentSettingsOut:
    row = service.update_customer_settings(session, account.account_id, id, body)
    return CustomerPaymentSettingsOut.build(row)


@router.delete(
    f"{CUSTOMERS}/{{id}}", summary="Delete customer payment settings", description=_DELETED
)
def delete_customer_settings(
    id: str, account: CurrentAccount, session: DbSession
) -> CustomerPaymentSettingsOut:
    row = service.delete_customer_settings(session, account.account_id, id)
    return CustomerPaymentSettingsOut.build(row)


# --- invoices --------------------------------------------------------------------------------


@router.post(INVOICES, status_code=201, summary="Create invoice payment settings")
def post_invoice_settings(
    body: InvoicePaymentSettingsIn, account: CurrentAccount, session: DbSession
) -> InvoicePaymentSettingsOut:
    """One per invoice (a second: 400 DuplicateValue); `customerId` is the invoice's
    (another: 400 ReferenceMismatch). They take precedence over the schedule's and the
    customer's."""
    row = service.create_invoice_settings(session, account.account_id, body)
    return InvoicePaymentSettingsOut.build(row)


@router.get(f"{INVOICES}/for-invoice/{{id}}", summary="Get invoice payment settings by invoice ID")
def get_settings_for_invoice(
    id: str, account: CurrentAccount, session: DbSession
) -> InvoicePaymentSettingsOut:
    row = service.settings_for_invoice(session, account.account_id, id)
    return InvoicePaymentSettingsOut.build(row)


@router.get(f"{INVOICES}/{{id}}", summary="Get invoice payment settings")
def get_invoice_settings(
    id: str, account: CurrentAccount, session: DbSession
) -> InvoicePaymentSettingsOut:
    row = service.invoice_settings(session, account.account_id, id)
    return InvoicePaymentSettingsOut.build(row)


@router.put(f"{INVOICES}/{{id}}", summary="Update invoice payment settings")
def put_invoice_settings(
    id: str, body: ProviderUpdate, account: CurrentAccount, session: DbSession
) -> InvoicePaymentSettingsOut:
    row = service.update_invoice_settings(session, account.account_id, id, body)
    return InvoicePaymentSettingsOut.build(row)


@router.delete(
    f"{INVOICES}/{{id}}", summary="Delete invoice payment settings", description=_DELETED
)
def delete_invoice_settings(
    id: str, account: CurrentAccount, session: DbSession
) -> InvoicePaymentSettingsOut:
    row = service.delete_invoice_settings(session, account.account_id, id)
    return InvoicePaymentSettingsOut.build(row)
