"""Every resource type an event may carry has its presenter registered, by the app and by the
worker's jobs alone; a type without one fails at once, naming it."""

import subprocess
import sys

import pytest

import tally.app  # noqa: F401  (what a server process imports)
from tally.notifications import events


def test_every_resource_type_has_a_presenter() -> None:
    for resource_type in events.RESOURCE_TYPES:
        assert callable(events.presenter(resource_type))


def test_the_worker_registers_them_without_the_app() -> None:
    check = (
        "import sys, tally.jobs\n"
        "from tally.notifications import events\n"
        "assert 'tally.app' not in sys.modules\n"
        "for resource_type in events.RESOURCE_TYPES: events.presenter(resource_type)\n"
    )
    subprocess.run([sys.executable, "-c", check], check=True, timeout=120)


def test_an_unregistered_type_fails_naming_it() -> None:
    with pytest.raises(LookupError, match="QuoteResponse"):
        events.presenter("QuoteResponse")


def test_a_type_has_one_presenter() -> None:
    with pytest.raises(ValueError, match="InvoiceResponse"):
        events.presents(events.INVOICE)(lambda session, account_id, ids: {})
