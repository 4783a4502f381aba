"""Archiving a customer: its billing schedules are archived with it and its open invoices
voided. Customers sit below schedules and invoices (both belong to a customer), so the three
meet here."""

from sqlalchemy.orm import Session

from tally.customers import service as customers
from tally.invoices import lifecycle
from tally.models import Customer
from tally.notifications.events import NotificationType
from tally.schedules import service as schedules


def archive_customer(session: Session, account_id: str, customer_id: str) -> Customer:
    """Archive a customer: hidden from default lists, read-only, its history kept.

    Its billing schedules are archived with it and its open (DRAFT, IN_PROGRESS) invoices
    voided (seed 001); finalized and sent invoices stay.
    """
    customer, archived = customers.mark_archived(session, account_id, customer_id)
    if archived:
        schedules.archive_customer_schedules(session, account_id, customer_id)
        lifecycle.void_open_invoices(session, account_id, customer_id)
        customers.announce(session, NotificationType.CUSTOMER_ARCHIVED, customer)
    return customer
