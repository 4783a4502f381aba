"""Codes in words: every enum the dashboard shows has a label for each of its values (a new
value fails here until it has one), and the main pages print the words, never the codes."""

from __future__ import annotations

import enum
import inspect
import re

import pytest
from fastapi.testclient import TestClient

import tally.models
from tally.dashboard.labels import LABELS, label
from tally.db import Database
from tests.dashboard.helpers import Merchant
from tests.dashboard.reading import World, get, world
from tests.support.api_client import ApiClient

MODEL_ENUMS = sorted(
    {
        member
        for member in vars(tally.models).values()
        if inspect.isclass(member) and issubclass(member, enum.Enum)
    },
    key=lambda kind: kind.__name__,
)


# The models' enums, and the others the dashboard shows (price form choices, event types ...).
@pytest.mark.parametrize(
    "kind",
    sorted(set(MODEL_ENUMS) | set(LABELS), key=lambda k: k.__name__),
    ids=lambda k: k.__name__,
)
def test_every_enum_of_the_models_has_words_for_every_value(kind: type[enum.Enum]) -> None:
    assert kind in LABELS, f"{kind.__name__} has no labels in tally/dashboard/labels.py"
    table = LABELS[kind]
    assert set(table) == {str(member.value) for member in kind}
    for code, words in table.items():
        assert words and words.strip() == words
        # Words, not the code again (short codes that are words already, like "API", excepted).
        assert "_" not in words and (words != code or len(code) <= 3), (kind.__name__, code)


@pytest.mark.parametrize(
    ("member", "words"),
    [
        (tally.models.InvoiceStatus.IN_PROGRESS, "In progress"),
        (tally.models.PaymentStatus.PARTIALLY_PAID, "Partially paid"),
        (tally.models.BillingType.IN_ARREARS, "In arrears"),
        (tally.models.BillingFrequency.MONTHLY, "Monthly"),
        (tally.models.BillingFrequency.HALF_YEARLY, "Half-yearly"),
        (tally.models.TaxStatus.TAXED, "Taxed"),
        (tally.models.TaxStatus.REVERSE_CHARGED, "Reverse charged"),
        (tally.models.PricingType.SEAT_BASED, "Seat-based"),
        (tally.models.BillingPreference.STANDARD, "In copy of invoices"),
    ],
)
def test_the_words_people_read(member: enum.Enum, words: str) -> None:
    assert label(member) == words
    assert label(str(member.value), type(member).__name__) == words


def test_a_code_kept_as_text_reads_in_words_when_it_reads_one_way() -> None:
    assert label("IN_PROGRESS") == "In progress"
    assert label("NONE") == "NONE"  # "Never", "No rollover", "No invoices" ...: which one?
    assert label("NONE", "GrantRefreshFrequency") == "Never"
    assert label(None) == "\u2014"


# Every code a table knows whose words differ from it: none may show on a page.
CODES = sorted(
    {code for table in LABELS.values() for code, words in table.items() if words.upper() != code}
)
CODE = re.compile(r"\b(" + "|".join(map(re.escape, CODES)) + r")\b")


def test_the_main_pages_print_words_not_codes(
    dashboard: TestClient, database: Database, api: ApiClient, merchant: Merchant
) -> None:
    made: World = world(database, api, merchant.account.account_id)

    invoices, _ = get(dashboard, "/dashboard/invoices")
    assert "In progress Acme Rockets Ltd In progress 1 Jun 2024" in invoices  # number, status
    assert "INV-WORDS-1 Acme Rockets Ltd Sent Partially paid" in invoices
    in_progress, _ = get(dashboard, f"/dashboard/invoices/{made.in_progress_id}")
    assert "Invoice In progress" in in_progress  # its heading: no number, not "Draft"
    assert "Draft" not in in_progress  # nor its document's preview
    partly_paid, _ = get(dashboard, f"/dashboard/invoices/{made.partly_paid_id}")
    assert "Partially paid" in partly_paid
    customer, _ = get(dashboard, f"/dashboard/customers/{made.customer_id}")
    assert "Taxed" in customer and "In progress" in customer
    schedule, _ = get(dashboard, f"/dashboard/billing-schedules/{made.schedule_id}")
    assert "Monthly, in arrears" in schedule
    product, _ = get(dashboard, f"/dashboard/catalog/products/{made.product_id}")
    assert "Monthly, in arrears" in product and "Active" in product

    pages = {
        "invoices": invoices,
        "in progress": in_progress,
        "partly paid": partly_paid,
        "customer": customer,
        "schedule": schedule,
        "product": product,
    }
    for path in (
        "/dashboard/customers",
        "/dashboard/billing-schedules",
        "/dashboard/catalog",
        "/dashboard/credits",
        f"/dashboard/credits/customers/{made.customer_id}",
        "/dashboard/receivables",
    ):
        pages[path], _ = get(dashboard, path)
    for name, text in pages.items():
        assert not CODE.findall(text), (name, sorted(set(CODE.findall(text))))
