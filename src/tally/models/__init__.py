"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from tally.models.account import Account, ApiKey
from tally.models.base import Base
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
from tally.models.metering import (
    AggregationType,
    MetricType,
    UsageEvent,
    UsageMetric,
    UsageRollup,
    UsageRollupValue,
)
from tally.models.product import Product
from tally.models.seat import SeatEvent, SeatMetric
from tally.models.tax_rate import TaxRate, TaxRateVersion

__all__ = [
    "Account",
    "AggregationType",
    "ApiKey",
    "Base",
    "BillingPreference",
    "Contact",
    "Customer",
    "CustomerAlias",
    "CustomerOrganization",
    "CustomerStatus",
    "IdempotencyRecord",
    "MetricType",
    "Product",
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
