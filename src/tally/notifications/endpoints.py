"""/api/notifications/policies: webhooks and email notifications, and their delivery log."""

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.errors import LISTED_ERRORS
from tally.api.pagination import Paging, paginate
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.core.hosts import AllowList
from tally.models import DeliveryStatus, NotificationPolicy, WebhookDelivery
from tally.notifications import service
from tally.notifications.events import NotificationType
from tally.notifications.schemas import (
    DeliveryOut,
    NotificationTypesIn,
    PolicyIn,
    PolicyOut,
    RecipientsIn,
)
from tally.settings import Settings

router = api_router(tags=["Notifications"])
# The operations whose 400 Sequence documents as `DatabaseErrors` declare `LISTED_ERRORS`:
# their 400s carry its `errors` list beside the usual `error`.

PolicyId = Annotated[str, Path(description="Notification policy ID")]


def _allow_list(request: Request) -> AllowList:
    settings: Settings = request.app.state.settings
    return settings.webhook_allow_list


Allowed = Annotated[AllowList, Depends(_allow_list)]


@router.get("/notifications/policies", summary="List notification policies")
def list_policies(
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    notification_type: Annotated[
        NotificationType | None,
        Query(
            alias="notificationType",
            description="Only policies that receive this type (those listing none receive all).",
        ),
    ] = None,
) -> Page[PolicyOut]:
    query = service.policy_query(session, account.account_id, notification_type)
    page = paginate(session, query, NotificationPolicy.id, paging)
    return Page(items=[PolicyOut.build(p) for p in page.rows], pagination=page.pagination)


@router.post(
    "/notifications/policies",
    status_code=201,
    summary="Create a notification policy",
    description="A WEBHOOK policy without `webhookSecret` gets a generated one (`whsec_...`).",
    responses=LISTED_ERRORS,
)
def create_policy(
    body: PolicyIn, account: CurrentAccount, session: DbSession, allowed: Allowed
) -> PolicyOut:
    return PolicyOut.build(
        service.create_policy(session, account.account_id, body, allowed=allowed)
    )


@router.get("/notifications/policies/{id}", summary="Get a notification policy")
def get_policy(id: PolicyId, account: CurrentAccount, session: DbSession) -> PolicyOut:
    return PolicyOut.build(service.get_policy(session, account.account_id, id))


@router.delete(
    "/notifications/policies/{id}",
    summary="Delete a notification policy",
    description="Nothing more is sent to its recipients, including deliveries still pending.",
)
def delete_policy(id: PolicyId, account: CurrentAccount, session: DbSession) -> PolicyOut:
    return PolicyOut.build(service.delete_policy(session, account.account_id, id))


@router.post(
    "/notifications/policies/{id}/notification-types",
    summary="Add notification types to a policy",
    responses=LISTED_ERRORS,
)
def add_notification_types(
    id: PolicyId, body: NotificationTypesIn, account: CurrentAccount, session: DbSession
) -> PolicyOut:
    policy = service.add_notification_types(
        session, account.account_id, id, body.notification_types
    )
    return PolicyOut.build(policy)


@router.delete(
    "/notifications/policies/{id}/notification-types/{type}",
    summary="Remove a notification type from a policy",
    responses=LISTED_ERRORS,
)
def remove_notification_type(
    id: PolicyId, type: NotificationType, account: CurrentAccount, session: DbSession
) -> PolicyOut:
    policy = service.remove_notification_type(session, account.account_id, id, type)
    return PolicyOut.build(policy)


@router.post(
    "/notifications/policies/{id}/recipients",
    summary="Add recipients to a policy",
    responses=LISTED_ERRORS,
)
def add_recipients(
    id: PolicyId, body: RecipientsIn, account: CurrentAccount, session: DbSession, allowed: Allowed
) -> PolicyOut:
    policy = service.add_recipients(
        session, account.account_id, id, body.recipients, allowed=allowed
    )
    return PolicyOut.build(policy)


# `:path`: webhook URLs hold slashes (sent percent-encoded, decoded before routing).
@router.delete(
    "/notifications/policies/{id}/recipients/{recipient:path}",
    summary="Remove a recipient from a policy",
    description="The recipient percent-encoded: a URL's `/` as `%2F`, `?` as `%3F`.",
    responses=LISTED_ERRORS,
)
def remove_recipient(
    id: PolicyId, recipient: str, account: CurrentAccount, session: DbSession
) -> PolicyOut:
    return PolicyOut.build(service.remove_recipient(session, account.account_id, id, recipient))


@router.get(
    "/notifications/policies/{id}/deliveries",
    summary="A webhook policy's delivery log (Tally extension)",
    description="Every event sent to each of its URLs: status, attempts, the receiver's "
    "answers and errors, newest first.",
)
def list_deliveries(
    id: PolicyId,
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    status: DeliveryStatus | None = None,
) -> Page[DeliveryOut]:
    policy = service.get_policy(session, account.account_id, id)
    query = service.delivery_query(account.account_id, policy.id, status)
    page = paginate(session, query, WebhookDelivery.id, paging)
    logged = service.with_events(session, account.account_id, page.rows)
    return Page(
        items=[DeliveryOut.build(item.delivery, item.event) for item in logged],
        pagination=page.pagination,
    )
