"""Grants through the API, and ledger movements the way billing records them."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from tally.credits import ledger
from tally.credits.usable import usable_grants
from tally.db import Database
from tally.models import LedgerEntryType
from tests.support.api_client import ApiClient

D = Decimal


def exact(response: httpx.Response) -> Any:
    """The JSON answer with numbers as Decimals, to compare amounts exactly."""
    return json.loads(response.content, parse_float=Decimal, parse_int=Decimal)


def account_id(api: ApiClient) -> str:
    return str(api.get("/api/sequence-accounts").json()["items"][0]["id"])


def grant_body(customer_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "customerId": customer_id,
        "name": "Onboarding credits",
        "creditUnitType": "CURRENCY",
        "currency": "GBP",
        "amount": 100,
        "costOfCredit": 80,
        "effectiveDate": "2024-01-01",
        **fields,
    }


def grant(api: ApiClient, customer_id: str, **fields: Any) -> dict[str, Any]:
    response = api.post("/api/credits", json=grant_body(customer_id, **fields))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = exact(response)
    return body


def usage_metric(api: ApiClient, name: str = "Verifications") -> str:
    body = {"name": name, "eventType": name.lower(), "aggregationType": "COUNT"}
    response = api.post("/api/usage-metrics", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def move(
    database: Database,
    account: str,
    grant: dict[str, Any],
    entry_type: LedgerEntryType,
    amount: Decimal,
    day: date,
    key: str,
    invoice_id: str | None = None,
) -> set[str]:
    """Record one movement of a grant, as billing does (debits, restores)."""
    movement = ledger.Movement(
        grant_id=grant["id"],
        customer_id=grant["customerId"],
        entry_type=entry_type,
        amount=amount,
        effective_date=day,
        dedupe_key=key,
        invoice_id=invoice_id,
    )
    with database.transaction() as session:
        return ledger.record(session, account, [movement])


def usable(
    database: Database, account: str, customer_ids: list[str], on: date
) -> dict[str, Decimal]:
    """Grant id -> balance usable on a day by an invoice of a period ending that day, in
    usable_grants' order."""
    with database.session(write=False) as session:
        return {g.grant_id: g.balance for g in usable_grants(session, account, customer_ids, on)}
