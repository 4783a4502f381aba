"""The customer portal's read models: what its pages and its JSON API show, read in a fixed
number of queries whatever the number of invoices, lines, grants, metrics or events.

One module per area: `alerts` (how close the customer's alerts are), `profile`,
`subscriptions`, `credits` (wallet and transactions),
`invoices` (the sent invoices, searched and paged), `periods` (billing periods), `metrics`
(metric names, units and graph colours), `rollups` (a customer's usage per metric and day),
`breakdown` (usage and cost per metric in a period), `series` (usage over time for the
graph) and `usage` (both for the Usage page, sharing their reads); `_common` holds what they
share. Import from
this package: `from tally.portal import data; data.sent_invoices(...)`.

Every function takes the account and customer the viewer is entitled to (from
`portal.access`) and filters every query by both: a viewer sees only its own customer's
rows. Values stay `Decimal`s and dates here; `pages.py` formats them (Babel) and `api.py`
writes them as decimal strings.

Usage comes from the per-day rollups (`metering/rollups.py`), never from raw events, so a
customer with a million events in a period costs the same handful of rows per day. The one
exception is the hourly series of the "1d" range: rollups have no hours, so it aggregates the
events of the last 24 hours, which the events' (account, alias, type, time) index bounds.
"""

from tally.portal.data._common import OPEN_STATUSES, PALETTE, ZERO
from tally.portal.data.alerts import AlertProgress, alert_progress
from tally.portal.data.breakdown import MetricUsage, UsageBreakdown, UsageGroup, usage_breakdown
from tally.portal.data.credits import (
    CreditsView,
    GrantInfo,
    Pocket,
    Transaction,
    Wallet,
    credits,
    has_grants,
    wallet,
)
from tally.portal.data.invoices import (
    InvoiceFilter,
    InvoicePage,
    InvoiceRow,
    InvoiceSearch,
    parse_amount,
    sent_invoice_id,
    sent_invoice_status,
    sent_invoices,
)
from tally.portal.data.metrics import MetricInfo
from tally.portal.data.periods import BillingPeriod, billing_periods, pick_period
from tally.portal.data.profile import Profile, profile
from tally.portal.data.series import MetricSeries, UsageRange, UsageSeries, usage_series
from tally.portal.data.subscriptions import Subscription, subscriptions
from tally.portal.data.usage import period_usage

__all__ = [
    "OPEN_STATUSES",
    "PALETTE",
    "ZERO",
    "AlertProgress",
    "BillingPeriod",
    "CreditsView",
    "GrantInfo",
    "InvoiceFilter",
    "InvoicePage",
    "InvoiceRow",
    "InvoiceSearch",
    "MetricInfo",
    "MetricSeries",
    "MetricUsage",
    "Pocket",
    "Profile",
    "Subscription",
    "Transaction",
    "UsageBreakdown",
    "UsageGroup",
    "UsageRange",
    "UsageSeries",
    "Wallet",
    "alert_progress",
    "billing_periods",
    "credits",
    "has_grants",
    "parse_amount",
    "period_usage",
    "pick_period",
    "profile",
    "sent_invoice_id",
    "sent_invoice_status",
    "sent_invoices",
    "subscriptions",
    "usage_breakdown",
    "usage_series",
    "wallet",
]
