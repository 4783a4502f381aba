"""/api/activity-logs: who did what, read only."""

from typing import Annotated

from fastapi import Path, Query

from tally.activity import queries
from tally.activity.schemas import ActivityLogOut
from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, paginate
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.exceptions import InvalidRequest
from tally.models import ActivityLog

router = api_router(tags=["Activities"])


@router.get("/activity-logs", summary="List all Activity Logs")
def list_activity_logs(
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    object_id: Annotated[
        str | None,
        Query(alias="activityLogObjectId", description="Only entries about this object."),
    ] = None,
    object_entity_id: Annotated[
        str | None,
        Query(
            alias="activityLogObjectEntityId",
            description="Only entries about this object (its id; Tally gives an entry's object "
            "the object's own id, so both filters mean the same).",
        ),
    ] = None,
) -> Page[ActivityLogOut]:
    if object_id and object_entity_id and object_id != object_entity_id:
        raise InvalidRequest(
            "`activityLogObjectId` and `activityLogObjectEntityId` name different objects.",
            details=[{"field": "activityLogObjectEntityId", "message": "differs"}],
        )
    query = queries.logs(account.account_id, object_id=object_id or object_entity_id)
    page = paginate(session, query, ActivityLog.id, paging)
    return Page(items=[ActivityLogOut.build(log) for log in page.rows], pagination=page.pagination)


@router.get("/activity-logs/{id}", summary="Get an Activity Log by ID")
def get_activity_log(
    id: Annotated[str, Path(description="id")], account: CurrentAccount, session: DbSession
) -> ActivityLogOut:
    return ActivityLogOut.build(queries.get_log(session, account.account_id, id))
