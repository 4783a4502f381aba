"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from tally.models.account import Account, ApiKey, DocumentKind, NumberSequence
from tally.models.activity import ActivityLog, ActivityOrigin, ActorType
from tally.models.base import Base
from tally.models.billing_schedule import (
    BillingSchedule,
    BillingSchedulePhase,
    DiscountType,
    PhaseDiscount,
    PhaseMinimum,
    PhasePrice,
    RecurrencePreference,
    ScheduleStatus,
    ScheduleTaxRate,
    SeatDiscountType,
)
from tally.models.credit import (
    CreditGrant,
    CreditLedgerEntry,
    CreditUnitType,
    GrantRefreshFrequency,
    LedgerEntryType,
    PhaseCreditGrant,
    RolloverMode,
)
from tally.models.credit_note import (
    CreditNote,
    CreditNoteApplication,
    CreditNoteLineItem,
    CreditNoteLineItemGroup,
)
from tally.models.customer import (
    BillingPreference,
    Contact,
    Customer,
    CustomerAlias,
    CustomerOrganization,
    CustomerStatus,
    TaxStatus,
)
from tally.models.dashboard import DashboardSession, MerchantUser
from tally.models.idempotency import IdempotencyRecord
from tally.models.invoice import (
    EDITABLE_STATUSES,
    BillingRun,
    BillingRunStatus,
    DueDateSource,
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    InvoiceStatus,
    LineKind,
    PaymentStatus,
)
from tally.models.list_price import ListPrice
from tally.models.metering import (
    AggregationType,
    MetricType,
    UsageEvent,
    UsageMetric,
    UsageRollup,
    UsageRollupValue,
)
from tally.models.notification import (
    DeliveryStatus,
    EmailMessage,
    NotificationChannel,
    NotificationEvent,
    NotificationPolicy,
    WebhookDelivery,
)
from tally.models.portal import PortalSession, PortalSettings, PortalTab
from tally.models.price import (
    USAGE_PRICING,
    BillingFrequency,
    BillingType,
    Price,
    PriceStatus,
    PricingType,
)
from tally.models.product import Product
from tally.models.render_settings import (
    CurrencyConversionDisplay,
    InvoiceRenderSettings,
    PaymentLinkDisplay,
)
from tally.models.seat import SeatEvent, SeatMetric
from tally.models.tax_rate import TaxRate, TaxRateVersion
from tally.models.tax_registration import TaxRegistration

__all__ = [
    "EDITABLE_STATUSES",
    "USAGE_PRICING",
    "Account",
    "ActivityLog",
    "ActivityOrigin",
    "ActorType",
    "AggregationType",
    "ApiKey",
    "Base",
    "BillingFrequency",
    "BillingPreference",
    "BillingRun",
    "BillingRunStatus",
    "BillingSchedule",
    "BillingSchedulePhase",
    "BillingType",
    "Contact",
    "CreditGrant",
    "CreditLedgerEntry",
    "CreditNote",
    "CreditNoteApplication",
    "CreditNoteLineItem",
    "CreditNoteLineItemGroup",
    "CreditUnitType",
    "CurrencyConversionDisplay",
    "Customer",
    "CustomerAlias",
    "CustomerOrganization",
    "CustomerStatus",
    "DashboardSession",
    "DeliveryStatus",
    "DiscountType",
    "DocumentKind",
    "DueDateSource",
    "EmailMessage",
    "GrantRefreshFrequency",
    "IdempotencyRecord",
    "Invoice",
    "InvoiceLineItem",
    "InvoiceLineItemGroup",
    "InvoiceRenderSettings",
    "InvoiceStatus",
    "LedgerEntryType",
    "LineKind",
    "ListPrice",
    "MerchantUser",
    "MetricType",
    "NotificationChannel",
    "NotificationEvent",
    "NotificationPolicy",
    "NumberSequence",
    "PaymentLinkDisplay",
    "PaymentStatus",
    "PhaseCreditGrant",
    "PhaseDiscount",
    "PhaseMinimum",
    "PhasePrice",
    "PortalSession",
    "PortalSettings",
    "PortalTab",
    "Price",
    "PriceStatus",
    "PricingType",
    "Product",
    "RecurrencePreference",
    "RolloverMode",
    "ScheduleStatus",
    "ScheduleTaxRate",
    "SeatDiscountType",
    "SeatEvent",
    "SeatMetric",
    "TaxRate",
    "TaxRateVersion",
    "TaxRegistration",
    "TaxStatus",
    "UsageEvent",
    "UsageMetric",
    "UsageRollup",
    "UsageRollupValue",
    "WebhookDelivery",
]
