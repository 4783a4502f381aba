"""Every code the dashboard shows, in words: `IN_PROGRESS` reads "In progress",
`PARTIALLY_PAID` "Partially paid", `IN_ARREARS` "In arrears", never the code itself.

One table per enum, written out (no label is derived from its code), so a new value fails
`tests/dashboard/test_labels.py` until it has words. Templates print them with the `label`
filter (`dashboard/web.py`): `{{ invoice.status | label }}` for a member, or
`{{ row.status | label("InvoiceStatus") }}` for a code kept as text. Merchant text: English
only (documents and the portal have their own translated words).
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from tally.catalog.price_schemas import OveragesFrequency, ProrationStrategy
from tally.credits.schemas import CreditType, TransactionType
from tally.models import (
    ActivityOrigin,
    ActorType,
    AggregationType,
    AlertType,
    AttemptStatus,
    BillingFrequency,
    BillingPreference,
    BillingRunStatus,
    BillingType,
    CollectionStatus,
    CreditUnitType,
    CurrencyConversionDisplay,
    CustomerStatus,
    DeliveryStatus,
    DiscountType,
    DocumentKind,
    DueDateSource,
    FailureNotificationOption,
    GrantRefreshFrequency,
    GrantWhen,
    InvoiceStatus,
    LedgerEntryType,
    LineKind,
    MetricType,
    NotificationChannel,
    ParameterType,
    PaymentLinkDisplay,
    PaymentMethod,
    PaymentOrigin,
    PaymentProviderName,
    PaymentStatus,
    PortalTab,
    PriceStatus,
    PricingType,
    RechargeStatus,
    RecurrencePreference,
    RetryAnchor,
    RolloverMode,
    ScheduleStatus,
    SeatDiscountType,
    TaxStatus,
    TopUpStatus,
)
from tally.notifications.events import NotificationType
from tally.users.schemas import UserState

LABELS: Final[dict[type[Enum], dict[str, str]]] = {
    DocumentKind: {
        "INVOICE": "Invoice",
        "CREDIT_NOTE": "Credit note",
    },
    ActivityOrigin: {
        "API": "API",
        "DASHBOARD": "Dashboard",
        "SYSTEM": "System",
    },
    ActorType: {
        "API_KEY": "API key",
        "USER": "User",
        "SYSTEM": "System",
    },
    DiscountType: {
        "PERCENTAGE": "Percentage",
        "NOMINAL": "Fixed amount",
    },
    RecurrencePreference: {
        "CONTINUE_FROM_PREVIOUS_PHASE": "Continue from the previous phase",
        "RESET": "Reset",
    },
    ScheduleStatus: {
        "DRAFT": "Draft",
        "PENDING": "Pending",
        "ACTIVE": "Active",
        "SUSPENDED": "Suspended",
        "CANCELLED": "Cancelled",
        "COMPLETED": "Completed",
    },
    SeatDiscountType: {
        "INCLUDED_SEATS_ONLY": "Included seats only",
        "OVERAGE_SEATS_ONLY": "Overage seats only",
        "ALL_SEATS": "All seats",
    },
    CreditUnitType: {
        "CURRENCY": "Currency",
        "METRIC": "Metric",
    },
    GrantRefreshFrequency: {
        "NONE": "Never",
        "MONTHLY": "Monthly",
        "QUARTERLY": "Quarterly",
        "HALF_YEARLY": "Half-yearly",
        "YEARLY": "Yearly",
    },
    LedgerEntryType: {
        "GRANT": "Granted",
        "DEBIT": "Spent",
        "RESTORE": "Restored",
        "EXPIRY": "Expired",
        "ROLLOVER": "Rolled over",
        "REVOKE": "Revoked",
    },
    RolloverMode: {
        "NONE": "No rollover",
        "ON_GRANT_REFRESH": "When the grant refreshes",
        "ON_GRANT_REFRESH_AND_PHASE": "When the grant refreshes or the phase ends",
    },
    BillingPreference: {
        "PRIMARY": "Primary billing contact",
        "STANDARD": "In copy of invoices",
        "NONE": "No invoices",
    },
    CustomerStatus: {
        "ACTIVE": "Active",
        "DRAFT": "Draft",
    },
    TaxStatus: {
        "TAXED": "Taxed",
        "TAX_EXEMPT": "Tax exempt",
        "REVERSE_CHARGED": "Reverse charged",
    },
    BillingRunStatus: {
        "SCHEDULED": "Scheduled",
        "IN_PROGRESS": "In progress",
        "COMPLETED": "Completed",
        "FAILED": "Failed",
    },
    DueDateSource: {
        "CALCULATED": "Calculated",
        "MANUAL": "Manual",
    },
    InvoiceStatus: {
        "IN_PROGRESS": "In progress",
        "DRAFT": "Draft",
        "FINAL": "Final",
        "SENT": "Sent",
        "VOIDED": "Voided",
    },
    LineKind: {
        "PRICE": "Price",
        "DISCOUNT": "Discount",
        "MINIMUM": "Minimum",
        "CREDIT": "Credit",
        "MANUAL": "Manual",
        "THRESHOLD": "Invoiced at threshold",
    },
    PaymentStatus: {
        "UNPAID": "Unpaid",
        "PARTIALLY_PAID": "Partially paid",
        "PAID": "Paid",
        "UNCOLLECTIBLE": "Uncollectible",
    },
    AggregationType: {
        "COUNT": "Count",
        "SUM": "Sum",
        "UNIQUE": "Unique",
        "MAX": "Max",
        "LATEST": "Latest",
        "CUSTOM": "Custom",
    },
    MetricType: {
        "SIMPLE": "Simple",
        "GROUPED": "Grouped",
    },
    ParameterType: {
        "INTEGER": "Integer",
        "POSITIVE_INTEGER": "Positive integer",
        "NUMBER": "Number",
        "POSITIVE_NUMBER": "Positive number",
    },
    DeliveryStatus: {
        "PENDING": "Pending",
        "DELIVERED": "Delivered",
        "FAILED": "Failed",
    },
    NotificationChannel: {
        "WEBHOOK": "Webhook",
        "EMAIL": "Email",
    },
    AttemptStatus: {
        "PENDING": "Pending",
        "REQUIRES_ACTION": "Requires action",
        "SUCCEEDED": "Succeeded",
        "FAILED": "Failed",
        "CANCELLED": "Cancelled",
    },
    CollectionStatus: {
        "SCHEDULED": "Scheduled",
        "OVERDUE_CHECK_SCHEDULED": "Overdue check scheduled",
        "COMPLETED": "Completed",
        "FAILED": "Failed",
        "NOT_REQUIRED": "Not needed",
    },
    PaymentMethod: {
        "BANK_TRANSFER": "Bank transfer",
        "CHEQUE": "Cheque",
        "CASH": "Cash",
        "OTHER": "Other",
    },
    PaymentOrigin: {
        "MANUAL": "Manual",
        "STRIPE": "Stripe",
        "GOCARDLESS": "GoCardless",
    },
    PaymentProviderName: {
        "STRIPE": "Stripe",
        "GOCARDLESS": "GoCardless",
        "NONE": "None",
    },
    FailureNotificationOption: {
        "SEND_NOTIFICATIONS": "Send notifications",
        "DO_NOT_SEND_NOTIFICATIONS": "Don't send notifications",
    },
    RetryAnchor: {
        "SENT_DATE": "From the sent date",
        "DUE_DATE": "From the due date",
    },
    PortalTab: {
        "OVERVIEW": "Overview",
        "INVOICES": "Invoices",
        "USAGE": "Usage",
        "CREDITS": "Credits",
    },
    BillingFrequency: {
        "ONE_TIME": "One-time",
        "MONTHLY": "Monthly",
        "QUARTERLY": "Quarterly",
        "HALF_YEARLY": "Half-yearly",
        "YEARLY": "Yearly",
        "ON_DEMAND": "On demand",
        "PER_EVENT": "Per event",
    },
    BillingType: {
        "IN_ADVANCE": "In advance",
        "IN_ARREARS": "In arrears",
    },
    PriceStatus: {
        "DRAFT": "Draft",
        "ACTIVE": "Active",
    },
    PricingType: {
        "ONE_TIME": "One-time",
        "FIXED": "Fixed",
        "LINEAR": "Linear",
        "PACKAGE": "Package",
        "VOLUME": "Volume",
        "GRADUATED": "Graduated",
        "SEAT_BASED": "Seat-based",
    },
    CurrencyConversionDisplay: {
        "SHOW_CURRENCY_CONVERSION": "Show currency conversion",
        "HIDE_CURRENCY_CONVERSION": "Hide currency conversion",
    },
    PaymentLinkDisplay: {
        "SHOW_PAYMENT_LINK": "Show payment link",
        "HIDE_PAYMENT_LINK": "Hide payment link",
    },
    OveragesFrequency: {
        "NONE": "With the price",
        "MONTHLY": "Monthly",
        "QUARTERLY": "Quarterly",
        "HALF_YEARLY": "Half-yearly",
        "YEARLY": "Yearly",
    },
    ProrationStrategy: {
        "USE_MAXIMUM": "Highest count in the period",
        "PRORATE_INCREMENTS": "Prorate increases",
        "PRORATE_ALL_CHANGES": "Prorate every change",
    },
    NotificationType: {
        "CUSTOMER_CREATED": "Customer created",
        "CUSTOMER_UPDATED": "Customer updated",
        "CUSTOMER_ARCHIVED": "Customer archived",
        "INVOICE_CREATED": "Invoice created",
        "INVOICE_ISSUED": "Invoice issued",
        "INVOICE_UPDATED": "Invoice updated",
        "INTEGRATION_SYNC_COMPLETED": "Integration sync completed",
        "INTEGRATION_WEBHOOK_HANDLED": "Integration webhook handled",
        "MERCHANT_UPDATED": "Account updated",
        "BILLING_SCHEDULE_CREATED": "Billing schedule created",
        "BILLING_SCHEDULE_UPDATED": "Billing schedule updated",
        "BILLING_SCHEDULE_ARCHIVED": "Billing schedule archived",
        "CREDIT_NOTE_CREATED": "Credit note created",
        "CREDIT_NOTE_UPDATED": "Credit note updated",
        "CREDIT_NOTE_ISSUED": "Credit note issued",
        "QUOTE_PUBLISHED": "Quote published",
        "QUOTE_ACCEPTED": "Quote accepted",
        "QUOTE_SIGNED": "Quote signed",
        "INVOICE_REMINDER_SENT": "Invoice reminder sent",
        "WATCHTOWER_TASK_ASSIGNED": "Watchtower task assigned",
        "PAYMENT_SUCCEEDED": "Payment succeeded",
        "PAYMENT_FAILED": "Payment failed",
        "INVOICE_UNCOLLECTIBLE": "Invoice uncollectible",
        "CREDIT_RECHARGED": "Credits recharged",
        "CREDIT_RECHARGE_FAILED": "Credit recharge failed",
        "ALERT_TRIGGERED": "Alert triggered",
    },
    GrantWhen: {
        "ON_PAYMENT": "When paid",
        "IMMEDIATELY": "At once",
    },
    TopUpStatus: {
        "AWAITING_PAYMENT": "Awaiting payment",
        "GRANTED": "Granted",
        "CANCELLED": "Cancelled",
    },
    RechargeStatus: {
        "PENDING": "Charging",
        "SUCCEEDED": "Charged",
        "FAILED": "Failed",
        "CAPPED": "Monthly cap reached",
    },
    CreditType: {
        "CASH": "Cash",
        "USAGE": "Usage",
    },
    TransactionType: {
        "DEBIT": "Debit",
        "CREDIT": "Credit",
    },
    AlertType: {
        "USAGE": "Usage",
        "SPEND": "Spend",
        "CREDIT_BALANCE": "Credit balance",
    },
    UserState: {
        "ACTIVE": "Active",
        "DEACTIVATED": "Deactivated",
    },
}
BY_NAME: Final[dict[str, type[Enum]]] = {kind.__name__: kind for kind in LABELS}


def label(value: Enum | str | None, kind: str | None = None) -> str:
    """The words for `value`: an enum member, or its code with the enum's name (`kind`).
    None reads as a dash; a code no table knows is shown as it is rather than failing the
    page (the test makes sure there is none)."""
    if value is None or value == "":
        return "\u2014"
    if isinstance(value, Enum):
        table = LABELS.get(type(value), {})
        code = str(value.value)
    else:
        table = LABELS.get(BY_NAME[kind], {}) if kind else _SHARED
        code = str(value)
    return table.get(code, code)


def choices(kind: type[Enum], members: list[Enum] | None = None) -> list[tuple[str, str]]:
    """(code, words) of an enum's members, for a <select>."""
    return [(str(member.value), label(member)) for member in (members or list(kind))]


def _shared() -> dict[str, str]:
    """Codes that read the same whichever enum they come from (DRAFT, ACTIVE, MONTHLY ...)."""
    seen: dict[str, set[str]] = {}
    for table in LABELS.values():
        for code, words in table.items():
            seen.setdefault(code, set()).add(words)
    return {code: next(iter(words)) for code, words in seen.items() if len(words) == 1}


_SHARED: Final = _shared()
