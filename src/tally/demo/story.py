"""A year in the life of the demo account, written as it happened: each step runs with the
clock set to its day (`core.clock.at`), through the same services the API calls, so invoices,
payments and the activity log carry the dates they would have had.

The cast (customers `account._populate` creates, by alias):
- Globex Corporation (`globex`), the parent: a platform fee with a 10 % discount, editor
  seats (prorated increments) and API requests on graduated tiers; everything paid, but for a
  service credit (a credit note) one month and the latest invoice paid in part.
- Globex Research Ltd (`globex-research`), a child: API requests by the unit, a prepaid
  credit spent month by month; pays late: one invoice is overdue.
- Globex Labs GmbH (`globex-labs`), a child: editor seats; its latest invoice finalized but
  not sent yet.
- Initech Inc (`initech`), tax exempt, since six months: its schedule issues by hand; one
  invoice voided (raised in error) and the latest still a draft for review.

Every schedule has its current period IN_PROGRESS. Dates are relative to today, so the story
ends a week ago: the last month's invoices are sent, the current ones are being billed."""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.orm import Session

from tally.billing.scheduler import bill_account
from tally.catalog.price_schemas import PriceIn
from tally.catalog.prices import create_price
from tally.catalog.schemas import ProductIn
from tally.catalog.service import create_product
from tally.core.clock import at, local_today, utcnow
from tally.credit_notes import applications as credit_note_applications
from tally.credit_notes import lines as credit_note_lines
from tally.credit_notes import service as credit_notes
from tally.credit_notes.schemas import ApplicationCreate, CreditNoteCreate, LineItemCreate
from tally.credits.schemas import CreditGrantCreate
from tally.db import Database
from tally.invoices import lifecycle
from tally.metering.ingest import IncomingEvent, ingest
from tally.metering.metrics import create_metric
from tally.metering.schemas import UsageMetricIn
from tally.models import Account, CustomerAlias, Invoice, InvoiceStatus, PaymentStatus
from tally.models.scoped import scoped
from tally.payments import manual
from tally.payments.schemas import PaymentCreate
from tally.schedules.schemas import ScheduleCreate
from tally.schedules.service import create_schedule
from tally.seats.schemas import SeatEventIn, SeatMetricIn
from tally.seats.service import create_seat_metric, record_seat_event
from tally.workflows.credit_grants import create_grant

MONTHS = 12  # of history before the current month
INITECH_MONTHS = 6  # Initech signed up half-way through
CURRENCY = "GBP"


def month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Calendar:
    """The story's days in the account's zone. It ends a week before today (`last`: the
    month start of its last billing run), so every step it takes lies in the past."""

    zone: ZoneInfo
    today: date

    @property
    def last(self) -> date:
        return month_start(self.today - timedelta(days=7))

    @property
    def first(self) -> date:
        return month_start(self.last, MONTHS - 1)

    def months(self) -> list[date]:
        """Month starts from the first to the last billing run's."""
        return [month_start(self.last, back) for back in range(MONTHS - 1, -1, -1)]

    def moment(self, day: date, hour: int = 10) -> datetime:
        return datetime.combine(day, time(hour), self.zone)


@dataclass
class Cast:
    account_id: str
    customers: dict[str, str]  # alias -> customer id
    schedules: dict[str, str]  # alias -> billing schedule id


def _price(session: Session, account_id: str, product_id: str, **fields: Any) -> str:
    body = {
        "productId": product_id,
        "currency": CURRENCY,
        "billingFrequency": "MONTHLY",
        "billingType": "IN_ARREARS",
        **fields,
    }
    return create_price(session, account_id, PriceIn.model_validate(body)).id


