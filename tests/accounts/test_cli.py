"""The `tally` command against the test run's database: each command once as the installed
program in a subprocess, the other cases in this process."""

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select

from tally.db import Database
from tally.models import Account, ApiKey
from tests.support.cli import TALLY, run_tally


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def test_the_tally_command_is_installed_beside_the_interpreter() -> None:
    assert TALLY.is_file()
    assert os.access(TALLY, os.X_OK)


def test_db_upgrade_exits_0_on_the_test_database(database: Database, data_dir: Path) -> None:
    result = run_tally("db", "upgrade", database_url=database.url, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    # The fixture already migrated this database: upgrading an up-to-date schema is a no-op.
    assert "up to date" in result.stdout


def test_db_upgrade_creates_the_embedded_database_by_default(data_dir: Path) -> None:
    result = run_tally("db", "upgrade", database_url=None, data_dir=data_dir, in_process=False)
    assert result.returncode == 0, result.stderr
    embedded = data_dir / "tally.db"
    assert embedded.is_file()
    database = Database(f"sqlite:///{embedded}")
    try:
        tables = set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()
    assert {"accounts", "api_keys", "customers", "products", "tax_rates"} <= tables


def test_accounts_create_json_prints_working_credentials_and_stores_a_hash(
    database: Database, data_dir: Path, http: TestClient
) -> None:
    result = run_tally(
        "accounts",
        "create",
        "CLI Merchant Ltd",
        "--json",
        database_url=database.url,
        data_dir=data_dir,
        in_process=False,
    )
    assert result.returncode == 0, result.stderr

    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    created = json.loads(lines[0])
    assert set(created) == {"accountId", "apiKey", "apiSecret"}
    assert all(isinstance(value, str) and value for value in created.values())

    auth = (created["apiKey"], created["apiSecret"])
    customers = http.get("/api/customers", auth=auth)
    assert customers.status_code == 200
    assert customers.json()["items"] == []
    accounts = http.get("/api/sequence-accounts", auth=auth).json()["items"]
    assert [(a["id"], a["companyName"]) for a in accounts] == [
        (created["accountId"], "CLI Merchant Ltd")
    ]
    assert http.get("/api/customers", auth=(created["apiKey"], "tsk_wrong")).status_code == 401

    # Only a hash of the secret is stored.
    with database.session() as session:
        keys = list(session.scalars(select(ApiKey).where(ApiKey.key == created["apiKey"])))
        account = session.get(Account, created["accountId"])
    assert account is not None
    assert account.name == "CLI Merchant Ltd"
    assert len(keys) == 1
    stored = keys[0]
    assert stored.account_id == created["accountId"]
    assert stored.revoked_at is None
    assert stored.secret_hash
    assert stored.secret_hash != created["apiSecret"]
    assert created["apiSecret"] not in stored.secret_hash
    assert created["apiSecret"] not in (stored.name, stored.key)


def printed_credentials(output: str) -> tuple[str, str]:
    key = re.search(r"API key:\s+(\S+)", output)
    secret = re.search(r"API secret:\s+(\S+)", output)
    assert key and secret, output
    return key.group(1), secret.group(1)


def test_accounts_create_for_people_prints_working_credentials(
    database: Database, data_dir: Path, http: TestClient
) -> None:
    result = run_tally("accounts", "create", "Human", database_url=database.url, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "Account Human created" in result.stdout
    key, secret = printed_credentials(result.stdout)
    assert key.startswith("tak_")
    assert secret.startswith("tsk_")
    accounts = http.get("/api/sequence-accounts", auth=(key, secret))
    assert accounts.status_code == 200
    assert [a["companyName"] for a in accounts.json()["items"]] == ["Human"]


@pytest.mark.parametrize("output", [[], ["--json"]])
def test_a_refused_name_is_one_line_and_exit_status_1(
    database: Database, data_dir: Path, output: list[str]
) -> None:
    """What the service refuses, every command says in one line, never with a traceback."""
    name = f"Shop {uuid.uuid4()}\r\nBcc: everyone@example.com"
    result = run_tally(
        "accounts", "create", name, *output, database_url=database.url, data_dir=data_dir
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "companyName: must be one line of text: no line breaks, tabs or control characters"
    ]
    assert "Traceback" not in result.stderr
    with database.session() as session:
        assert session.scalar(select(Account.id).where(Account.name == name)) is None


def test_demo_loads_once_and_prints_the_same_key_again(
    database: Database, data_dir: Path, http: TestClient
) -> None:
    first = run_tally("demo", database_url=database.url, data_dir=data_dir, in_process=False)
    assert first.returncode == 0, first.stderr
    assert re.search(r"Demo loaded in [0-9.]+ s\.", first.stdout.splitlines()[-1]), first.stdout

    second = run_tally("demo", database_url=database.url, data_dir=data_dir)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[-1] == "Demo already loaded: nothing changed."

    credentials = printed_credentials(first.stdout)
    assert printed_credentials(second.stdout) == credentials
    account_id = re.search(r"Account id:\s+(\S+)", first.stdout)
    assert account_id, first.stdout

    customers = http.get("/api/customers", auth=credentials)
    assert customers.status_code == 200
    assert customers.json()["pagination"]["totalResultSize"] == 4
    products = http.get("/api/products", auth=credentials).json()
    assert products["pagination"]["totalResultSize"] == 3
    tax_rates = http.get("/api/tax-rates", auth=credentials).json()
    assert [(t["name"], t["amount"]) for t in tax_rates["items"]] == [("UK VAT", "0.2")]
    accounts = http.get("/api/sequence-accounts", auth=credentials).json()["items"]
    assert [a["id"] for a in accounts] == [account_id.group(1)]

    # The portal link printed opens Globex's portal.
    link = re.search(r"Portal \(Globex Corporation\):\s+(\S+)", first.stdout)
    assert link, first.stdout
    portal = http.get(link.group(1).removeprefix("http://127.0.0.1:8000"))
    assert portal.status_code == 200
    assert "Globex Corporation" in portal.text

    # The saved credentials file lets later runs print the secret; the database has only a hash.
    saved = json.loads((data_dir / "demo-credentials.json").read_text())
    assert (saved["api_key"], saved["api_secret"]) == credentials
    with database.session() as session:
        stored = session.scalar(select(ApiKey).where(ApiKey.key == credentials[0]))
    assert stored is not None
    assert stored.secret_hash != credentials[1]


def test_accounts_create_takes_its_currency_time_zone_and_country(
    database: Database, data_dir: Path, http: TestClient
) -> None:
    result = run_tally(
        "accounts", "create", "Beispiel GmbH", "--currency", "EUR", "--timezone",
        "Europe/Berlin", "--country", "DE", database_url=database.url, data_dir=data_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    key, secret = printed_credentials(result.stdout)
    assert result.stdout.splitlines()[-1].endswith("(EUR, Europe/Berlin, DE).")
    [account] = http.get("/api/sequence-accounts", auth=(key, secret)).json()["items"]
    assert (account["currency"], account["timezone"], account["country"]) == (
        "EUR",
        "Europe/Berlin",
        "DE",
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [("--currency", "XYZ"), ("--timezone", "Mars/Olympus"), ("--country", "ZZ")],
)
def test_accounts_create_refuses_an_unknown_currency_zone_or_country(
    database: Database, data_dir: Path, option: str, value: str
) -> None:
    name = f"Refused {uuid.uuid4()}"
    result = run_tally(
        "accounts", "create", name, option, value, database_url=database.url, data_dir=data_dir
    )
    assert result.returncode == 2, result.stdout
    assert result.stdout.startswith(f"{option} {value}: "), result.stdout
    assert "Traceback" not in result.stderr
    with database.session() as session:
        assert session.scalar(select(Account.id).where(Account.name == name)) is None


def test_help_answers_without_importing_the_application(tmp_path: Path) -> None:
    """`tally --help` must not import the models, the database layer or WeasyPrint: each
    command imports what it needs when it runs (the imports, not a stopwatch, are tested)."""
    probe = (
        "import sys\n"
        "from tally.cli import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "heavy = ('sqlalchemy', 'weasyprint', 'fastapi', 'tally.models', 'tally.db')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout
    assert done.stdout.splitlines()[-1] == "[]", done.stdout
