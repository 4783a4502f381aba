"""/api/sequence-accounts: the authenticated account and its settings."""

from tally.accounts import service
from tally.accounts.schemas import AccountOut, AccountUpdate
from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, paginate
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.exceptions import NotFound
from tally.models import Account
from tally.models.scoped import get_account as load_account
from tally.workflows import account_settings

router = api_router(tags=["Accounts"])


def _own_account_id(account: CurrentAccount, account_id: str) -> str:
    # An API key sees only its own account; any other id is simply not found.
    if account_id != account.account_id:
        raise NotFound.resource("Account", account_id)
    return account_id


@router.get("/sequence-accounts", summary="List your accounts")
def list_accounts(
    account: CurrentAccount, session: ReplicaSession, paging: Paging
) -> Page[AccountOut]:
    """An API key acts for one account: the list is that account, paged like any other."""
    page = paginate(session, service.own_account(account.account_id), Account.id, paging)
    return Page(items=[AccountOut.build(a) for a in page.rows], pagination=page.pagination)


@router.get("/sequence-accounts/{id}", summary="Get your account")
def get_account(id: str, account: CurrentAccount, session: DbSession) -> AccountOut:
    return AccountOut.build(load_account(session, _own_account_id(account, id)))


@router.put("/sequence-accounts/{id}", summary="Update your account's settings")
def update_account(
    id: str, body: AccountUpdate, account: CurrentAccount, session: DbSession
) -> AccountOut:
    updated = account_settings.update_account(session, _own_account_id(account, id), body)
    return AccountOut.build(updated)
