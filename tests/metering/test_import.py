"""`tally import events FILE --account ID` against the test run's database (once as the
installed program in a subprocess, the rest in this process), with the events then read back
through the API.

Each NDJSON line or CSV row goes through the same validation and ingestion as the batch
endpoint, a thousand at a time; bad lines are listed by number and skipped (exit code 1).
"""

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tally.accounts.service import Credentials
from tally.db import Database
from tests.support.api_client import ApiClient
from tests.support.cli import Ran, run_tally


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def import_events(
    path: Path, account_id: str, database: Database, workdir: Path, in_process: bool = True
) -> Ran:
    return run_tally(
        "import", "events", str(path), "--account", account_id,
        database_url=database.url, data_dir=workdir, in_process=in_process, timeout=300,
    )  # fmt: skip


def counts(output: str) -> tuple[int, int, int]:
    found = re.search(r"(\d+) accepted, (\d+) replaced, (\d+) rejected", output)
    assert found, output
    accepted, replaced, rejected = (int(n) for n in found.groups())
    return accepted, replaced, rejected


def bad_lines(output: str) -> list[int]:
    return [int(n) for n in re.findall(r"^\s*line (\d+):", output, flags=re.MULTILINE)]


def write_ndjson(path: Path, lines: list[Any]) -> Path:
    """Dicts become JSON lines; strings are written as they are (bad or blank lines)."""
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")
    return path


