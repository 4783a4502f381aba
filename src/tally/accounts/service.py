"""Accounts (tenants), their settings, and API credentials."""

import secrets
from dataclasses import dataclass
from typing import Any

from pydantic.alias_generators import to_camel
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tally.accounts.schemas import AccountUpdate
from tally.activity import service as activity
from tally.api.types import plain_text
from tally.core.clock import utcnow
from tally.core.hashing import hash_token
from tally.exceptions import InvalidRequest, NotFound
from tally.models import Account, ApiKey
from tally.models.scoped import get_account
from tally.notifications import events
from tally.notifications.events import NotificationType


@dataclass(frozen=True)
class Credentials:
    account_id: str
    api_key: str
    api_secret: str


def own_account(account_id: str) -> Select[Account]:
    """The accounts an API key sees: its own."""
    return select(Account).where(Account.id == account_id)


def issue_api_key(
    session: Session, account: Account, name: str = "", *, logged: bool = True
) -> Credentials:
    """A new key; `logged` False for the key an account is created with (no one's action)."""
    secret = "tsk_" + secrets.token_urlsafe(32)
    api_key = ApiKey(
        account_id=account.id,
        key="tak_" + secrets.token_urlsafe(18),
        secret_hash=hash_token(secret),
        name=name,
    )
    session.add(api_key)
    session.flush()
    if logged:
        _log_key(session, api_key, "CREATED", "API key created", "created")
    return Credentials(account_id=account.id, api_key=api_key.key, api_secret=secret)


def api_keys(session: Session, account_id: str) -> list[ApiKey]:
    """The account's API keys, revoked ones included, oldest first (ids are UUIDv7)."""
    return list(
        session.scalars(select(ApiKey).where(ApiKey.account_id == account_id).order_by(ApiKey.id))
    )


def get_api_key(
    session: Session, account_id: str, api_key_id: str, *, lock: bool = False
) -> ApiKey:
    query = select(ApiKey).where(ApiKey.account_id == account_id, ApiKey.id == api_key_id)
    api_key = session.scalar(query.with_for_update() if lock else query)
    if api_key is None:
        raise NotFound.resource("API key", api_key_id)
    return api_key


def revoke_api_key(session: Session, account_id: str, api_key_id: str) -> ApiKey:
    """Revoke one of the account's keys: `api.keys.authenticate` refuses it from now on. Revoking a
    revoked key changes nothing (its first revocation time stays)."""
    api_key = get_api_key(session, account_id, api_key_id, lock=True)
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        session.flush()
        _log_key(session, api_key, "REVOKED", "API key revoked", "revoked: it opens nothing now")
    return api_key


def _log_key(session: Session, api_key: ApiKey, verb: str, name: str, what: str) -> None:
    """Never the secret: the key's name and public id only."""
    activity.record(
        session,
        api_key.account_id,
        verb=verb,
        object_type="API_KEY",
        object_id=api_key.id,
        name=name,
        summary=f"API key {api_key.name or api_key.key!r} ({api_key.key}) {what}",
        changes=activity.changed({"revokedAt": None}, {"revokedAt": api_key.revoked_at}),
    )


def create_account(session: Session, name: str, **settings: Any) -> tuple[Account, Credentials]:
    try:  # the rule the API's companyName follows: it heads every email the account sends
        plain_text(name)
    except ValueError as error:
        raise InvalidRequest.field("companyName", str(error)) from None
    account = Account(name=name, **settings)
    session.add(account)
    session.flush()
    return account, issue_api_key(session, account, name="default", logged=False)


def _audited(account: Account, fields: dict[str, Any]) -> dict[str, Any]:
    """The given settings as the API names them, for the activity log."""
    return {
        "companyName" if field == "name" else to_camel(field): getattr(account, field)
        for field in fields
    }


def update_account(session: Session, account_id: str, data: AccountUpdate) -> Account:
    """Apply the settings the body gives; the others keep their values. A new time zone moves
    usage rollups' local days: `workflows.account_settings` rebuilds them."""
    account = get_account(session, account_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True, exclude={"address"})
    if "company_name" in changes:
        changes["name"] = changes.pop("company_name")
    if data.address is not None:
        changes["address"] = data.address.model_dump(mode="json", exclude_none=True)
    before = _audited(account, changes)
    for field, value in changes.items():
        setattr(account, field, value)
    session.flush()
    if audited := activity.changed(before, _audited(account, changes)):
        activity.record(
            session,
            account.id,
            verb="UPDATED",
            object_type="SEQUENCE_ACCOUNT",
            object_id=account.id,
            name="Account settings changed",
            summary="Changed: " + ", ".join(change["field"] for change in audited),
            changes=audited,
        )
    events.emit(
        session, account.id, NotificationType.MERCHANT_UPDATED, events.MERCHANT, [account.id]
    )
    return account
