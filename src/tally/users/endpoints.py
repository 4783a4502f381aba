"""/api/users: the people who sign in to the merchant's dashboard."""

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, paginate
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.models import MerchantUser
from tally.users import queries, service
from tally.users.schemas import UserOut

router = api_router(tags=["Users"])


@router.get("/users", summary="List the dashboard's active users")
def list_users(account: CurrentAccount, session: ReplicaSession, paging: Paging) -> Page[UserOut]:
    page = paginate(
        session, queries.active_users_query(account.account_id), MerchantUser.id, paging
    )
    return Page(items=[UserOut.build(user) for user in page.rows], pagination=page.pagination)


@router.get("/users/{id}", summary="Get a user (deactivated ones too)")
def get_user(id: str, account: CurrentAccount, session: DbSession) -> UserOut:
    return UserOut.build(service.get_user(session, account.account_id, id))


@router.delete(
    "/users/{id}",
    summary="Deactivate a user: their sessions end and they can no longer sign in; the last "
    "active user cannot be deactivated",
)
def delete_user(id: str, account: CurrentAccount, session: DbSession) -> UserOut:
    return UserOut.build(service.deactivate_user(session, account.account_id, id))
