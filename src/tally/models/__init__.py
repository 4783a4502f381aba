"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from tally.models.account import Account, ApiKey, DocumentKind, NumberSequence
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
from tally.models.customer import (
    BillingPreference,
    Contact,
    Customer,
    CustomerAlias,
    CustomerOrganization,
    CustomerStatus,
    TaxStatus,
)
from tally.models.idempotency import IdempotencyRecord
from tally.models.invoice import (
    EDITABLE_STATUSES,
    BillingRun,
    BillingRunStatus,
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    InvoiceStatus,
    LineKind,
    PaymentStatus,
)
from tally.models.metering import (
    AggregationType,
    MetricType,
    UsageEvent,
    UsageMetric,
    UsageRollup,
    UsageRollupValue,
)
from tally.models.price import (
    USAGE_PRICING,
    BillingFrequency,
    BillingType,
    Price,
    PriceStatus,
    PricingType,
)
from tally.models.product import Product
from tally.models.seat import SeatEvent, SeatMetric
from tally.models.tax_rate import TaxRate, TaxRateVersion

__all__ = [
    "EDITABLE_STATUSES",
    "USAGE_PRICING",
    "Account",
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
    "Customer",
    "CustomerAlias",
    "CustomerOrganization",
    "CustomerStatus",
    "DiscountType",
    "DocumentKind",
    "IdempotencyRecord",
    "Invoice",
    "InvoiceLineItem",
    "InvoiceLineItemGroup",
    "InvoiceStatus",
    "LineKind",
    "MetricType",
    "NumberSequence",
    "PaymentStatus",
    "PhaseDiscount",
    "PhaseMinimum",
    "PhasePrice",
    "Price",
    "PriceStatus",
    "PricingType",
    "Product",
    "RecurrencePreference",
    "ScheduleStatus",
    "ScheduleTaxRate",
    "SeatDiscountType",
    "SeatEvent",
    "SeatMetric",
    "TaxRate",
    "TaxRateVersion",
    "TaxStatus",
    "UsageEvent",
    "UsageMetric",
    "UsageRollup",
    "UsageRollupValue",
]
