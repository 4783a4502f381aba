"""The analytics figures on the wire (Tally extensions): camelCase, amounts as decimal strings
in the currency's minor unit, one entry per currency (never added across currencies)."""

from __future__ import annotations

from datetime import date as Day

from pydantic import Field

from tally.analytics import service
from tally.analytics.queries import CustomerRevenue, OverdueInvoice
from tally.api.schemas import Schema
from tally.core.wire import money, plain


class MrrPointOut(Schema):
    month: str = Field(description="YYYY-MM")
    date: Day = Field(description="The month's last day (today for the current month).")
    mrr: str


class CurrencyMrrOut(Schema):
    currency: str
    mrr: str = Field(description="Monthly recurring revenue of ACTIVE schedules today.")
    arr: str = Field(description="12 x mrr.")
    schedule_count: int
    customer_count: int
    trend: list[MrrPointOut]

    @classmethod
    def build(cls, figure: service.CurrencyMrr) -> CurrencyMrrOut:
        code = figure.currency
        return cls(
            currency=code,
            mrr=money(figure.mrr, code),
            arr=money(figure.arr, code),
            schedule_count=figure.schedule_count,
            customer_count=figure.customer_count,
            trend=[
                MrrPointOut(month=p.month, date=p.day, mrr=money(p.mrr, code)) for p in figure.trend
            ],
        )


class MrrOut(Schema):
    as_of: Day
    currencies: list[CurrencyMrrOut]


class RevenueMonthOut(Schema):
    month: str = Field(description="YYYY-MM, or `total`.")
    invoice_count: int
    net: str
    tax: str
    gross: str
    credit_note_count: int
    credited_net: str
    credited_tax: str
    credited_gross: str
    net_after_credits: str

    @classmethod
    def build(cls, row: service.RevenueMonth, code: str) -> RevenueMonthOut:
        return cls(
            month=row.month,
            invoice_count=row.invoice_count,
            net=money(row.net, code),
            tax=money(row.tax, code),
            gross=money(row.gross, code),
            credit_note_count=row.credit_note_count,
            credited_net=money(row.credited_net, code),
            credited_tax=money(row.credited_tax, code),
            credited_gross=money(row.credited_gross, code),
            net_after_credits=money(row.net_after_credits, code),
        )


class CurrencyRevenueOut(Schema):
    currency: str
    months: list[RevenueMonthOut]
    total: RevenueMonthOut


class RevenueOut(Schema):
    from_: str = Field(alias="from")
    to: str
    currencies: list[CurrencyRevenueOut]

    @classmethod
    def build(
        cls, months: list[service.Month], figures: list[service.CurrencyRevenue]
    ) -> RevenueOut:
        return cls.model_validate(
            {
                "from": months[0].key,
                "to": months[-1].key,
                "currencies": [
                    CurrencyRevenueOut(
                        currency=f.currency,
                        months=[RevenueMonthOut.build(m, f.currency) for m in f.months],
                        total=RevenueMonthOut.build(f.total, f.currency),
                    )
                    for f in figures
                ],
            }
        )


class CashMonthOut(Schema):
    month: str = Field(description="YYYY-MM, or `total`.")
    payment_count: int
    received: str
    refunded: str
    net: str

    @classmethod
    def build(cls, row: service.CashMonth, code: str) -> CashMonthOut:
        return cls(
            month=row.month,
            payment_count=row.payment_count,
            received=money(row.received, code),
            refunded=money(row.refunded, code),
            net=money(row.net, code),
        )


class CurrencyCashOut(Schema):
    currency: str
    months: list[CashMonthOut]
    total: CashMonthOut


class CashOut(Schema):
    from_: str = Field(alias="from")
    to: str
    currencies: list[CurrencyCashOut]

    @classmethod
    def build(cls, months: list[service.Month], figures: list[service.CurrencyCash]) -> CashOut:
        return cls.model_validate(
            {
                "from": months[0].key,
                "to": months[-1].key,
                "currencies": [
                    CurrencyCashOut(
                        currency=f.currency,
                        months=[CashMonthOut.build(m, f.currency) for m in f.months],
                        total=CashMonthOut.build(f.total, f.currency),
                    )
                    for f in figures
                ],
            }
        )


class AgingBucketOut(Schema):
    bucket: str = Field(
        description="current, days_1_to_30, days_31_to_60, days_61_to_90 or over_90_days."
    )
    invoice_count: int
    amount: str


