"""Who a batch of schedules bills: each schedule's subject (its customer, and with roll-up
billing its children) and the customer details an invoice keeps as billed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.billing.measures import Subject
from tally.billing.terms import ScheduleRecord
from tally.metering.queries import names_of
from tally.models import BillingPreference, Contact, Customer, TaxStatus


@dataclass(frozen=True)
class CustomerSnapshot:
    """The customer as an invoice shows it, frozen on the invoice when it is written."""

    customer_id: str
    legal_name: str
    emails: tuple[str, ...]
    address: dict[str, Any]
    tax_status: TaxStatus

    @property
    def taxed(self) -> bool:
        return self.tax_status is TaxStatus.TAXED


@dataclass(frozen=True)
class Billed:
    subjects: dict[str, Subject]  # by schedule id; a subject's key is its schedule's id
    snapshots: dict[str, CustomerSnapshot]  # by customer id


def _billing_emails(contacts: Sequence[tuple[str, str, BillingPreference]]) -> tuple[str, ...]:
    """Primary contacts first; contacts that opted out of billing email are left out."""
    billed = sorted(
        (c for c in contacts if c[2] is not BillingPreference.NONE),
        key=lambda c: (c[2] is not BillingPreference.PRIMARY, c[0]),
    )
    return tuple(dict.fromkeys(email for _, email, _ in billed))


def billed(session: Session, account_id: str, schedules: Sequence[ScheduleRecord]) -> Billed:
    """Subjects and snapshots for the schedules, in four queries whatever their number."""
    owners = {s.customer_id for s in schedules}
    rolled_up = {s.customer_id for s in schedules if s.roll_up_billing}
    children: dict[str, list[str]] = defaultdict(list)
    for child_id, parent_id in session.execute(
        select(Customer.id, Customer.parent_id)
        .where(Customer.account_id == account_id, Customer.parent_id.in_(rolled_up))
        .order_by(Customer.id)
    ):
        if parent_id is not None:
            children[parent_id].append(child_id)
    members = owners | {c for ids in children.values() for c in ids}
    names = names_of(session, account_id, members)
    contacts: dict[str, list[tuple[str, str, BillingPreference]]] = defaultdict(list)
    for customer_id, contact_id, email, preference in session.execute(
        select(Contact.customer_id, Contact.id, Contact.email, Contact.billing_preference).where(
            Contact.account_id == account_id,
            Contact.customer_id.in_(owners),
            Contact.archived_at.is_(None),
        )
    ):
        contacts[customer_id].append((contact_id, email, preference))
    snapshots = {
        customer_id: CustomerSnapshot(
            customer_id, legal_name, _billing_emails(contacts[customer_id]), address, tax_status
        )
        for customer_id, legal_name, address, tax_status in session.execute(
            select(Customer.id, Customer.legal_name, Customer.address, Customer.tax_status).where(
                Customer.account_id == account_id, Customer.id.in_(owners)
            )
        )
    }
    subjects = {}
    for schedule in schedules:
        ids = [schedule.customer_id]
        if schedule.roll_up_billing:
            ids += children.get(schedule.customer_id, [])
        subjects[schedule.id] = Subject(schedule.id, {c: names[c] for c in ids})
    return Billed(subjects, snapshots)
