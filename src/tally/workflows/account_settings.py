"""An account's settings changed: a new time zone moves the local days usage is rolled up by,
so metering rebuilds its rollups. Accounts sit below metering (usage belongs to an account)."""

from sqlalchemy.orm import Session

from tally.accounts import service as accounts
from tally.accounts.schemas import AccountUpdate
from tally.metering.metrics import rebuild_rollups
from tally.models import Account
from tally.models.scoped import get_account


def update_account(session: Session, account_id: str, data: AccountUpdate) -> Account:
    """`accounts.service.update_account`, then usage rollups rebuilt if the time zone moved."""
    zone_before = get_account(session, account_id).timezone
    account = accounts.update_account(session, account_id, data)
    if account.timezone != zone_before:  # usage rollups are per local day
        rebuild_rollups(session, account)
    return account