class CurrencyAgingOut(Schema):
    currency: str
    buckets: list[AgingBucketOut]
    invoice_count: int
    total: str

    @classmethod
    def build(cls, figure: service.CurrencyAging) -> CurrencyAgingOut:
        code = figure.currency
        return cls(
            currency=code,
            buckets=[
                AgingBucketOut(bucket=b.name, invoice_count=b.count, amount=money(b.amount, code))
                for b in figure.buckets
            ],
            invoice_count=figure.count,
            total=money(figure.total, code),
        )


class AgingOut(Schema):
    as_of: Day
    currencies: list[CurrencyAgingOut]


class OverdueInvoiceOut(Schema):
    invoice_id: str
    invoice_number: str | None = None
    customer_id: str
    customer_name: str
    currency: str
    due_date: Day
    days_overdue: int
    gross_total: str
    amount_due: str

    @classmethod
    def build(cls, row: OverdueInvoice, today: Day) -> OverdueInvoiceOut:
        return cls(
            invoice_id=row.invoice_id,
            invoice_number=row.invoice_number,
            customer_id=row.customer_id,
            customer_name=row.customer_name,
            currency=row.currency,
            due_date=row.due_date,
            days_overdue=(today - row.due_date).days,
            gross_total=money(row.gross_total, row.currency),
            amount_due=money(row.amount_due, row.currency),
        )


class OverdueOut(Schema):
    as_of: Day
    items: list[OverdueInvoiceOut]


class CustomerRevenueOut(Schema):
    customer_id: str
    customer_name: str
    invoice_count: int
    net: str
    gross: str

    @classmethod
    def build(cls, row: CustomerRevenue) -> CustomerRevenueOut:
        return cls(
            customer_id=row.customer_id,
            customer_name=row.customer_name,
            invoice_count=row.invoice_count,
            net=money(row.net, row.currency),
            gross=money(row.gross, row.currency),
        )


class CurrencyTopCustomersOut(Schema):
    currency: str
    customers: list[CustomerRevenueOut]


class CustomerUsageOut(Schema):
    customer_id: str
    customer_name: str
    event_count: int
    value: str


class MetricTopCustomersOut(Schema):
    metric_id: str
    metric_name: str
    unit: str | None = None
    measure: str = Field(description="events, sum or max: what `value` is.")
    customers: list[CustomerUsageOut]


class TopCustomersOut(Schema):
    revenue_from: Day
    revenue_to: Day
    by_revenue: list[CurrencyTopCustomersOut]
    usage_from: Day
    usage_to: Day
    by_usage: list[MetricTopCustomersOut]


def top_customers_out(
    revenue_days: tuple[Day, Day],
    by_revenue: list[service.CurrencyTopCustomers],
    usage_days: tuple[Day, Day],
    by_usage: list[service.MetricTopCustomers],
) -> TopCustomersOut:
    return TopCustomersOut(
        revenue_from=revenue_days[0],
        revenue_to=revenue_days[1],
        by_revenue=[
            CurrencyTopCustomersOut(
                currency=f.currency, customers=[CustomerRevenueOut.build(r) for r in f.customers]
            )
            for f in by_revenue
        ],
        usage_from=usage_days[0],
        usage_to=usage_days[1],
        by_usage=[
            MetricTopCustomersOut(
                metric_id=f.metric.id,
                metric_name=f.metric.name,
                unit=f.metric.unit,
                measure=f.measure,
                customers=[
                    CustomerUsageOut(
                        customer_id=c.customer_id,
                        customer_name=c.customer_name,
                        event_count=c.events,
                        value=plain(c.value),
                    )
                    for c in f.customers
                ],
            )
            for f in by_usage
        ],
    )


class UsageDayOut(Schema):
    date: Day
    event_count: int
    value: str


class MetricUsageOut(Schema):
    metric_id: str
    metric_name: str
    unit: str | None = None
    measure: str = Field(description="events, sum or max: what `value` is.")
    total: str
    days: list[UsageDayOut]

    @classmethod
    def build(cls, figure: service.MetricUsage) -> MetricUsageOut:
        return cls(
            metric_id=figure.metric.id,
            metric_name=figure.metric.name,
            unit=figure.metric.unit,
            measure=figure.measure,
            total=plain(figure.total),
            days=[
                UsageDayOut(date=day, event_count=events, value=plain(value))
                for day, events, value in zip(
                    figure.days, figure.events, figure.values, strict=True
                )
            ],
        )


class UsageOut(Schema):
    from_: Day = Field(alias="from")
    to: Day
    metrics: list[MetricUsageOut]
