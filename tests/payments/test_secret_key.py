"""TALLY_SECRET_KEY: stored credentials need it, and the wrong one fails loudly."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from tally import migrations
from tally.accounts.service import create_account
from tally.db import Database
from tally.models import PaymentProviderName
from tally.payments import connections, secrets
from tally.settings import Settings
from tests.support.cli import run_tally

KEY = "an-operator-secret-key-for-this-test"


def _connected_database(path: Path) -> tuple[str, str]:
    url = f"sqlite:///{path / 'tally.db'}"
    database = Database(url)
    migrations.upgrade(database.engine)
    settings = Settings(database_url=url, secret_key=SecretStr(KEY))
    with database.transaction() as session:
        account, _ = create_account(session, "Keyed merchant")
        connections.connect(
            session,
            settings,
            account.id,
            PaymentProviderName.STRIPE,
            secret_key="sk_test_keyed_0001",
            webhook_secret="whsec_keyed",
            publishable_key=None,
        )
    database.dispose()
    return url, account.id


def test_the_worker_refuses_to_start_with_credentials_stored_and_no_key(tmp_path: Path) -> None:
    url, _ = _connected_database(tmp_path)
    refused = run_tally("worker", "--once", database_url=url, data_dir=tmp_path, secret_key=None)
    assert refused.returncode == 1
    assert "TALLY_SECRET_KEY is not set" in refused.stdout + refused.stderr


def test_credentials_read_back_only_with_the_key_they_were_stored_with(tmp_path: Path) -> None:
    url, account_id = _connected_database(tmp_path)
    database = Database(url)
    with database.transaction() as session:
        row = connections.connection(session, account_id, PaymentProviderName.STRIPE)
        assert row is not None
        assert secrets.decrypt(KEY, row.secret_key_encrypted) == "sk_test_keyed_0001"
        with pytest.raises(secrets.UndecryptableSecret):
            secrets.decrypt("another-key", row.secret_key_encrypted)
        with pytest.raises(secrets.SecretKeyMissing):
            connections.check_secret_key(session, Settings(database_url=url))
        connections.check_secret_key(session, Settings(database_url=url, secret_key=KEY))
    database.dispose()
