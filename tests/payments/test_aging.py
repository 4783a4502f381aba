"""The receivables aging report, each figure against numbers computed here from the invoices
the test made; and, with hypothesis, for random partial payments and refunds: the buckets add
up to what is owed, and every invoice's amount due is its gross total less the credit notes
applied, less payments, plus refunds."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import InvoiceStatus, PaymentStatus
from tests.payments.helpers import invoice, new_customer, owed_invoice, pay, refund
from tests.support.api_client import ApiClient

AS_OF = date(2024, 12, 31)
BUCKETS = ("current", "days1To30", "days31To60", "days61To90", "over90Days")


def expected_bucket(due: date, as_of: date) -> str:
    late = (as_of - due).days
    return (
        "current" if late <= 0
        else "days1To30" if late <= 30
        else "days31To60" if late <= 60
        else "days61To90" if late <= 90
        else "over90Days"
    )  # fmt: skip


def _report(api: ApiClient, **params: str) -> dict[str, Any]:
    answer = api.get("/api/receivables/aging", params=params)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_each_bucket_holds_what_its_invoices_owe(
    api: ApiClient, other_api: ApiClient, database: Database, account: Credentials
) -> None:
    acme, globex = new_customer(api, "Acme"), new_customer(api, "Globex")
    # (customer, gross, days past due on AS_OF, paid by hand, status)
    made = [
        (acme, "100.00", -5, "0", InvoiceStatus.SENT),  # current
        (acme, "50.00", 0, "0", InvoiceStatus.FINAL),  # due today: current
        (acme, "30.00", 1, "10.00", InvoiceStatus.SENT),  # 1-30, partly paid
        (acme, "70.00", 30, "0", InvoiceStatus.SENT),  # 1-30
        (globex, "40.00", 31, "0", InvoiceStatus.SENT),  # 31-60
        (globex, "60.00", 61, "0", InvoiceStatus.SENT),  # 61-90
        (globex, "90.00", 90, "0", InvoiceStatus.SENT),  # 61-90
        (globex, "25.00", 91, "0", InvoiceStatus.SENT),  # 90+
        (globex, "80.00", 400, "80.00", InvoiceStatus.SENT),  # PAID: left out
        (globex, "11.00", 10, "0", InvoiceStatus.VOIDED),  # left out
        (globex, "12.00", 10, "0", InvoiceStatus.DRAFT),  # left out
    ]
    expected: dict[str, dict[str, Decimal]] = {}
    for n, (customer, gross, late, paid, status) in enumerate(made):
        invoice_id = owed_invoice(
            api, database, account.account_id, customer, gross=gross,
            due=AS_OF - timedelta(days=late), number=f"AG-{n}", status=status,
        )  # fmt: skip
        if paid != "0":
            pay(api, invoice_id, paid)
        if status in (InvoiceStatus.SENT, InvoiceStatus.FINAL) and paid != gross:
            row = expected.setdefault(customer["id"], dict.fromkeys(BUCKETS, Decimal(0)))
            row[expected_bucket(AS_OF - timedelta(days=late), AS_OF)] += Decimal(gross) - Decimal(
                paid
            )
    # Another account's invoice is in its report, never in this one.
    other_customer = new_customer(other_api)
    owed_invoice(
        other_api, database, _other_account(other_api), other_customer, gross="999.00",
        number="OTHER", due=AS_OF - timedelta(days=5),
    )  # fmt: skip
    assert _report(other_api, asOf=AS_OF.isoformat())["currencies"][0]["totals"]["total"] == (
        "999.00"
    )

    report = _report(api, asOf=AS_OF.isoformat())
    assert report["asOf"] == AS_OF.isoformat()
    [gbp] = report["currencies"]
    assert gbp["currency"] == "GBP"
    assert [c["customerName"] for c in gbp["customers"]] == ["Acme", "Globex"]
    for row in gbp["customers"]:
        want = expected[row["customerId"]]
        assert {b: Decimal(row[b]) for b in BUCKETS} == want
        assert Decimal(row["total"]) == sum(want.values())
    assert Decimal(gbp["totals"]["days1To30"]) == Decimal("90.00")  # 20 + 70
    assert Decimal(gbp["totals"]["days61To90"]) == Decimal("150.00")
    assert Decimal(gbp["totals"]["total"]) == sum(sum(r.values()) for r in expected.values())
    # A later day moves everything along; the default is the account's today.
    later = _report(api, asOf=(AS_OF + timedelta(days=365)).isoformat())
    assert later["currencies"][0]["totals"]["over90Days"] == gbp["totals"]["total"]
    assert _report(api)["asOf"] == api.get(f"/api/customers/{acme['id']}/balance").json()["asOf"]
    assert api.get("/api/receivables/aging", params={"asOf": "soon"}).status_code == 400
    assert api.get("/api/receivables/aging", params={"as_of": "2024-01-01"}).status_code == 400


def _other_account(other_api: ApiClient) -> str:
    return str(other_api.get("/api/sequence-accounts").json()["items"][0]["id"])


Step = tuple[str, int, int]  # ("pay" | "refund", which payment, per mille of what is possible)
steps = st.lists(
    st.tuples(st.sampled_from(["pay", "refund"]), st.integers(0, 5), st.integers(1, 1000)),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    grosses=st.lists(st.integers(1, 100_000), min_size=1, max_size=3),
    taxed=st.booleans(),
    plan=steps,
    late=st.lists(st.integers(-40, 200), min_size=3, max_size=3),
)
def test_amounts_due_and_buckets_add_up_under_payments_and_refunds(
    api: ApiClient,
    database: Database,
    account: Credentials,
    grosses: list[int],
    taxed: bool,
    plan: list[Step],
    late: list[int],
) -> None:
    customer = new_customer(api)
    cents = Decimal("0.01")
    invoices: list[tuple[str, Decimal]] = []
    for n, gross_cents in enumerate(grosses):
        gross = Decimal(gross_cents) * cents
        net = (gross * 5 / 6).quantize(cents) if taxed else gross
        invoices.append((
            owed_invoice(
                api, database, account.account_id, customer, gross=str(gross), net=str(net),
                due=AS_OF - timedelta(days=late[n]), number=f"H-{n}",
            ),
            gross,
        ))  # fmt: skip
    paid: dict[str, Decimal] = {}  # payment id -> amount
    refunded: dict[str, Decimal] = {}
    of_invoice: dict[str, str] = {}
    due = dict(invoices)
    for kind, which, share in plan:
        if kind == "pay":
            invoice_id, _ = invoices[which % len(invoices)]
            amount = (due[invoice_id] * share / 1000).quantize(cents)
            if amount <= 0:
                continue
            payment = pay(api, invoice_id, str(amount))
            paid[payment["id"]] = amount
            refunded[payment["id"]] = Decimal(0)
            of_invoice[payment["id"]] = invoice_id
            due[invoice_id] -= amount
        elif paid:
            payment_id = sorted(paid)[which % len(paid)]
            left = paid[payment_id] - refunded[payment_id]
            amount = (left * share / 1000).quantize(cents)
            if amount <= 0:
                continue
            refund(api, payment_id, str(amount))
            refunded[payment_id] += amount

    notes = api.get("/api/credit-notes", params={"customerId": customer["id"], "limit": 100})
    applied: dict[str, Decimal] = {}
    for note in notes.json()["items"]:
        assert note["status"] == "FINAL" and note["balance"] == "0.00"
        applied[note["invoiceId"]] = applied.get(note["invoiceId"], Decimal(0)) + Decimal(
            note["grossTotal"]
        )
    owed: dict[str, Decimal] = {}
    for invoice_id, gross in invoices:
        answer = invoice(api, invoice_id)
        payments = [p for p, i in of_invoice.items() if i == invoice_id]
        expected = (
            gross
            - applied.get(invoice_id, Decimal(0))
            - sum((paid[p] for p in payments), Decimal(0))
            + sum((refunded[p] for p in payments), Decimal(0))
        )
        assert Decimal(answer["balance"]) == expected == due[invoice_id]
        # Each refund was credited back: the customer owes what it owed before refunds.
        allocated = sum((Decimal(a["amount"]) for a in answer["paymentAllocations"]), Decimal(0))
        assert allocated == sum((paid[p] - refunded[p] for p in payments), Decimal(0))
        status = PaymentStatus(answer["paymentStatus"])
        assert (status is PaymentStatus.PAID) == (expected <= 0)
        if status is not PaymentStatus.PAID:
            owed[invoice_id] = expected

    report = _report(api, asOf=AS_OF.isoformat())
    rows = [
        row
        for currency in report["currencies"]
        for row in currency["customers"]
        if row["customerId"] == customer["id"]
    ]
    total_owed = sum(owed.values(), Decimal(0))
    if not owed:
        assert rows == []
    else:
        [row] = rows
        assert sum(Decimal(row[b]) for b in BUCKETS) == Decimal(row["total"]) == total_owed
        for currency in report["currencies"]:
            totals = currency["totals"]
            assert sum(Decimal(totals[b]) for b in BUCKETS) == Decimal(totals["total"])
    balance = api.get(f"/api/customers/{customer['id']}/balance").json()["balances"]
    [gbp] = balance
    assert Decimal(gbp["outstanding"]) == total_owed
    assert Decimal(gbp["paymentsReceived"]) == sum(paid.values(), Decimal(0))
    assert Decimal(gbp["refunded"]) == sum(refunded.values(), Decimal(0))
    assert gbp["unappliedCredit"] == "0.00"
