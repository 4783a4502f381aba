"""Server-side request forgery through webhooks (issue 16, item 1): a tenant names the URL and
Tally's servers make the request, so a policy aimed inside (Tally's own pages, PostgreSQL's
port, the cloud's metadata service, the private network) must be refused when set, and again
when connecting, after DNS; and whatever a receiver answers, the delivery log shows only its
status and Tally's own words.

`strict_api` is an app as deployed by default (no allow-list); `api` is the run's shared app,
which allows 127.0.0.1 as an operator allows internal receivers (the webhook tests' own)."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import update

from tally.accounts.service import Credentials
from tally.app import create_app
from tally.core.clock import utcnow
from tally.core.hosts import AllowList
from tally.db import Database
from tally.models import DeliveryStatus, NotificationChannel, NotificationPolicy, WebhookDelivery
from tally.notifications.destinations import address_refusal, refusal
from tally.notifications.webhooks import deliver_due
from tally.settings import Settings
from tests.dashboard.helpers import add_user, signed_in
from tests.dashboard.webhooks_helpers import WEBHOOKS, error_of, policy_form, post
from tests.factories import new_customer
from tests.notifications.webhook_support import (
    Receiver,
    deliveries,
    receivers,  # noqa: F401 - the fixture
    start,
    webhook_policy,
)
from tests.support.api_client import ApiClient

POLICIES = "/api/notifications/policies"
PUBLIC = "https://hooks.example.com/tally"

# What the attack run tried, and why each is refused.
INSIDE = [
    ("http://127.0.0.1:8000/dashboard", "loopback address 127.0.0.1"),  # Tally's own pages
    ("http://127.0.0.1:5432/", "loopback address 127.0.0.1"),  # PostgreSQL
    ("http://localhost:8000/api/customers", "local name localhost"),
    ("http://LOCALHOST./", "local name localhost"),
    ("http://tally.localhost/", "local name tally.localhost"),
    ("http://postgres:5432/", "local name postgres"),  # a compose service
    ("http://[::1]:8000/", "loopback address ::1"),
    ("http://0.0.0.0:8000/", "unspecified address 0.0.0.0"),
    ("http://0:8000/", "unspecified address 0.0.0.0"),
    ("http://2130706433:8000/", "loopback address 127.0.0.1"),
    ("http://0x7f000001:8000/", "loopback address 127.0.0.1"),
    ("http://127.1:8000/", "loopback address 127.0.0.1"),
    ("http://[::ffff:127.0.0.1]:8000/", "loopback address 127.0.0.1"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata address 169.254.169.254"),
    ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata name"),
    ("http://[fd00:ec2::254]/", "cloud metadata address fd00:ec2::254"),
    ("http://10.0.0.1/", "private address 10.0.0.1"),
    ("http://172.16.0.1/", "private address 172.16.0.1"),
    ("http://192.168.1.1/", "private address 192.168.1.1"),
    ("http://100.64.0.1/", "shared (carrier-grade NAT) address 100.64.0.1"),
    ("http://[fd12:3456::1]/", "unique-local address fd12:3456::1"),
    ("http://[fe80::1]/", "link-local address fe80::1"),
    ("http://169.254.1.1/", "link-local address 169.254.1.1"),
    ("http://224.0.0.1/", "multicast address 224.0.0.1"),
    ("http://[ff02::1]/", "multicast address ff02::1"),
    ("http://240.0.0.1/", "reserved address 240.0.0.1"),
    ("http://[2002:a00:1::]/", "private address 10.0.0.1"),  # 6to4
]


def refused_for(answer: Any, url: str, why: str) -> None:
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["details"][0]["field"] == "recipients"
    message = error["details"][0]["message"]
    assert url in message and why in message, message
    assert "TALLY_WEBHOOK_ALLOWED_HOSTS" in message


@pytest.mark.parametrize(("url", "why"), INSIDE)
def test_internal_destinations_are_refused_when_a_policy_is_created(
    strict_api: ApiClient, url: str, why: str
) -> None:
    body = {"name": "Probe", "recipients": [PUBLIC, url], "channel": "WEBHOOK"}
    refused_for(strict_api.post(POLICIES, json=body), url, why)
    assert strict_api.get(POLICIES).json()["items"] == []


def test_internal_destinations_are_refused_when_recipients_are_added(
    strict_api: ApiClient,
) -> None:
    policy = webhook_policy(strict_api, PUBLIC)
    for url, why in INSIDE:
        answer = strict_api.post(
            f"{POLICIES}/{policy['id']}/recipients", json={"recipients": [url]}
        )
        refused_for(answer, url, why)
    assert strict_api.get(f"{POLICIES}/{policy['id']}").json()["recipients"] == [PUBLIC]


def test_the_dashboard_refuses_them_too(
    strict_app: FastAPI, database: Database, account: Credentials, strict_api: ApiClient
) -> None:
    with signed_in(strict_app, add_user(database, account)) as dashboard:
        answer = post(dashboard, WEBHOOKS, policy_form(recipients="http://10.0.0.1/hooks"))
        assert answer.status_code == 422
        assert "private address 10.0.0.1" in error_of(answer.text, "recipients")
        policy = webhook_policy(strict_api, PUBLIC)
        added = post(
            dashboard,
            f"{WEBHOOKS}/{policy['id']}/recipients",
            {"recipients": "http://169.254.169.254/latest/meta-data/"},
        )
        assert added.status_code == 422
        assert "cloud metadata address" in error_of(added.text, "recipients")
    assert strict_api.get(f"{POLICIES}/{policy['id']}").json()["recipients"] == [PUBLIC]


def test_the_operator_allow_list_lets_named_internal_receivers_in(
    settings: Settings, database: Database, account: Credentials
) -> None:
    allowing = settings.model_copy(
        update={"webhook_allowed_hosts": "hooks.internal, 10.1.0.0/16, [fd12::1]"}
    )
    with TestClient(create_app(allowing, database)) as http:
        api = ApiClient(http, (account.api_key, account.api_secret))
        for url in (
            "http://hooks.internal:8080/in",
            "http://10.1.2.3/in",
            "http://[fd12::1]/in",
            PUBLIC,
            "http://8.8.8.8/in",
            "https://[2001:4860:4860::8888]/in",
        ):
            webhook_policy(api, url)
        for url, why in [
            ("http://10.2.0.1/", "private address 10.2.0.1"),
            ("http://other.internal/", "local name other.internal"),
            ("http://127.0.0.1/", "loopback address 127.0.0.1"),
        ]:
            body = {"name": "Probe", "recipients": [url], "channel": "WEBHOOK"}
            refused_for(api.post(POLICIES, json=body), url, why)


def test_a_malformed_allow_list_stops_the_start() -> None:
    with pytest.raises(ValidationError, match=re.escape("10.0.0.0/33")):
        Settings(webhook_allowed_hosts="hooks.internal,10.0.0.0/33")
    with pytest.raises(ValidationError, match="no host name"):
        Settings(webhook_allowed_hosts="http://hooks.internal/")
    parsed = Settings(
        webhook_allowed_hosts=" Hooks.Internal. ,10.0.0.0/8,[::1],"
    ).webhook_allow_list
    assert parsed.names == {"hooks.internal"}
    assert [str(n) for n in parsed.networks] == ["10.0.0.0/8", "::1/128"]


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_numeric_form_of_an_address_is_judged_as_the_address(number: int) -> None:
    address = ipaddress.IPv4Address(number)
    expected = address_refusal(address, AllowList())
    forms = [str(address), str(number), f"0x{number:x}"]
    if number < 2**24:  # a.b as the resolver reads it: a, then 24 bits
        forms.append(f"0.{number}")
    assert {form: refusal(f"http://{form}/", AllowList()) for form in forms} == dict.fromkeys(
        forms, expected
    )
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    assert refusal(f"http://[{mapped}]/", AllowList()) == (expected and f"{expected} (as {mapped})")


@given(st.ip_addresses())
def test_an_address_allowed_when_set_is_allowed_when_connecting(address: Any) -> None:
    host = f"[{address}]" if address.version == 6 else str(address)
    assert refusal(f"http://{host}/", AllowList()) == address_refusal(address, AllowList())


# --- when connecting -------------------------------------------------------------------------


@pytest.fixture
def dns(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[dict[str, list[list[str]]], Counter[str]]]:
    """Names this test answers for itself (the network has no DNS to aim): name -> one list of
    addresses per lookup, the last repeated; and how often each was looked up. Other names,
    and numeric lookups, go to the system."""
    answers: dict[str, list[list[str]]] = {}
    lookups: Counter[str] = Counter()
    real = socket.getaddrinfo
    lock = threading.Lock()

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        flags = kwargs.get("flags", args[3] if len(args) > 3 else 0)
        if name not in answers or flags & socket.AI_NUMERICHOST:
            return real(host, port, *args, **kwargs)
        with lock:
            lookups[name] += 1
            queue = answers[name]
            addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        number = int(port or 0)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, number, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, number))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield answers, lookups


def quick(settings: Settings, **overrides: Any) -> Settings:
    return settings.model_copy(update={"webhook_timeout_seconds": 2.0, **overrides})


def test_a_name_that_resolves_inside_is_refused_when_connecting(
    strict_api: ApiClient,
    strict_settings: Settings,
    database: Database,
    receivers: list[Receiver],  # noqa: F811
    dns: tuple[dict[str, list[list[str]]], Counter[str]],
) -> None:
    answers, _ = dns
    receiver = start(receivers)
    answers["hooks.rebound.example"] = [["127.0.0.1"]]
    answers["intranet.example"] = [["10.0.0.1"]]
    answers["mixed.example"] = [["127.0.0.1", "93.184.215.14"]]  # one inside is enough
    at = f":{receiver.bound_port}{receiver.path}"
    aimed = [
        (f"http://hooks.rebound.example{at}", "loopback address 127.0.0.1"),
        (f"http://intranet.example{at}", "private address 10.0.0.1"),
        (f"http://mixed.example{at}", "loopback address 127.0.0.1"),
    ]
    policies = [(webhook_policy(strict_api, url), why) for url, why in aimed]  # no DNS yet
    new_customer(strict_api)

    deliver_due(database, quick(strict_settings))

    assert receiver.arrivals == []
    for policy, why in policies:
        (logged,) = deliveries(strict_api, policy["id"])
        assert logged["lastError"] == f"destination not allowed: {why}"
        assert (logged["status"], logged["attempts"]) == ("PENDING", 1)
        assert "responseStatus" not in logged


def test_a_name_rebound_after_the_check_reaches_only_the_address_checked(
    strict_api: ApiClient,
    strict_settings: Settings,
    database: Database,
    receivers: list[Receiver],  # noqa: F811
    dns: tuple[dict[str, list[list[str]]], Counter[str]],
) -> None:
    """An operator allows 127.0.0.2 (an internal receiver); the attacker's name answers that
    first, then 127.0.0.1 (where something else listens on the same port)."""
    answers, lookups = dns
    allowed = start(receivers, host="127.0.0.2")
    inside = start(receivers, port=allowed.bound_port, token=allowed.token)
    answers["rebind.example"] = [["127.0.0.2"], ["127.0.0.1"]]
    policy = webhook_policy(strict_api, f"http://rebind.example:{allowed.bound_port}{allowed.path}")
    hooks = quick(strict_settings, webhook_allowed_hosts="127.0.0.2")
    new_customer(strict_api)

    deliver_due(database, hooks)  # looked up once: checked, then connected to, 127.0.0.2

    assert len(allowed.arrivals) == 1 and inside.arrivals == []
    assert lookups["rebind.example"] == 1
    (first,) = deliveries(strict_api, policy["id"])
    assert first["status"] == "DELIVERED"

    new_customer(strict_api)
    deliver_due(database, hooks)  # the name now answers 127.0.0.1: refused, not connected

    assert len(allowed.arrivals) == 1 and inside.arrivals == []
    latest = deliveries(strict_api, policy["id"])[0]
    assert latest["lastError"] == "destination not allowed: loopback address 127.0.0.1"


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f000001", "127.1", "localhost"])
def test_policies_stored_before_the_rule_are_refused_when_connecting(
    strict_api: ApiClient,
    strict_settings: Settings,
    database: Database,
    account: Credentials,
    receivers: list[Receiver],  # noqa: F811
    host: str,
) -> None:
    receiver = start(receivers)
    url = f"http://{host}:{receiver.bound_port}{receiver.path}"
    with database.transaction() as session:  # as an older Tally accepted it
        policy = NotificationPolicy(
            account_id=account.account_id,
            name="Older",
            channel=NotificationChannel.WEBHOOK,
            notification_types=[],
            recipients=[url],
            webhook_secret="whsec_older",
        )
        session.add(policy)
        session.flush()
        policy_id = policy.id
    new_customer(strict_api)

    deliver_due(database, quick(strict_settings))

    assert receiver.arrivals == []
    (logged,) = deliveries(strict_api, policy_id)
    assert logged["lastError"].startswith("destination not allowed: loopback address ")


# --- what the delivery log shows ------------------------------------------------------------


class Banner:
    """A TCP service that is no HTTP server (PostgreSQL, SSH, Redis ...): it sends a line with
    something secret in it and closes."""

    def __init__(self, line: bytes) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.line = line
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}/hooks"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection, contextlib.suppress(OSError):
                connection.settimeout(5)
                _read_request(connection)  # whole, so closing resets nothing being sent
                connection.sendall(self.line)
                connection.shutdown(socket.SHUT_WR)
                while connection.recv(65536):  # until the client hangs up
                    pass

    def close(self) -> None:
        self.server.close()


def _read_request(connection: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data and (chunk := connection.recv(65536)):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    while length and len(body) < int(length[1]) and (chunk := connection.recv(65536)):
        body += chunk


def test_the_delivery_log_never_shows_what_the_receiver_answered(
    api: ApiClient,
    app: FastAPI,
    database: Database,
    account: Credentials,
    settings: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    erring = start(receivers, statuses=[500])  # answers "receiver says no"
    moved = start(receivers, statuses=[302], location=erring.url)
    banner = Banner(b"SSH-2.0-OpenSSH_9.6 internal-secret-banner\r\n")
    try:
        policies = {
            "answered 500": webhook_policy(api, erring.url, "CUSTOMER_CREATED"),
            "answered 302 (redirects are not followed)": webhook_policy(
                api, moved.url, "CUSTOMER_CREATED"
            ),
            "no valid HTTP answer": webhook_policy(api, banner.url, "CUSTOMER_CREATED"),
        }
        new_customer(api)
        deliver_due(database, quick(settings))
    finally:
        banner.close()

    assert len(erring.arrivals) == 1  # the redirect was not followed to it
    for reason, policy in policies.items():
        (logged,) = deliveries(api, policy["id"])
        assert logged["lastError"] == reason
        assert [entry["error"] for entry in logged["attemptLog"]] == [reason]
        text = json.dumps(logged)
        assert "receiver says no" not in text and "internal-secret" not in text
    assert deliveries(api, policies["answered 500"]["id"])[0]["responseStatus"] == 500
    with signed_in(app, add_user(database, account)) as dashboard:
        for policy in policies.values():
            page = dashboard.get(f"{WEBHOOKS}/{policy['id']}").text
            assert "receiver says no" not in page and "internal-secret" not in page


def test_deliveries_logged_before_the_rule_show_no_answer_either(
    api: ApiClient,
    database: Database,
    settings: Settings,
) -> None:
    policy = webhook_policy(api, "http://127.0.0.1:9/hooks", "CUSTOMER_CREATED")
    new_customer(api)
    # What an older Tally wrote: the first bytes of the answer, an exception's own message.
    older = [
        "HTTP 500: password=hunter2 from the internal admin page",
        "RemoteProtocolError: illegal status line: bytearray(b'SSH-2.0-hunter2')",
    ]
    at = utcnow() - timedelta(days=1)
    log = [
        {"attempt": n, "at": at.isoformat(), "response_status": 500 if n == 1 else None,
         "error": error, "duration_ms": 3}
        for n, error in enumerate(older, start=1)
    ]  # fmt: skip
    with database.transaction() as session:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.policy_id == policy["id"])
            .values(
                status=DeliveryStatus.FAILED,
                next_attempt_at=None,
                attempts=2,
                last_error=older[1],
                attempt_log=log,
                response_status=None,
            )
        )

    (logged,) = deliveries(api, policy["id"])

    assert "hunter2" not in json.dumps(logged)
    assert logged["lastError"] == "RemoteProtocolError"
    assert [entry["error"] for entry in logged["attemptLog"]] == [
        "answered 500",
        "RemoteProtocolError",
    ]
