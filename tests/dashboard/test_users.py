"""Merchant users: argon2id hashes, emails unique across accounts, password checks, upgrading
old hashes at sign-in, password changes."""

from collections.abc import Iterator

import argon2
import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from tally.accounts.service import Credentials
from tally.dashboard import sessions, users
from tally.db import Database
from tally.exceptions import Conflict, InvalidRequest, NotFound
from tally.models import MerchantUser
from tests.conftest import make_account
from tests.dashboard.helpers import PASSWORD, Merchant, add_user


@pytest.fixture(scope="module", autouse=True)
def production_password_hashing() -> Iterator[None]:
    """These tests check the hasher production uses, not the cheap one the rest of the run has."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "HASHER", PasswordHasher())
        users._decoy_hash.cache_clear()
        yield
    users._decoy_hash.cache_clear()


def stored_hash(database: Database, user_id: str) -> str:
    with database.session(write=False) as session:
        user = session.get(MerchantUser, user_id)
        assert user is not None
        return user.password_hash


def test_a_password_is_stored_as_an_argon2id_hash(database: Database, merchant: Merchant) -> None:
    password_hash = stored_hash(database, merchant.user_id)
    assert PASSWORD not in password_hash
    parameters = argon2.extract_parameters(password_hash)
    assert parameters.type is argon2.Type.ID
    assert parameters.memory_cost == users.HASHER.memory_cost
    assert PasswordHasher().verify(password_hash, PASSWORD)


def test_emails_are_stored_lower_cased_and_unique_across_accounts(
    database: Database, account: Credentials
) -> None:
    first = add_user(database, account, email="Ana.Finance@Example.COM")
    assert first.email == "ana.finance@example.com"
    other = make_account(database, "Another merchant")
    for owner in (account, other):  # neither in the same account nor in another one
        with pytest.raises(Conflict), database.transaction() as session:
            users.create_user(session, owner.account_id, "ANA.finance@example.com", PASSWORD)


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("not-an-email", PASSWORD, "email"),
        ("short@example.com", "too-short", "password"),
        ("long@example.com", "x" * (users.MAX_PASSWORD_LENGTH + 1), "password"),
    ],
)
def test_bad_emails_and_passwords_create_nobody(
    database: Database, account: Credentials, email: str, password: str, field: str
) -> None:
    with pytest.raises(InvalidRequest) as refused, database.transaction() as session:
        users.create_user(session, account.account_id, email, password)
    assert refused.value.details == [
        {"field": field, "message": refused.value.details[0]["message"]}
    ]
    with database.session(write=False) as session:
        assert users.find_user(session, email.lower()) is None


def test_a_user_needs_an_existing_account(database: Database) -> None:
    with pytest.raises(NotFound), database.transaction() as session:
        users.create_user(session, "no-such-account", "nobody@example.com", PASSWORD)


def test_check_password(database: Database, merchant: Merchant) -> None:
    with database.session(write=False) as session:
        right = users.check_password(session, merchant.email.upper(), PASSWORD)
        wrong = users.check_password(session, merchant.email, PASSWORD + "!")
        unknown = users.check_password(session, "nobody-" + merchant.email, PASSWORD)
        malformed = users.check_password(session, "not an email", PASSWORD)
    assert right == users.PasswordCheck(merchant.user_id, merchant.account.account_id, None)
    assert wrong is None
    assert unknown is None
    assert malformed is None


def test_an_old_hash_is_upgraded_at_sign_in(database: Database, merchant: Merchant) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with database.transaction() as session:
        session.execute(
            update(MerchantUser)
            .where(MerchantUser.id == merchant.user_id)
            .values(password_hash=weak)
        )
    with database.session(write=False) as session:
        check = users.check_password(session, merchant.email, PASSWORD)
    assert check is not None and check.new_hash is not None
    with database.transaction() as session:
        sessions.sign_in(session, check, ttl_seconds=60)

    upgraded = stored_hash(database, merchant.user_id)
    assert upgraded != weak
    assert not users.HASHER.check_needs_rehash(upgraded)
    with database.session(write=False) as session:
        again = users.check_password(session, merchant.email, PASSWORD)
    assert again is not None and again.new_hash is None  # upgraded once, not at every sign-in


def test_change_password_needs_the_current_one(database: Database, merchant: Merchant) -> None:
    before = stored_hash(database, merchant.user_id)
    account_id = merchant.account.account_id
    with pytest.raises(InvalidRequest), database.transaction() as session:
        users.change_password(session, account_id, merchant.user_id, "wrong", "a new passphrase")
    with pytest.raises(InvalidRequest), database.transaction() as session:
        users.change_password(session, account_id, merchant.user_id, PASSWORD, "short")
    assert stored_hash(database, merchant.user_id) == before

    with database.transaction() as session:
        users.change_password(session, account_id, merchant.user_id, PASSWORD, "a new passphrase")
    with database.session(write=False) as session:
        assert users.check_password(session, merchant.email, PASSWORD) is None
        assert users.check_password(session, merchant.email, "a new passphrase") is not None


def test_another_accounts_user_is_not_found(database: Database, merchant: Merchant) -> None:
    other = make_account(database, "Another merchant")
    with pytest.raises(NotFound), database.transaction() as session:
        users.change_password(session, other.account_id, merchant.user_id, PASSWORD, "x" * 12)
