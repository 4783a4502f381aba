"""Spend-control alerts (a Tally extension): a threshold on a customer's usage of a metric in
its current billing period, on its spend so far (the IN_PROGRESS invoices' amount), or on a
credit balance falling below a level; the firings that record each crossing once; and the
queue of customers whose usage changed since their alerts were last evaluated.

Scope: an alert names one customer, or a price (an account default: it applies to every
customer whose active billing schedule bills that price). A customer's own live alert of the
same type and metric (USAGE, metric CREDIT_BALANCE) or currency (SPEND, cash CREDIT_BALANCE)
replaces every default of that type and metric or currency for it.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, TenantMixin


class AlertType(StrEnum):
    USAGE = "USAGE"  # a metric's usage in the billing period reaches the threshold (>=)
    SPEND = "SPEND"  # the period's IN_PROGRESS invoice amount reaches the threshold (>=)
    CREDIT_BALANCE = "CREDIT_BALANCE"  # the available balance falls below the level (<)


class Alert(TenantMixin, Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_account_customer", "account_id", "customer_id"),
        Index("ix_alerts_account_price", "account_id", "price_id"),
    )
    account_id_leads_a_key = True

    name: Mapped[str] = mapped_column(String(500))
    type: Mapped[AlertType]
    customer_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("customers.id"), default=None
    )
    price_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("prices.id"), default=None)
    metric_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("usage_metrics.id"), default=None
    )
    threshold: Mapped[Decimal]
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    include_tax: Mapped[bool] = mapped_column(default=False)
    email_addresses: Mapped[list[Any]] = mapped_column(default=list)
    notify_customer: Mapped[bool] = mapped_column(default=False)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)


class AlertFiring(TenantMixin, Base):
    """One crossing of one alert by one customer. The unique key makes it fire once: a
    USAGE or SPEND alert once per billing period (`period_key` "period:<start>"), a balance
    alert once per crossing (`period_key` "crossing:<n>", the next n only once the previous
    firing is resolved, i.e. the balance was back at or above the level)."""

    __tablename__ = "alert_firings"
    __table_args__ = (
        UniqueConstraint("account_id", "alert_id", "customer_id", "period_key"),
        Index("ix_alert_firings_account_customer", "account_id", "customer_id"),
    )
    account_id_leads_a_key = True

    alert_id: Mapped[str] = mapped_column(String(36), ForeignKey("alerts.id"))
    customer_id: Mapped[str] = mapped_column(String(36), ForeignKey("customers.id"))
    period_key: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[date | None] = mapped_column(default=None)
    period_end: Mapped[date | None] = mapped_column(default=None)
    value: Mapped[Decimal]
    threshold: Mapped[Decimal]
    fired_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)


class AlertCheck(TenantMixin, Base):
    """A customer whose usage changed since its alerts were last evaluated, by the name its
    events carry (an alias or its id): ingestion marks, the evaluator claims and deletes.

    Not unique per customer on purpose: a unique key made concurrent batches of the same
    customers wait on each other's commit (ON CONFLICT waits for the other insert), which
    cost a third of ingestion's throughput; the evaluator takes every row of a customer at
    once and evaluates it once."""

    __tablename__ = "alert_checks"
    __table_args__ = (Index("ix_alert_checks_account_dirty", "account_id", "dirty_since"),)
    account_id_leads_a_key = True

    customer_name: Mapped[str] = mapped_column(String(500))
    dirty_since: Mapped[datetime]