def _catalog(session: Session, account: Account) -> dict[str, str]:
    """Products, metrics and prices: name -> price id."""
    account_id = account.id
    products = {
        name: create_product(session, account_id, ProductIn(name=name, label=label)).id
        for name, label in (
            ("Platform access", "Monthly platform fee"),
            ("API requests", "Usage: API requests"),
            ("Editor seats", "Per editor seat"),
        )
    }
    requests = create_metric(
        session,
        account,
        UsageMetricIn(
            name="API requests",
            event_type="api_requests",
            aggregation_type="SUM",
            aggregation_property="requests",
            unit="requests",
        ),
    ).id
    editors = create_seat_metric(
        session, account_id, SeatMetricIn(seat_type="editor", label="Editors")
    ).id
    return {
        "platform": _price(
            session,
            account_id,
            products["Platform access"],
            name="Platform fee",
            billingType="IN_ADVANCE",
            structure={"pricingType": "FIXED", "price": "1500.00"},
        ),
        "starter": _price(
            session,
            account_id,
            products["Platform access"],
            name="Starter platform fee",
            billingType="IN_ADVANCE",
            structure={"pricingType": "FIXED", "price": "400.00"},
        ),
        "requests-tiered": _price(
            session,
            account_id,
            products["API requests"],
            name="API requests (graduated)",
            structure={
                "pricingType": "GRADUATED",
                "usageMetricId": requests,
                "usageCalculationMode": "BILLING_PERIOD",
                "tiers": [
                    {"upperBound": "100000", "price": "0.004", "isPricePercentage": False},
                    {"upperBound": "1000000", "price": "0.002", "isPricePercentage": False},
                    {"price": "0.001", "isPricePercentage": False},
                ],
            },
        ),
        "requests": _price(
            session,
            account_id,
            products["API requests"],
            name="API requests",
            structure={
                "pricingType": "LINEAR",
                "usageMetricId": requests,
                "pricePerUnit": "0.005",
                "isPricePercentage": False,
            },
        ),
        "seats": _price(
            session,
            account_id,
            products["Editor seats"],
            name="Editor seats",
            structure={
                "pricingType": "SEAT_BASED",
                "seatMetricId": editors,
                "pricePerSeat": "25.00",
                "prorationStrategy": "PRORATE_INCREMENTS",
                "contractedMinimumSeats": 0,
                "tiers": [],
                "overagesBillingFrequency": "NONE",
                "prorateFlatFees": False,
            },
        ),
    }


def _schedule(
    session: Session,
    account_id: str,
    customer_id: str,
    price_ids: list[str],
    start: date,
    vat: str | None,
    discounts: list[dict[str, Any]] | None = None,
) -> str:
    phase: dict[str, Any] = {"priceIds": price_ids, "startDate": start.isoformat()}
    if discounts:
        phase["discounts"] = discounts
    body = {
        "customerId": customer_id,
        "startDate": start.isoformat(),
        "recurrenceDayOfMonth": 1,
        "phases": [phase],
        "taxRates": [{"priceId": p, "taxRateId": vat} for p in price_ids] if vat else [],
        "autoIssueInvoices": False,  # the story issues them, each on its day
    }
    return create_schedule(session, account_id, ScheduleCreate.model_validate(body)).id


def _usage(cal: Calendar, now: datetime) -> list[IncomingEvent]:
    """A day's API requests for Globex and for Research, growing over the year, up to now."""
    events = []
    day, index = cal.first, 0
    while cal.moment(day, 12) < now:
        for alias, base, growth in (("globex", 6_000, 40), ("globex-research", 1_500, 8)):
            requests = base + growth * index + (index * 7919) % 900
            events.append(
                IncomingEvent(
                    customer_alias=alias,
                    event_type="api_requests",
                    event_timestamp=cal.moment(day, 12).astimezone(UTC),
                    customer_event_id=f"{alias}-{day.isoformat()}",
                    event_properties=msgspec.Raw(json.dumps({"requests": requests}).encode()),
                )
            )
        day, index = day + timedelta(days=1), index + 1
    return events


SEATS = (  # alias, months after the first, day of that month, editors
    ("globex", 0, 1, 8),
    ("globex", 2, 10, 11),
    ("globex", 5, 4, 14),
    ("globex", 8, 21, 12),
    ("globex-labs", 0, 1, 3),
    ("globex-labs", 4, 15, 5),
)


