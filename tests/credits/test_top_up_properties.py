"""Top-ups over random histories: bought (ON_PAYMENT or IMMEDIATELY), paid, voided.
Whatever happened, a top-up is GRANTED exactly when it was immediate or its invoice is PAID,
CANCELLED exactly when its invoice was voided unpaid, each granted top-up has one grant of
its amount, and every balance (grants, the balances reply, the available balance
auto-recharge reads) is what was granted. Spending is billing's: `test_ledger_properties`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tally.accounts.service import Credentials
from tally.core.clock import local_today
from tally.credits import auto_recharge
from tally.db import Database
from tally.models.scoped import get_account
from tests.credits.helpers import D, exact
from tests.factories import new_customer_id
from tests.support.api_client import ApiClient

CENT = D("0.01")
cents = st.integers(min_value=1, max_value=20_000).map(lambda n: D(n) * CENT)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), cents, cents, st.sampled_from(["ON_PAYMENT", "IMMEDIATELY"])),
        st.tuples(st.just("pay"), st.integers(0, 20)),
        st.tuples(st.just("void"), st.integers(0, 20)),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_top_ups_grants_and_balances_agree(
    api: ApiClient, database: Database, account: Credentials, ops: list[tuple[Any, ...]]
) -> None:
    customer = new_customer_id(api)
    bought: list[dict[str, Any]] = []
    paid: set[str] = set()
    voided: set[str] = set()
    for op in ops:
        if op[0] == "buy":
            _, amount, cost, when = op
            body = {
                "customerId": customer,
                "currency": "GBP",
                "amount": str(amount),
                "cost": str(cost),
                "grantWhen": when,
            }
            answer = api.post("/api/credit-top-ups", json=body)
            assert answer.status_code == 201, answer.text
            bought.append(exact(answer))
        elif op[0] in ("pay", "void") and bought:
            top_up = bought[op[1] % len(bought)]
            invoice_id = top_up["invoiceId"]
            if invoice_id in paid or invoice_id in voided:
                continue
            if op[0] == "pay":
                answer = api.post(
                    f"/api/invoices/{invoice_id}/payments", json={"amount": str(top_up["cost"])}
                )
                assert answer.status_code == 201, answer.text
                paid.add(invoice_id)
            else:
                assert api.post(f"/api/invoices/{invoice_id}/void").status_code == 200
                voided.add(invoice_id)
    granted = D(0)
    for top_up in bought:
        now = exact(api.get(f"/api/credit-top-ups/{top_up['id']}"))
        invoice_id = now["invoiceId"]
        immediate = now["grantWhen"] == "IMMEDIATELY"
        if immediate or invoice_id in paid:
            assert now["status"] == "GRANTED"
            grant = exact(api.get(f"/api/credits/{now['grantId']}"))
            assert grant["amount"] == now["amount"] == grant["balance"]
            granted += now["amount"]
        elif invoice_id in voided:
            assert now["status"] == "CANCELLED" and "grantId" not in now
        else:
            assert now["status"] == "AWAITING_PAYMENT" and "grantId" not in now
    listed = api.get("/api/credits", params={"customerId": customer, "limit": 100}).json()
    assert sum((D(str(g["balance"])) for g in listed["items"]), D(0)) == granted
    with database.transaction() as session:
        today = local_today(get_account(session, account.account_id).timezone)
    with database.transaction() as session:
        found = auto_recharge.available_balances(session, account.account_id, [customer], today)
    assert found.get((customer, "GBP"), D(0)) == granted
    balances = api.get(f"/api/credits/{customer}/balances").json()["items"]
    assert sum((Decimal(b["balance"]) for b in balances), D(0)) == granted
