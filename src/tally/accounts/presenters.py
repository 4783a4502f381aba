"""The account as GET /api/sequence-accounts/{id} shows it, for notification events."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.accounts.schemas import AccountOut
from tally.models import Account
from tally.notifications.events import MERCHANT, presents


@presents(MERCHANT)
def accounts_by_id(
    session: Session, account_id: str, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Only the account itself: an account sees no other."""
    account = session.scalar(select(Account).where(Account.id == account_id, Account.id.in_(ids)))
    if account is None:
        return {}
    return {account.id: AccountOut.build(account).model_dump(mode="json", by_alias=True)}
