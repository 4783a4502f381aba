"""Reads every domain starts from: the account itself (the tenant), below every domain so that
any of them (documents, notifications, billing) may load its settings without a cycle."""

from sqlalchemy.orm import Session

from tally.exceptions import NotFound
from tally.models.account import Account


def get_account(session: Session, account_id: str) -> Account:
    """The account; NotFound only if it was deleted after the caller authenticated as it."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound.resource("Account", account_id)
    return account
