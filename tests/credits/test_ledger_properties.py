"""The ledger's invariant over random histories: grants (API), debits, restores and replays
(`ledger.record`, as billing writes them), expiries (`expire_due`) and deletions (API).

Whatever happened, every balance the API shows is the sum of the grant's entries, a balance
item's balance and the customer's total are the sums of its grants' balances, the
transactions add up to them, and `usable_grants` agrees with a model of the same history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tally.accounts.service import Credentials
from tally.credits import ledger
from tally.credits.expiry import expire_due
from tally.db import Database
from tally.models import LedgerEntryType
from tests.credits.helpers import D, exact, grant, move, usable, usage_metric
from tests.factories import new_customer_id
from tests.support.api_client import ApiClient

START = date(2024, 1, 1)
CENT = D("0.01")
ZERO = D(0)


def day(offset: int) -> date:
    return START + timedelta(days=offset)


@dataclass
class GrantModel:
    id: str
    effective: date
    expiry: date | None
    entries: list[tuple[Decimal, date]] = field(default_factory=list)
    deleted: bool = False

    @property
    def total(self) -> Decimal:
        return sum((amount for amount, _ in self.entries), ZERO)

    def usable_on(self, on: date) -> Decimal | None:
        if self.deleted or self.effective > on or (self.expiry is not None and self.expiry < on):
            return None
        as_of = sum((amount for amount, when in self.entries if when <= on), ZERO)
        balance = min(as_of, self.total)
        return balance if balance > 0 else None


cents = st.integers(min_value=1, max_value=50_000).map(lambda n: D(n) * CENT)
grant_op = st.tuples(
    st.just("grant"),
    cents,
    st.sampled_from(["GBP", "USD", "METRIC", "WALLET"]),
    st.integers(0, 30),  # effective day
    st.one_of(st.none(), st.integers(0, 30)),  # days of validity after that
)
operations = st.lists(
    st.one_of(
        grant_op,
        st.tuples(st.just("debit"), st.integers(0, 9), cents, st.integers(0, 70)),
        st.tuples(st.just("restore"), st.integers(0, 9), cents, st.integers(0, 70)),
        st.tuples(st.just("replay"), st.integers(0, 30)),
        st.tuples(st.just("expire"), st.integers(0, 70)),
        st.tuples(st.just("delete"), st.integers(0, 9)),
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=grant_op, ops=operations)
def test_balances_are_always_the_sums_of_entries(
    api: ApiClient,
    database: Database,
    account: Credentials,
    first: tuple[Any, ...],
    ops: list[tuple[Any, ...]],
) -> None:
    customer = new_customer_id(api)
    metric: list[str] = []
    grants: list[GrantModel] = []
    recorded: list[tuple[dict[str, Any], LedgerEntryType, Decimal, date, str]] = []

    def add_grant(amount: Decimal, kind: str, start: int, validity: int | None) -> None:
        fields: dict[str, Any] = {
            "amount": float(amount),
            "effectiveDate": day(start).isoformat(),
            "currency": "USD" if kind != "GBP" else "GBP",
            "costOfCredit": 0,
        }
        if validity is not None:
            fields["expiryDate"] = day(start + validity).isoformat()
        if kind == "METRIC":
            if not metric:
                metric.append(usage_metric(api, f"Calls {customer}"))
            fields |= {"creditUnitType": "METRIC", "metricId": metric[0]}
        if kind == "WALLET":
            fields["creditsPerCurrencyUnit"] = 10
        created = grant(api, customer, **fields)
        model = GrantModel(
            created["id"],
            day(start),
            None if validity is None else day(start + validity),
            [(amount, day(start))],
        )
        grants.append(model)

    def movement(index: int, kind: LedgerEntryType, amount: Decimal, when: date) -> None:
        live = [g for g in grants if not g.deleted]
        if not live:
            return
        target = live[index % len(live)]
        key = f"{kind.value.lower()}:{len(recorded)}:{target.id}"
        body = {"id": target.id, "customerId": customer}
        signed = -amount if kind is LedgerEntryType.DEBIT else amount
        assert move(database, account.account_id, body, kind, signed, when, key) == {key}
        recorded.append((body, kind, signed, when, key))
        target.entries.append((signed, when))

    add_grant(*first[1:])
    for op in ops:
        if op[0] == "grant":
            add_grant(*op[1:])
        elif op[0] == "debit":
            movement(op[1], LedgerEntryType.DEBIT, op[2], day(op[3]))
        elif op[0] == "restore":
            movement(op[1], LedgerEntryType.RESTORE, op[2], day(op[3]))
        elif op[0] == "replay" and recorded:
            # The same movement again (a retried writer): recorded once.
            body, kind, signed, when, key = recorded[op[1] % len(recorded)]
            assert move(database, account.account_id, body, kind, signed, when, key) == set()
        elif op[0] == "expire":
            today = day(op[1])
            expire_due(database, today=today)
            for model in grants:
                due = model.expiry is not None and model.expiry < today
                if due and not model.deleted and model.total > 0:
                    # Whatever it holds, again after a restore; dated the day after expiry,
                    # or its latest entry's day if later.
                    assert model.expiry is not None
                    latest = max(when for _, when in model.entries)
                    when = max(model.expiry + timedelta(days=1), latest)
                    model.entries.append((-model.total, when))
        elif op[0] == "delete":
            live = [g for g in grants if not g.deleted]
            if live:
                target = live[op[1] % len(live)]
                response = api.delete(f"/api/credits/{target.id}")
                assert response.status_code == 200, response.text
                assert exact(response)["balance"] == 0
                if target.total:
                    target.entries.append((-target.total, date.max))  # a REVOKE, dated today
                target.deleted = True

    _check(api, database, account, customer, grants)


def _check(
    api: ApiClient,
    database: Database,
    account: Credentials,
    customer: str,
    grants: list[GrantModel],
) -> None:
    # The ledger itself: every grant's entries sum to the model's.
    with database.session(write=False) as session:
        entries = ledger.customer_entries(session, account.account_id, [customer])
        stored = ledger.balances(session, account.account_id, [g.id for g in grants])
    sums: dict[str, Decimal] = {}
    for entry in entries:
        sums[entry.grant_id] = sums.get(entry.grant_id, ZERO) + entry.amount
    for model in grants:
        assert sums[model.id] == stored[model.id] == model.total
        if model.deleted:
            assert model.total == 0

    live = {g.id: g for g in grants if not g.deleted}
    # Each grant, and the list.
    for model in grants:
        response = api.get(f"/api/credits/{model.id}")
        if model.deleted:
            assert response.status_code == 404
        else:
            assert exact(response)["balance"] == model.total
    listed = exact(api.get("/api/credits", params={"customerId": customer, "limit": 100}))
    assert {g["id"]: g["balance"] for g in listed["items"]} == {
        g.id: g.total for g in live.values()
    }

    # Balances: grants, items and the customer's total; transactions add up.
    items = api.get(f"/api/credits/{customer}/balances").json()["items"]
    shown: dict[str, Decimal] = {}
    for item in items:
        balances = {g["id"]: D(g["currentBalance"]) for g in item["grants"]}
        assert D(item["balance"]) == sum(balances.values(), ZERO)
        for transaction in item["transactions"]:
            sign = 1 if transaction["type"] == "CREDIT" else -1
            assert D(transaction["amount"]) >= 0
            balances[transaction["grantId"]] -= sign * D(transaction["amount"])
        assert set(balances.values()) <= {ZERO}  # the transactions make up every balance
        shown |= {g["id"]: D(g["currentBalance"]) for g in item["grants"]}
    assert shown == {g.id: g.total for g in live.values()}
    assert sum((D(item["balance"]) for item in items), ZERO) == sum(
        (g.total for g in live.values()), ZERO
    )
    listed_with_credits = exact(api.get(f"/api/credits/{customer}/grants"))["items"]
    with_credits = {g["id"]: g["balance"] for g in listed_with_credits}
    assert with_credits == {g.id: g.total for g in live.values() if g.total != 0}

    # usable_grants, on days before, within and after the history.
    for offset in (0, 15, 31, 45, 71, 400):
        on = day(offset)
        expected = {g.id: balance for g in grants if (balance := g.usable_on(on)) is not None}
        assert usable(database, account.account_id, [customer], on) == expected
