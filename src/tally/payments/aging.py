"""The receivables aging report: what issued invoices still owe, per currency, by customer and
in total, in buckets of days past due as of a day (current: not yet due, or no due date;
then 1-30, 31-60, 61-90 and over 90 days). The buckets of a customer add up to what it owes,
and the customers' to the total (tests hold it, with hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from tally.payments import queries

BUCKETS = ("current", "days_1_to_30", "days_31_to_60", "days_61_to_90", "over_90_days")
ZERO = Decimal(0)


def bucket_of(due_date: date | None, as_of: date) -> str:
    late = (as_of - due_date).days if due_date is not None else 0
    if late <= 0:
        return "current"
    if late <= 30:
        return "days_1_to_30"
    if late <= 60:
        return "days_31_to_60"
    if late <= 90:
        return "days_61_to_90"
    return "over_90_days"


@dataclass
class Row:
    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, ZERO))

    def add(self, bucket: str, amount: Decimal) -> None:
        self.amounts[bucket] += amount

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), ZERO)


@dataclass
class CustomerRow(Row):
    customer_id: str = ""
    customer_name: str = ""


@dataclass
class CurrencyReport:
    currency: str
    customers: dict[str, CustomerRow] = field(default_factory=dict)
    totals: Row = field(default_factory=Row)


def report(session: Session, account_id: str, as_of: date) -> list[CurrencyReport]:
    """Per currency (alphabetical), its customers (by name) and totals."""
    currencies: dict[str, CurrencyReport] = {}
    for owed in queries.receivables(session, account_id):
        currency = currencies.setdefault(owed.currency, CurrencyReport(owed.currency))
        customer = currency.customers.setdefault(
            owed.customer_id,
            CustomerRow(customer_id=owed.customer_id, customer_name=owed.customer_name),
        )
        bucket = bucket_of(owed.due_date, as_of)
        customer.add(bucket, owed.amount_due)
        currency.totals.add(bucket, owed.amount_due)
    return [currencies[code] for code in sorted(currencies)]
