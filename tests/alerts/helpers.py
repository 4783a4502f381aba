"""Alerts through the API, and what their firings left in the database."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from tally.alerts import checks, evaluation
from tally.core.clock import utcnow
from tally.db import Database
from tally.models import Account, AlertCheck, AlertFiring, EmailMessage, NotificationEvent
from tests.support.api_client import ApiClient


def create_alert(api: ApiClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "Usage cap", "type": "USAGE", "threshold": "10", **fields}
    response = api.post("/api/alerts", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def account_of(api: ApiClient) -> str:
    return str(api.get("/api/sequence-accounts").json()["items"][0]["id"])


def firings(database: Database, account_id: str, alert_id: str) -> list[AlertFiring]:
    with database.session(write=False) as session:
        return list(
            session.scalars(
                select(AlertFiring)
                .where(AlertFiring.account_id == account_id, AlertFiring.alert_id == alert_id)
                .order_by(AlertFiring.fired_at)
            )
        )


def triggered(database: Database, account_id: str) -> list[dict[str, Any]]:
    """The ALERT_TRIGGERED events recorded for the account: their resources."""
    with database.session(write=False) as session:
        rows = session.scalars(
            select(NotificationEvent.resource).where(
                NotificationEvent.account_id == account_id,
                NotificationEvent.notification_type == "ALERT_TRIGGERED",
            )
        )
        return [json.loads(row) for row in rows if row]


def alert_emails(database: Database, account_id: str) -> list[EmailMessage]:
    with database.session(write=False) as session:
        return list(
            session.scalars(
                select(EmailMessage)
                .where(EmailMessage.account_id == account_id, EmailMessage.kind == "ALERT")
                .order_by(EmailMessage.dedupe_key)
            )
        )


def queued(database: Database, account_id: str) -> int:
    with database.session(write=False) as session:
        count = session.scalar(select(func.count()).where(AlertCheck.account_id == account_id))
        return int(count or 0)


def drain(database: Database) -> int:
    """Evaluator passes until the queue is empty (other tests' rows too): customers taken."""
    taken = 0
    while (step := checks.evaluate_marked(database)) > 0:
        taken += step
    return taken


def evaluate_at(
    database: Database, account_id: str, customer_ids: list[str], now: datetime | None = None
) -> list[str]:
    with database.transaction() as session:
        account = session.get(Account, account_id)
        assert account is not None
        return evaluation.evaluate(session, account, customer_ids, now or utcnow())