def _aliases(session: Session, account_id: str) -> dict[str, str]:
    query = scoped(CustomerAlias, account_id).with_only_columns(
        CustomerAlias.value, CustomerAlias.customer_id
    )
    return {row.value: row.customer_id for row in session.execute(query)}


def _cast(db: Database, account_id: str, vat: str, cal: Calendar) -> Cast:
    """The catalog and the schedules (a year ago), the year's usage and seats (sent in now),
    and Research's prepaid credit (two months in)."""
    with at(cal.moment(cal.first, 8)), db.transaction() as session:
        account = session.get(Account, account_id)
        assert account is not None
        customers = _aliases(session, account_id)
        prices = _catalog(session, account)
        discount = {
            "restrictToPrices": [prices["platform"]],
            "type": "PERCENTAGE",
            "amount": 10,
            "message": "Annual commitment: 10 % off the platform fee",
            "separateLineItem": False,
        }
        plans = {
            "globex": [prices["platform"], prices["seats"], prices["requests-tiered"]],
            "globex-research": [prices["requests"]],
            "globex-labs": [prices["seats"]],
        }
        schedules = {
            alias: _schedule(
                session,
                account_id,
                customers[alias],
                price_ids,
                cal.first,
                vat,
                [discount] if alias == "globex" else None,
            )
            for alias, price_ids in plans.items()
        }
        initech_start = month_start(cal.last, INITECH_MONTHS - 1)
        schedules["initech"] = _schedule(
            session, account_id, customers["initech"], [prices["starter"]], initech_start, None
        )
    with db.transaction() as session:
        account = session.get(Account, account_id)
        assert account is not None
        for alias, months, day, total in SEATS:
            moment = cal.moment(month_start(cal.first, -months) + timedelta(days=day - 1), 9)
            seats = SeatEventIn(
                customer_alias=alias, seat_type="editor", event_timestamp=moment, total=total
            )
            record_seat_event(session, account_id, seats)
        ingest(session, account, _usage(cal, utcnow()))
    with at(cal.moment(month_start(cal.first, -1), 9)), db.transaction() as session:
        account = session.get(Account, account_id)
        assert account is not None
        grant = {
            "customerId": customers["globex-research"],
            "name": "Prepaid onboarding credit",
            "creditUnitType": "CURRENCY",
            "currency": CURRENCY,
            "amount": "600.00",
        }
        create_grant(session, account, CreditGrantCreate.model_validate(grant))
    return Cast(account_id, customers, schedules)


def _dated(
    session: Session, account_id: str, schedule_id: str, run: date, status: InvoiceStatus
) -> list[Invoice]:
    """The schedule's invoices dated up to the run's day, in `status`, oldest first."""
    query = (
        scoped(Invoice, account_id)
        .where(
            Invoice.billing_schedule_id == schedule_id,
            Invoice.invoice_date <= run,
            Invoice.status == status,
        )
        .order_by(Invoice.invoice_date)
    )
    return list(session.scalars(query))


def _pay(session: Session, account_id: str, invoice: Invoice, amount: Decimal, day: date) -> None:
    body = PaymentCreate(amount=amount, paid_on=day, reference=f"BACS {invoice.invoice_number}")
    manual.record(session, account_id, invoice.id, body)


def _credit_note(session: Session, account: Account, invoice: Invoice) -> None:
    """A service credit against a sent invoice, issued and applied before it was paid."""
    body = CreditNoteCreate(
        invoice_id=invoice.id,
        currency=invoice.currency,
        customer_id=invoice.customer_id,
        memo="Service credit: API outage of 14 hours",
    )
    note = credit_notes.create_credit_note(session, account.id, body)
    line = LineItemCreate(
        title="Service credit: API outage",
        quantity=Decimal(1),
        rate=Decimal("150.00"),
        tax_rate=Decimal("0.2"),
    )
    credit_note_lines.add_line(session, account.id, note.id, line)
    note = credit_notes.transition(
        session, account.id, note.id, credit_notes.Transition.MARK_AS_SENT
    )
    session.refresh(invoice)
    application = ApplicationCreate(
        credit_note_id=note.id,
        invoice_id=invoice.id,
        amount=note.balance,
        currency=note.currency,
        credit_note_balance_version=note.balance_version,
        invoice_balance_version=invoice.balance_version,
    )
    credit_note_applications.apply(session, account.id, application)  # what Globex owes less


