"""Billing through the API: a merchant's catalog, schedules, events in, invoices out."""

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tally.billing.endpoints import BillingExecutionOut
from tally.billing.runs import RunReport
from tally.billing.scheduler import bill_account
from tally.db import Database
from tally.models import Account
from tests.catalog.price_bodies import price_body
from tests.factories import new_customer_id, tax_rate_body
from tests.metering.helpers import create_metric
from tests.schedules.helpers import created, new_product, ok, phase
from tests.support.api_client import ApiClient


class Merchant:
    """One test account's catalog: a product, a 20 % tax rate, metrics made on demand."""

    def __init__(self, api: ApiClient, currency: str = "GBP") -> None:
        self.api = api
        self.currency = currency
        self.product_id = new_product(api)
        self.tax_rate_id = str(
            created(api.post("/api/tax-rates", json=tax_rate_body(amount="0.2")))["id"]
        )

    def customer(self, name: str = "Example Ltd", **fields: Any) -> str:
        return new_customer_id(self.api, name, **fields)

    def usage_metric(self, name: str, event_type: str, **fields: Any) -> str:
        return str(create_metric(self.api, name=name, eventType=event_type, **fields)["id"])

    def seat_metric(self, seat_type: str = "editor") -> str:
        body = {"seatType": seat_type, "label": seat_type.title()}
        return str(created(self.api.post("/api/seat-metrics", json=body))["id"])

    def price(self, structure: dict[str, Any], **fields: Any) -> str:
        body = price_body(self.product_id, structure, currency=self.currency, **fields)
        return str(created(self.api.post("/api/prices", json=body))["id"])

    def schedule(
        self,
        customer_id: str,
        price_ids: list[str],
        start: str,
        end: str | None = None,
        *,
        taxed: bool = True,
        phases: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        phases = phases or [phase(price_ids, start, end)]
        every_price = {p for ph in phases for p in ph["priceIds"]}
        body = {
            "customerId": customer_id,
            "startDate": start,
            "endDate": end,
            "phases": phases,
            "taxRates": [{"priceId": p, "taxRateId": self.tax_rate_id} for p in sorted(every_price)]
            if taxed
            else [],
            "autoIssueInvoices": False,
            "isDraft": False,
            "rollUpBilling": False,
            **fields,
        }
        return created(self.api.post("/api/billing-schedules", json=body))

    @property
    def database(self) -> Database:
        database: Database = self.api.client.app.state.db  # type: ignore[attr-defined]
        return database

    @property
    def account_id(self) -> str:
        if not hasattr(self, "_account_id"):
            page = ok(self.api.get("/api/sequence-accounts"))
            self._account_id = str(page["items"][0]["id"])
        return self._account_id

    def noon(self, day: str | date) -> datetime:
        """Midday of `day` in the account's time zone: a clock on that day."""
        with self.database.session(write=False) as session:
            account = session.get(Account, self.account_id)
            assert account is not None
            zone = ZoneInfo(account.timezone)
        return datetime.combine(date.fromisoformat(str(day)), time(12), zone)

    def bill(self, day: str) -> dict[str, Any]:
        """The regular billing run on `day`: the clock set to that day's noon (the account's
        time zone), so it is the account's today. Answered as the execution endpoint would."""
        return self.answer(bill_account(self.database, self.account_id, now=self.noon(day)))

    def bill_now(self) -> dict[str, Any]:
        """The regular run today, by the machine's clock (what the API's own endpoint does)."""
        return ok(self.api.post("/api/billing/execution/accounts/self"))

    @staticmethod
    def answer(report: RunReport) -> dict[str, Any]:
        return BillingExecutionOut.build(report).model_dump(mode="json", by_alias=True)

    def seats(self, alias: str, seat_type: str, at: str, total: int) -> None:
        body = {"customerAlias": alias, "seatType": seat_type, "eventTimestamp": at, "total": total}
        created(self.api.post("/api/seat-events", json=body))

    def invoices(self, schedule_id: str) -> list[dict[str, Any]]:
        """The schedule's invoices with their lines, by invoice date."""
        page = ok(
            self.api.get("/api/invoices", params={"billingScheduleId": schedule_id, "limit": 100})
        )
        full = [ok(self.api.get(f"/api/invoices/{item['id']}")) for item in page["items"]]
        return sorted(full, key=lambda i: (i["invoiceDate"], i["billingPeriod"]["start"]))

    def invoice_for(self, schedule_id: str, period_start: str) -> dict[str, Any]:
        matching = [
            invoice
            for invoice in self.invoices(schedule_id)
            if invoice["billingPeriod"]["start"] == period_start
        ]
        assert len(matching) == 1, [i["billingPeriod"] for i in self.invoices(schedule_id)]
        return matching[0]


def totals(invoice: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal]:
    return (
        Decimal(invoice["netTotal"]),
        Decimal(invoice["totalTax"]),
        Decimal(invoice["grossTotal"]),
    )


def amounts(invoice: dict[str, Any]) -> dict[str, Decimal]:
    """Each line's net amount by title."""
    return {line["title"]: Decimal(line["netTotal"]) for line in invoice["lineItems"]}
