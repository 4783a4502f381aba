"""Credits on invoices through the API: grants, billed usage, ledger balances."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from tally.db import Database
from tally.models import CreditLedgerEntry
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import linear
from tests.metering.helpers import event, send
from tests.schedules.helpers import created, ok
from tests.support.api_client import ApiClient


def grant(
    api: ApiClient,
    customer_id: str,
    amount: str | int,
    *,
    name: str = "Credits",
    metric_id: str | None = None,
    currency: str = "GBP",
    effective: str = "2024-01-01",
    expiry: str | None = None,
) -> str:
    body: dict[str, Any] = {
        "customerId": customer_id,
        "name": name,
        "creditUnitType": "METRIC" if metric_id else "CURRENCY",
        "currency": currency,
        "amount": int(amount) if str(amount).isdigit() else float(amount),
        "effectiveDate": effective,
    }
    if metric_id:
        body["metricId"] = metric_id
    if expiry:
        body["expiryDate"] = expiry
    return str(created(api.post("/api/credits", json=body))["id"])


class CreditMerchant(Merchant):
    """A merchant billing a usage price per verification (a UNIQUE count of accounts)."""

    def verifications(self, unit_price: str = "1.00") -> tuple[str, str]:
        metric = self.usage_metric(
            "Account verifications",
            "verification",
            aggregationType="UNIQUE",
            aggregationProperty="accountId",
        )
        price = self.price(linear(metric, pricePerUnit=unit_price), name="Verifications")
        return metric, price

    def verify(self, customer_id: str, day: str, *accounts: str) -> None:
        send(
            self.api,
            *[
                event(customer_id, f"{day}T12:00:00Z", "verification", accountId=account)
                for account in accounts
            ],
        )


def credit_lines(invoice: dict[str, Any]) -> list[dict[str, Any]]:
    return [line for line in invoice["lineItems"] if line["kind"] == "CREDIT"]


def ledger(database: Database, account_id: str, grant_id: str) -> list[tuple[str, Decimal]]:
    """The grant's entries (type, amount), in the order recorded."""
    with database.session() as session:
        rows = session.execute(
            select(CreditLedgerEntry.entry_type, CreditLedgerEntry.amount)
            .where(
                CreditLedgerEntry.account_id == account_id, CreditLedgerEntry.grant_id == grant_id
            )
            .order_by(CreditLedgerEntry.created_at, CreditLedgerEntry.id)
        ).all()
    return [(entry_type.value, Decimal(amount)) for entry_type, amount in rows]


def balance(database: Database, account_id: str, grant_id: str) -> Decimal:
    return sum((amount for _, amount in ledger(database, account_id, grant_id)), Decimal(0))


def finalize(api: ApiClient, invoice_id: str) -> dict[str, Any]:
    return ok(api.post(f"/api/invoices/{invoice_id}/finalize"))