def _month(db: Database, cast: Cast, cal: Calendar, run: date, step: int) -> None:
    """Billing runs on the 1st; the merchant sends the closed month's invoices on the 2nd and
    corrects on the 4th; customers pay from the 6th (step: months since the first)."""
    with at(cal.moment(run, 7)):
        bill_account(db, cast.account_id)
    with at(cal.moment(run + timedelta(days=1))), db.transaction() as session:
        _send(session, cast, final=run == cal.last, run=run)
    with at(cal.moment(run + timedelta(days=3))), db.transaction() as session:
        _correct(session, cast, run, step)
    for alias, day in (("globex", 5), ("globex-labs", 8), ("initech", 12), ("globex-research", 20)):
        paid_on = run + timedelta(days=day)
        if paid_on >= cal.today:
            continue
        if alias == "globex-research" and step >= MONTHS - 2:
            continue  # pays late: its last two invoices are unpaid
        with at(cal.moment(paid_on, 15)), db.transaction() as session:
            half = alias == "globex" and run == cal.last  # half now, the rest promised
            _payments(session, cast, alias, run, paid_on, half=half)


def _send(session: Session, cast: Cast, *, final: bool, run: date) -> None:
    account = session.get(Account, cast.account_id)
    assert account is not None
    for alias, schedule_id in cast.schedules.items():
        for invoice in _dated(session, account.id, schedule_id, run, InvoiceStatus.DRAFT):
            if alias == "initech" and final:
                continue  # the latest: a draft, for review
            if alias == "globex-labs" and final:
                lifecycle.finalize_invoice(session, account, invoice.id)  # FINAL, not sent
                continue
            lifecycle.send(session, account, invoice.id, finalizing=True, email=False)


def _correct(session: Session, cast: Cast, run: date, step: int) -> None:
    """A service credit for Globex once; an Initech invoice raised in error, voided."""
    account = session.get(Account, cast.account_id)
    assert account is not None
    sent = InvoiceStatus.SENT
    if step == MONTHS - 3:
        for invoice in _dated(session, account.id, cast.schedules["globex"], run, sent)[-1:]:
            _credit_note(session, account, invoice)
    if step == MONTHS - 4:
        for invoice in _dated(session, account.id, cast.schedules["initech"], run, sent)[-1:]:
            lifecycle.void(session, account, invoice.id)


def _payments(
    session: Session, cast: Cast, alias: str, run: date, paid_on: date, *, half: bool
) -> None:
    """The customer pays what it owes on its invoices sent so far (`half`: half of it)."""
    schedule_id = cast.schedules[alias]
    for invoice in _dated(session, cast.account_id, schedule_id, run, InvoiceStatus.SENT):
        if invoice.payment_status is not PaymentStatus.UNPAID or invoice.balance <= 0:
            continue  # paid, or a credit paid it all
        due = (invoice.balance / 2).quantize(Decimal("0.01")) if half else invoice.balance
        _pay(session, cast.account_id, invoice, due, paid_on)


def tell(db: Database, account_id: str, vat: str) -> None:
    """Write the year: the cast, a billing run each month with what followed it, then the
    regular run as of now (the current periods IN_PROGRESS)."""
    with db.session(write=False) as session:
        account = session.get(Account, account_id)
        assert account is not None
        zone = ZoneInfo(account.timezone)
        cal = Calendar(zone, local_today(account.timezone))
    cast = _cast(db, account_id, vat, cal)
    for step, run in enumerate(cal.months()[1:], start=1):
        _month(db, cast, cal, run, step)
    bill_account(db, account_id)
