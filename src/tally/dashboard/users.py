"""Merchant users: the people of an account who sign in to the dashboard.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile):
unlike API secrets, passwords are guessable, and a slow hash is what makes a stolen table
expensive to crack. A hash made with older parameters is replaced on the next sign-in.

Checking a password takes a few hundred milliseconds of CPU, so `check_password` only reads:
callers run it before their write transaction (on SQLite that holds the database's write
lock) and store `PasswordCheck.new_hash` with the sign-in (`sessions.sign_in`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.exceptions import DuplicateValue, InvalidRequest, NotFound
from tally.models import Account, MerchantUser

HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # argon2 takes any length; this bounds the work one request asks


def normalize_email(email: str) -> str:
    """The address as stored: syntax checked (no DNS lookup), lower-cased."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidRequest.field("email", str(error)) from error
    return checked.normalized.lower()


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest.field(
            "password", f"must be at least {MIN_PASSWORD_LENGTH} characters long"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidRequest.field("password", f"must be at most {MAX_PASSWORD_LENGTH} characters")


def generate_password() -> str:
    """A password to hand out once: 128 random bits, easy to copy."""
    return secrets.token_urlsafe(16)


def hash_password(password: str) -> str:
    check_new_password(password)
    return HASHER.hash(password)


def find_user(session: Session, email: str) -> MerchantUser | None:
    return session.scalar(select(MerchantUser).where(MerchantUser.email == email))


def create_user(session: Session, account_id: str, email: str, password: str) -> MerchantUser:
    address = normalize_email(email)
    password_hash = hash_password(password)  # before the first query: no lock held meanwhile
    if session.get(Account, account_id) is None:
        raise NotFound.resource("Account", account_id)
    if find_user(session, address) is not None:
        raise DuplicateValue(f"A user with the email {address!r} already exists.")
    user = MerchantUser(account_id=account_id, email=address, password_hash=password_hash)
    session.add(user)
    session.flush()  # a concurrent create of the same email fails here, on the unique index
    return user


@dataclass(frozen=True)
class PasswordCheck:
    """A user whose password was right; `new_hash` when the stored hash needs upgrading."""

    user_id: str
    account_id: str
    new_hash: str | None


@cache
def _decoy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def _verifies(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password(session: Session, email: str, password: str) -> PasswordCheck | None:
    """The user this email and password sign in, or None. An unknown email costs a hash too,
    so the answer's timing does not tell which emails have users."""
    try:
        address = normalize_email(email)
    except InvalidRequest:
        address = ""
    user = find_user(session, address) if address else None
    if user is not None and user.deactivated_at is not None:
        user = None  # deactivated (DELETE /api/users/{id}): signs in no more
    if user is None or len(password) > MAX_PASSWORD_LENGTH:
        _verifies(_decoy_hash(), password[:MAX_PASSWORD_LENGTH])
        return None
    if not _verifies(user.password_hash, password):
        return None
    new_hash = HASHER.hash(password) if HASHER.check_needs_rehash(user.password_hash) else None
    return PasswordCheck(user_id=user.id, account_id=user.account_id, new_hash=new_hash)


def get_user(session: Session, account_id: str, user_id: str) -> MerchantUser:
    user = session.scalar(
        select(MerchantUser).where(
            MerchantUser.account_id == account_id, MerchantUser.id == user_id
        )
    )
    if user is None:
        raise NotFound.resource("User", user_id)
    return user


def change_password(
    session: Session, account_id: str, user_id: str, current_password: str, new_password: str
) -> MerchantUser:
    """Replace the user's password once the current one is confirmed. Signing the user's
    other browsers out is the caller's part (`sessions.revoke_other_sessions`)."""
    user = get_user(session, account_id, user_id)
    if not _verifies(user.password_hash, current_password):
        raise InvalidRequest.field("currentPassword", "is wrong")
    user.password_hash = hash_password(new_password)
    session.flush()
    activity.record(  # never the hash: that it changed is all the log says
        session,
        account_id,
        verb="PASSWORD_CHANGED",
        object_type="USER",
        object_id=user.id,
        name="Password changed",
        summary=f"{user.email} changed their dashboard password; their other sign-ins ended",
    )
    return user
