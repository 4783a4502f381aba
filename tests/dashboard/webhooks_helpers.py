"""What the webhook settings' tests share: the create form, posting with the page's CSRF
token, and the policy as the API answers it."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.dashboard.helpers import page_token
from tests.support.api_client import ApiClient

WEBHOOKS = "/dashboard/settings/webhooks"
POLICY_LINK = re.compile(WEBHOOKS + r"/([0-9a-f-]{36})\?done=created$")


def policy_form(**fields: str) -> dict[str, str]:
    return {
        "name": "Billing system",
        "channel": "WEBHOOK",
        "recipients": "https://hooks.example.com/tally\r\n\r\nhttps://backup.example.com/in",
        "webhook_secret": "",
        **fields,
    }


def post(dashboard: TestClient, path: str, data: dict[str, str]) -> Response:
    token = page_token(dashboard, WEBHOOKS)
    return dashboard.post(path, data={"csrf_token": token, **data})


def create(dashboard: TestClient, **fields: str) -> str:
    answer = post(dashboard, WEBHOOKS, policy_form(**fields))
    assert answer.status_code == 303, answer.text
    found = POLICY_LINK.match(answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1)


def policy(api: ApiClient, policy_id: str) -> dict[str, Any]:
    answer = api.get(f"/api/notifications/policies/{policy_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def policies(api: ApiClient) -> list[dict[str, Any]]:
    answer = api.get("/api/notifications/policies")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def error_of(html: str, field: str) -> str:
    marker = f'id="{field}-error">'
    assert marker in html, html
    return html.split(marker, 1)[1].split("</span>", 1)[0]
