"""How often ingestion compacts an account's rollups: every COMPACT_EVERY batches while
compaction merges rows away, less and less often while it finds nothing to merge."""

import pytest

from tally.accounts.service import Credentials
from tally.metering import ingest
from tests.metering.helpers import create_metric, event, send
from tests.support.api_client import ApiClient

EVERY = 3


@pytest.fixture(autouse=True)
def _small_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "COMPACT_EVERY", EVERY)
    monkeypatch.setattr(ingest, "MAX_COMPACT_EVERY", EVERY * 4)


def test_compaction_slows_down_while_buckets_hold_one_row_each(
    api: ApiClient, account: Credentials
) -> None:
    create_metric(api, name="Calls", aggregationType="COUNT")
    paces = []
    for batch in range(EVERY * 7):  # every event in a bucket of its own
        send(api, event(f"customer-{batch}", "2024-01-01T00:00:00Z"))
        paces.append(ingest._compact_every.get(account.account_id, EVERY))
    # Each pass merging nothing of the rows it looked at doubles the wait, up to the cap.
    assert paces[EVERY - 1] == EVERY * 2
    assert paces[EVERY * 3 - 1] == EVERY * 4
    assert paces[-1] == EVERY * 4  # MAX_COMPACT_EVERY


def test_compaction_keeps_its_pace_while_it_merges(api: ApiClient, account: Credentials) -> None:
    create_metric(api, name="Calls", aggregationType="COUNT")
    for batch in range(EVERY * 4):  # one hot bucket: every batch adds a row to it
        send(api, event("hot", f"2024-01-01T00:00:{batch:02}Z"))
        assert ingest._compact_every.get(account.account_id, EVERY) == EVERY
