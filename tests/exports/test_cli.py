"""`tally export`: files that hold what the API answers, the account's only, a line per file
saying what it wrote, logged as the system; mistakes refused before anything is written."""

from pathlib import Path

import pytest

from tally.accounts.service import Credentials
from tally.db import Database
from tests.exports.helpers import api_items, assert_matches_api, csv_rows, exported_rows, seed
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.support.api_client import ApiClient
from tests.support.cli import Ran, run_tally


def _export(database: Database, workdir: Path, *args: str, in_process: bool = True) -> Ran:
    return run_tally(
        "export", *args, database_url=database.url, data_dir=workdir, in_process=in_process
    )


def _files(directory: Path) -> dict[str, Path]:
    return {path.name.split("-2")[0]: path for path in directory.iterdir()}


def test_every_dataset_to_a_directory(
    api: ApiClient,
    other_api: ApiClient,
    database: Database,
    account: Credentials,
    tmp_path: Path,
) -> None:
    seed(api, database, account.account_id)
    other_account = other_api.get("/api/sequence-accounts").json()["items"][0]["id"]
    insert_invoice(database, other_account, new_customer(other_api))
    out = tmp_path / "warehouse" / "drop"
    ran = _export(
        database, tmp_path, "usage-events", "invoices", "invoice-lines",
        "--account", account.account_id, "--output", f"{out}/",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    files = _files(out)
    assert sorted(files) == ["invoice-lines", "invoices", "usage-events"]
    counts = {"usage-events": 3, "invoices": 3, "invoice-lines": 8}
    for dataset, path in files.items():
        assert path.suffix == ".parquet"
        rows = exported_rows(path.read_bytes(), "parquet")
        assert_matches_api(dataset, "parquet", rows, api_items(api, dataset))
        label = dataset.replace("-", " ")
        size = path.stat().st_size
        assert f"Wrote {counts[dataset]} {label} to {path} ({size} bytes)." in ran.stdout
    logs = api.get("/api/activity-logs", params={"limit": 3}).json()["items"]
    items = [log["activityLogItems"][0] for log in logs]
    assert {log["origin"] for log in logs} == {"SYSTEM"}
    assert sorted(item["summary"] for item in items) == [
        "3 invoices exported as Parquet (everything).",
        "3 usage events exported as Parquet (everything).",
        "8 invoice lines exported as Parquet (everything).",
    ]


def test_one_dataset_to_a_file_in_the_format_its_name_says(
    api: ApiClient, database: Database, account: Credentials, tmp_path: Path
) -> None:
    seeded = seed(api, database, account.account_id)
    target = tmp_path / "events.csv"
    ran = _export(
        database, tmp_path, "usage-events", "--account", account.account_id,
        "--output", str(target), "--from", "2024-05-02", "--to", "2024-06-01T00:00:00+02:00",
        "--customer-alias", seeded["customer"]["id"], "--customer-alias", "other-alias",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert [row["customerEventId"] for row in csv_rows(target.read_bytes())] == ["e-2"]
    assert f"Wrote 1 usage events to {target}" in ran.stdout
    [log] = api.get("/api/activity-logs", params={"limit": 1}).json()["items"]
    assert log["activityLogItems"][0]["summary"] == (
        "1 usage events exported as CSV (from 2024-05-02T00:00:00Z; to 2024-05-31T22:00:00Z; "
        f"customerAlias {seeded['customer']['id']}, other-alias)."
    )


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["customers"], 1, "'customers' is not one of usage-events, invoices, invoice-lines"),
        (["usage-events", "--customer", "x"], 1, "customerId: filters invoices only"),
        (["invoices", "--event-type", "x"], 1, "eventType: filters usage events only"),
        (["invoices", "--from", "2024-05-01T10:00"], 2, "--from 2024-05-01T10:00: give a date"),
        (["invoices", "--from", "2024-05-02", "--to", "2024-05-01"], 1, "to: must be after"),
        (["invoices", "--format", "xlsx"], 2, "--format xlsx: use parquet or csv"),
        (["invoices", "invoice-lines", "--output", "one.parquet"], 2, "need a directory"),
    ],
)
def test_mistakes_are_refused_and_write_nothing(
    args: list[str],
    code: int,
    says: str,
    api: ApiClient,
    database: Database,
    account: Credentials,
    tmp_path: Path,
) -> None:
    before = api.get("/api/activity-logs").json()["items"]
    ran = _export(database, tmp_path, *args, "--account", account.account_id)
    assert ran.returncode == code, ran.stdout + ran.stderr
    assert says in " ".join(ran.stdout.split()), ran.stdout
    assert list(tmp_path.iterdir()) == []
    assert api.get("/api/activity-logs").json()["items"] == before


def test_an_unknown_account_exports_nothing(database: Database, tmp_path: Path) -> None:
    ran = _export(database, tmp_path, "invoices", "--account", "no-such-account")
    assert ran.returncode == 1
    assert "Account 'no-such-account' not found" in ran.stdout
    assert list(tmp_path.iterdir()) == []


def test_the_installed_command(
    api: ApiClient, database: Database, account: Credentials, tmp_path: Path
) -> None:
    seed(api, database, account.account_id)
    target = tmp_path / "lines.parquet"
    ran = _export(
        database, tmp_path, "invoice-lines", "--account", account.account_id,
        "--format", "csv", "-o", str(target), in_process=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    rows = exported_rows(target.read_bytes(), "csv")  # --format wins over the name
    assert_matches_api("invoice-lines", "csv", rows, api_items(api, "invoice-lines"))
    assert f"Wrote 8 invoice lines to {target}" in ran.stdout
