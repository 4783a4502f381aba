"""`tally users create` and the demo user `tally demo` prints, against the test run's database
(once as the installed program in a subprocess, the rest in this process); the users they make
sign in to the dashboard."""

import json
import re
from pathlib import Path

import pytest
from fastapi import FastAPI

from tally.accounts.service import Credentials
from tally.db import Database, new_id
from tests.dashboard.helpers import browser, sign_in
from tests.support.cli import Ran, run_tally


def tally(
    *args: str,
    database: Database,
    data_dir: Path,
    stdin: str | None = None,
    in_process: bool = True,
) -> Ran:
    return run_tally(
        *args, database_url=database.url, data_dir=data_dir, stdin=stdin, in_process=in_process
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path


def signs_in(app: FastAPI, email: str, password: str) -> bool:
    with browser(app) as client:
        return sign_in(client, email, password).status_code == 303


def test_create_a_user_with_a_password(
    app: FastAPI, database: Database, account: Credentials, data_dir: Path
) -> None:
    email = f"Ops-{new_id()}@Example.com"
    result = tally(
        "users", "create", account.account_id, email, "--password", "a long passphrase",
        database=database, data_dir=data_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"User {email.lower()} created in account {account.account_id}." in result.stdout
    assert "a long passphrase" not in result.stdout
    assert signs_in(app, email, "a long passphrase")

    again = tally(
        "users", "create", account.account_id, email, "--password", "another passphrase",
        database=database, data_dir=data_dir,
    )  # fmt: skip
    assert again.returncode == 1
    assert "already exists" in again.stdout
    assert not signs_in(app, email, "another passphrase")


def test_create_a_user_with_a_generated_password(
    app: FastAPI, database: Database, account: Credentials, data_dir: Path
) -> None:
    email = f"gen-{new_id()}@example.com"
    result = tally(
        "users", "create", account.account_id, email, "--generate",
        database=database, data_dir=data_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = re.search(r"Password: (\S+)", result.stdout)
    assert found, result.stdout
    assert signs_in(app, email, found.group(1))


def test_create_a_user_with_a_prompted_password(
    app: FastAPI, database: Database, account: Credentials, data_dir: Path
) -> None:
    email = f"prompt-{new_id()}@example.com"
    result = tally(
        "users", "create", account.account_id, email,
        database=database, data_dir=data_dir, stdin="typed passphrase\ntyped passphrase\n",
        in_process=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert signs_in(app, email, "typed passphrase")


def test_an_unknown_account_gets_no_user(app: FastAPI, database: Database, data_dir: Path) -> None:
    # Bad emails and passwords are refused by the same service: tests/dashboard/test_users.py.
    email = f"lost-{new_id()}@example.com"
    result = tally(
        "users", "create", "no-such-account", email, "--password", "a long passphrase",
        database=database, data_dir=data_dir,
    )  # fmt: skip
    assert result.returncode == 1
    assert "not found" in result.stdout
    assert not signs_in(app, email, "a long passphrase")


def test_demo_prints_a_dashboard_user_that_signs_in(
    app: FastAPI, database: Database, data_dir: Path
) -> None:
    first = tally("demo", database=database, data_dir=data_dir)
    assert first.returncode == 0, first.stderr
    email = re.search(r"email:\s+(\S+)", first.stdout)
    password = re.search(r"password:\s+(\S+)", first.stdout)
    assert email and password, first.stdout
    assert signs_in(app, email.group(1), password.group(1))
    saved = json.loads((data_dir / "demo-dashboard-user.json").read_text())
    assert saved == {"email": email.group(1), "password": password.group(1)}
    assert (data_dir / "demo-dashboard-user.json").stat().st_mode & 0o077 == 0

    second = tally("demo", database=database, data_dir=data_dir)  # the same user again
    assert second.returncode == 0, second.stderr
    assert f"password: {password.group(1)}" in second.stdout
