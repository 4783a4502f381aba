"""The background webhook sender, idle between polls, looks at once when nudged (the alert
evaluator nudges it after committing firings) and notices a stop without waiting out its
poll."""

from __future__ import annotations

import threading
import time

from tally.db import Database
from tally.notifications.webhooks import nudge, send_until_stopped
from tally.settings import Settings
from tests.factories import customer_body
from tests.notifications.webhook_support import (
    Receiver,
    receivers,  # noqa: F401 - the fixture
    start,
    webhook_policy,
)
from tests.security.test_webhook_fairness import eventually
from tests.support.api_client import ApiClient

POLL = 600.0  # seconds: the test would time out long before a poll came round


def test_a_nudge_wakes_the_idle_sender_and_a_stop_ends_it(
    api: ApiClient,
    database: Database,
    settings: Settings,
    receivers: list[Receiver],  # noqa: F811
) -> None:
    receiver = start(receivers)
    webhook_policy(api, receiver.url, "CUSTOMER_CREATED")
    stopping = threading.Event()
    slow = settings.model_copy(update={"webhook_poll_seconds": POLL})
    sender = threading.Thread(target=send_until_stopped, args=(database, slow, stopping))
    sender.start()
    try:
        time.sleep(1.0)  # its first look is over: it waits for the next poll
        assert api.post("/api/customers", json=customer_body()).status_code == 201
        nudge()
        assert eventually(lambda: len(receiver.arrivals) == 1)
    finally:
        stopping.set()
        sender.join(timeout=60)
    assert not sender.is_alive()
