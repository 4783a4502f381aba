"""Every resource type's presenter, registered with `notifications.events` as its module is
imported. The app and the worker's jobs import this module, so whatever emits an event finds
the presenter of its resource (`tests/notifications/test_presenters.py` checks every type)."""

from tally.accounts import presenters as accounts
from tally.alerts import presenters as alerts
from tally.credit_notes import presenters as credit_notes
from tally.credits import presenters as credits
from tally.customers import presenters as customers
from tally.invoices import presenters as invoices
from tally.schedules import presenters as schedules

REGISTERING = (accounts, customers, schedules, invoices, credit_notes, credits, alerts)