def all_events(api: ApiClient, **params: Any) -> list[dict[str, Any]]:
    """Every event of the account (following cursors), oldest first."""
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": 100, "sortOrder": "ASC", **params}
    while True:
        response = api.get("/api/usage-events", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if page["pagination"].get("after") is None:
            return items
        query["after"] = page["pagination"].get("after")


def total(api: ApiClient, **params: Any) -> int:
    response = api.get("/api/usage-events", params={"limit": 1, **params})
    assert response.status_code == 200, response.text
    return int(response.json()["pagination"]["totalResultSize"])


def by_key(api: ApiClient) -> dict[str, dict[str, Any]]:
    return {event["customerEventId"]: event for event in all_events(api)}


def ndjson_event(i: int, **overrides: Any) -> dict[str, Any]:
    return {
        "customerAlias": f"cust-{i % 3}",
        "eventType": "api_call",
        "eventTimestamp": f"2024-05-{1 + i % 28:02d}T10:00:00Z",
        "customerEventId": f"evt-{i}",
        "eventProperties": {"n": i, "route": f"/v1/{i}"},
        **overrides,
    }


def test_an_ndjson_file_is_imported(
    api: ApiClient, account: Credentials, database: Database, workdir: Path
) -> None:
    lines: list[Any] = [ndjson_event(i) for i in range(12)]
    lines.append(
        '{"customerAlias": "exact", "eventType": "t", "customerEventId": "exact",'
        ' "eventProperties": {"x": 0.10000000000000000001}}'
    )
    lines.append({"customerAlias": "no-id", "eventType": "sms"})
    path = write_ndjson(workdir / "events.ndjson", lines)
    result = import_events(path, account.account_id, database, workdir, in_process=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert counts(result.stdout) == (14, 0, 0)

    stored = by_key(api)
    assert len(stored) == 14
    for i in range(12):
        event = stored[f"evt-{i}"]
        assert event["customerAlias"] == f"cust-{i % 3}"
        assert event["eventType"] == "api_call"
        assert event["eventTimestamp"].startswith(f"2024-05-{1 + i % 28:02d}T10:00:00")
        assert event["eventProperties"] == {"n": i, "route": f"/v1/{i}"}
        assert event["sequenceAccountId"] == account.account_id
    assert total(api, customerAlias="cust-0") == 4
    exact = api.get("/api/usage-events", params={"customerAlias": "exact"})
    assert "0.10000000000000000001" in exact.text
    [assigned] = all_events(api, customerAlias="no-id")
    assert assigned["customerEventId"] == assigned["id"]


CSV_HEADER = "customerAlias,eventType,eventTimestamp,customerEventId,eventProperties,region\n"


def test_a_csv_file_is_imported_with_extra_columns_as_properties(
    api: ApiClient, account: Credentials, database: Database, workdir: Path
) -> None:
    rows = [
        'cust-1,api_call,2024-05-01T10:00:00Z,row-1,"{""tokens"": 12, ""model"": ""m1""}",eu',
        "cust-2,api_call,2024-05-02T11:30:00+02:00,row-2,,us",
        'cust-1,sms,2024-05-03T10:00:00Z,row-3,"{""segments"": 2}",',
        "cust-3,api_call,2024-05-04T10:00:00Z,row-4,{},eu",
    ]
    path = workdir / "events.csv"
    path.write_text(CSV_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    result = import_events(path, account.account_id, database, workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert counts(result.stdout) == (4, 0, 0)

    stored = by_key(api)
    assert set(stored) == {"row-1", "row-2", "row-3", "row-4"}
    assert stored["row-1"]["eventProperties"] == {"tokens": 12, "model": "m1", "region": "eu"}
    assert stored["row-2"]["eventProperties"] == {"region": "us"}
    assert stored["row-3"]["eventProperties"] == {"segments": 2}  # an empty cell adds nothing
    assert stored["row-4"]["eventProperties"] == {"region": "eu"}
    assert stored["row-1"]["customerAlias"] == "cust-1"
    assert stored["row-3"]["eventType"] == "sms"
    assert stored["row-2"]["eventTimestamp"].startswith("2024-05-02T09:30:00")
    assert total(api, eventType="api_call") == 3


def test_bad_ndjson_lines_are_named_and_the_good_ones_stored(
    api: ApiClient, account: Credentials, database: Database, workdir: Path
) -> None:
    lines: list[Any] = [
        ndjson_event(1),  # line 1
        "{not json",  # line 2
        ndjson_event(3),  # line 3
        {"customerAlias": "c"},  # line 4: no eventType
        "",  # line 5: blank lines are skipped
        ndjson_event(6, eventTimestamp="yesterday"),  # line 6
        ndjson_event(7, eventProperties=[1]),  # line 7
        ndjson_event(8, eventTimestamp="2024-05-01T10:00:00"),  # line 8: no offset
        ndjson_event(9),  # line 9
    ]
    result = import_events(
        write_ndjson(workdir / "mixed.ndjson", lines), account.account_id, database, workdir
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert counts(result.stdout) == (3, 0, 5)
    assert bad_lines(result.stdout) == [2, 4, 6, 7, 8]
    assert set(by_key(api)) == {"evt-1", "evt-3", "evt-9"}


def test_bad_csv_rows_are_named_by_line_and_the_good_ones_stored(
    api: ApiClient, account: Credentials, database: Database, workdir: Path
) -> None:
    rows = [
        "cust-1,api_call,2024-05-01T10:00:00Z,row-1,,eu",  # line 2
        "cust-1,api_call,2024-05-01T10:00:00Z,row-2,{oops,eu",  # line 3: properties not JSON
        "cust-1,,2024-05-01T10:00:00Z,row-3,,eu",  # line 4: no eventType
        'cust-1,api_call,2024-05-01T10:00:00Z,row-4,"[1, 2]",eu',  # line 5: not an object
        "cust-1,api_call,last tuesday,row-5,,eu",  # line 6
        "cust-1,api_call,2024-05-01T10:00:00Z,row-6,,eu",  # line 7
    ]
    path = workdir / "mixed.csv"
    path.write_text(CSV_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    result = import_events(path, account.account_id, database, workdir)
    assert result.returncode == 1, result.stdout + result.stderr
    assert counts(result.stdout) == (2, 0, 4)
    assert bad_lines(result.stdout) == [3, 4, 5, 6]
    assert set(by_key(api)) == {"row-1", "row-6"}


def test_reimporting_a_file_changes_nothing_and_a_changed_line_replaces(
    api: ApiClient, account: Credentials, database: Database, workdir: Path
) -> None:
    lines = [ndjson_event(i) for i in range(10)]
    path = write_ndjson(workdir / "events.ndjson", lines)
    first = import_events(path, account.account_id, database, workdir)
    assert first.returncode == 0, first.stdout + first.stderr
    assert counts(first.stdout) == (10, 0, 0)
    before = all_events(api)
    assert len(before) == 10

    again = import_events(path, account.account_id, database, workdir)
    assert again.returncode == 0, again.stdout + again.stderr
    assert counts(again.stdout) == (10, 0, 0)  # exact resends: accepted as duplicates
    assert all_events(api) == before

    lines[4] = ndjson_event(4, eventProperties={"n": 400})
    changed = import_events(write_ndjson(path, lines), account.account_id, database, workdir)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert counts(changed.stdout) == (9, 1, 0)
    after = all_events(api)
    assert [e["id"] for e in after] == [e["id"] for e in before]
    assert by_key(api)["evt-4"]["eventProperties"] == {"n": 400}
    assert [e for e in after if e["customerEventId"] != "evt-4"] == [
        e for e in before if e["customerEventId"] != "evt-4"
    ]


def test_2500_lines_cross_the_batch_boundaries(
    api: ApiClient, account: Credentials, database: Database, workdir: Path
) -> None:
    # Each batch of 1,000 lines gets its own event type, so every batch is seen to arrive.
    lines = [ndjson_event(i, eventType=f"batch-{i // 1000}") for i in range(2500)]
    result = import_events(
        write_ndjson(workdir / "bulk.ndjson", lines), account.account_id, database, workdir
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert counts(result.stdout) == (2500, 0, 0)
    assert total(api) == 2500
    assert [total(api, eventType=f"batch-{n}") for n in range(3)] == [1000, 1000, 500]
    assert [total(api, customerAlias=f"cust-{n}") for n in range(3)] == [834, 833, 833]
    stored = by_key(api)
    assert len(stored) == 2500
    for i in (0, 999, 1000, 1999, 2000, 2499):
        assert stored[f"evt-{i}"]["eventProperties"] == {"n": i, "route": f"/v1/{i}"}


def test_an_unknown_account_exits_2_and_stores_nothing(
    api: ApiClient, database: Database, workdir: Path
) -> None:
    path = write_ndjson(workdir / "events.ndjson", [ndjson_event(1)])
    result = import_events(path, "01a1ff8c-0000-7000-8000-000000000000", database, workdir)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "No account" in result.stdout + result.stderr
    assert total(api) == 0


def test_csv_properties_keep_exact_decimals(
    api: ApiClient, account: Credentials, database: Database, workdir: Path
) -> None:
    row = (
        "cust-1,api_call,2024-05-01T10:00:00Z,row-1,"
        '"{""x"": 0.10000000000000000001, ""y"": 123456789012345678901234567890.5}",eu'
    )
    path = workdir / "exact.csv"
    path.write_text(CSV_HEADER + row + "\n", encoding="utf-8")
    result = import_events(path, account.account_id, database, workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    response = api.get("/api/usage-events")
    [event] = json.loads(response.text, parse_float=Decimal)["items"]
    assert str(event["eventProperties"]["x"]) == "0.10000000000000000001"
    assert str(event["eventProperties"]["y"]) == "123456789012345678901234567890.5"


def test_a_csv_with_a_byte_order_mark_is_imported(
    api: ApiClient, account: Credentials, database: Database, workdir: Path
) -> None:
    path = workdir / "excel.csv"
    path.write_bytes(
        (CSV_HEADER + "cust-1,api_call,2024-05-01T10:00:00Z,row-1,,eu\n").encode("utf-8-sig")
    )
    result = import_events(path, account.account_id, database, workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(by_key(api)) == {"row-1"}
