"""The notification policy operations whose 400 Sequence documents as `DatabaseErrors`
(`{"errors": [...]}`) answer their 400s with that list, each item a field and a message,
beside Tally's usual `error` object; the other operations keep `error` alone."""

from typing import Any
from urllib.parse import quote

import httpx

from tests.notifications.webhook_support import webhook_policy
from tests.support.api_client import ApiClient
from tests.support.sequence_schema import find_operation, response_errors

POLICIES = "/api/notifications/policies"
URL = "http://127.0.0.1:9/hooks/a"


def listed_errors(response: httpx.Response) -> list[dict[str, Any]]:
    """The `errors` of a 400, checked against Sequence's schema for its operation."""
    assert response.status_code == 400, response.text
    body = response.json()
    path = response.request.url.raw_path.decode().partition("?")[0]  # `%2F` kept encoded
    operation = find_operation(response.request.method, path)
    assert operation is not None
    assert response_errors(operation, 400, body) == []
    error = body["error"]  # Tally's one error shape holds as well
    assert {"type", "message"} <= error.keys()
    errors: list[dict[str, Any]] = body["errors"]
    assert errors, body
    for item in errors:
        assert set(item) == {"field", "message"}, item
        assert isinstance(item["field"], str) and item["message"], item
    assert errors == error.get("details", [{"field": "", "message": error["message"]}])
    return errors


def test_each_documented_operation_lists_its_errors(api: ApiClient) -> None:
    policy = webhook_policy(api, URL, "INVOICE_ISSUED")
    url = f"{POLICIES}/{policy['id']}"

    created = api.post(POLICIES, json={"name": "Ops", "channel": "WEBHOOK", "recipient": [URL]})
    assert "recipient" in [item["field"] for item in listed_errors(created)]
    unknown_type = api.post(f"{url}/notification-types", json={"notificationTypes": ["NOPE"]})
    assert [item["field"] for item in listed_errors(unknown_type)] == ["notificationTypes.0"]
    no_recipients = api.post(f"{url}/recipients", json={"recipients": []})
    assert [item["field"] for item in listed_errors(no_recipients)] == ["recipients"]
    unknown_query = api.delete(f"{url}/recipients/{quote(URL, safe='')}", params={"force": "1"})
    assert [item["field"] for item in listed_errors(unknown_query)] == ["force"]
    last_type = api.delete(f"{url}/notification-types/INVOICE_ISSUED")
    [item] = listed_errors(last_type)
    assert last_type.json()["error"]["type"] == "LastNotificationType"
    assert item["field"] == "" and "delete the policy" in item["message"]
    bad_type = api.delete(f"{url}/notification-types/NOPE")
    assert [item["field"] for item in listed_errors(bad_type)] == ["type"]

    assert api.get(url).json() == policy  # nothing refused changed anything


def test_a_body_that_is_not_json_is_listed_too(api: ApiClient) -> None:
    response = api.post(
        POLICIES, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    [item] = listed_errors(response)
    assert item == {"field": "", "message": "The request body is not valid JSON."}


def test_other_operations_answer_with_error_alone(api: ApiClient) -> None:
    policy = webhook_policy(api, URL, "INVOICE_ISSUED")
    for response in (
        api.get(POLICIES, params={"limit": 0}),
        api.get(f"{POLICIES}/{policy['id']}", params={"force": "1"}),
        api.delete(f"{POLICIES}/{policy['id']}", params={"force": "1"}),
    ):
        assert response.status_code == 400, response.text
        assert set(response.json()) == {"error"}
    # A 404 on a listed operation is no `DatabaseErrors`: only its 400s are.
    missing = api.post(f"{POLICIES}/nope/recipients", json={"recipients": [URL]})
    assert missing.status_code == 404
    assert set(missing.json()) == {"error"}
