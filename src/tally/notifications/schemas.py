"""Notification policies in Sequence's shapes, and Tally's delivery log."""

import re
from datetime import datetime
from typing import Any

from pydantic import Field

from tally.api.schemas import Schema
from tally.models import (
    DeliveryStatus,
    NotificationChannel,
    NotificationEvent,
    NotificationPolicy,
    WebhookDelivery,
)
from tally.notifications.events import NotificationType

# Sequence gives no limits; these keep a policy to what one row should hold.
MAX_RECIPIENTS = 50
MAX_SECRET_LENGTH = 200


class PolicyIn(Schema):
    """Sequence's `CreateNotificationPolicyRequest`."""

    name: str = Field(min_length=1, max_length=500)
    notification_types: list[NotificationType] | None = Field(
        default=None, description="The types the policy receives; none or empty: every type."
    )
    recipients: list[str] = Field(
        max_length=MAX_RECIPIENTS,
        description="Webhook URLs (http or https) or email addresses, as the channel says.",
    )
    channel: NotificationChannel
    webhook_secret: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SECRET_LENGTH,
        description="Signs every webhook (`Sequence-Signature`); generated when not given.",
    )


class NotificationTypesIn(Schema):
    """Sequence's `AddNotificationTypesToPolicyRequest`."""

    notification_types: list[NotificationType] = Field(min_length=1)


class RecipientsIn(Schema):
    """Sequence's `AddRecipientsToPolicyRequest`."""

    recipients: list[str] = Field(min_length=1, max_length=MAX_RECIPIENTS)


class PolicyOut(Schema):
    """Sequence's `NotificationPolicy`. The webhook secret is shown on every read, as
    Sequence's dashboard and schema do: receivers need it to check signatures."""

    id: str
    created_at: datetime
    sequence_account_id: str
    name: str
    notification_types: list[NotificationType]
    recipients: list[str]
    channel: NotificationChannel
    webhook_secret: str | None = None

    @classmethod
    def build(cls, policy: NotificationPolicy) -> "PolicyOut":
        return cls(
            id=policy.id,
            created_at=policy.created_at,
            sequence_account_id=policy.account_id,
            name=policy.name,
            notification_types=[NotificationType(t) for t in policy.notification_types],
            recipients=list(policy.recipients),
            channel=policy.channel,
            webhook_secret=policy.webhook_secret,
        )


# Attempts recorded before Tally wrote every reason itself kept the start of a failing answer
# ("HTTP 500: <body>") and exceptions' own messages ("RemoteProtocolError: <bytes read>"): both
# can hold what an internal server said, so the log shows them without it.
_OLD_ANSWER = re.compile(r"HTTP (\d{3})\b.*", re.DOTALL)
_OLD_EXCEPTION = re.compile(r"([A-Z][A-Za-z]*(?:Error|Timeout|Exception)): .*", re.DOTALL)


def shown_error(error: str | None) -> str | None:
    if error is None:
        return None
    if found := _OLD_ANSWER.fullmatch(error):
        return f"answered {found[1]}"
    if found := _OLD_EXCEPTION.fullmatch(error):
        return found[1]
    return error


class AttemptOut(Schema):
    attempt: int
    at: datetime
    response_status: int | None = Field(
        default=None, description="The receiver's HTTP status, when it answered."
    )
    error: str | None = Field(
        default=None,
        description='Why the attempt failed, in Tally\'s words ("answered 500", "timed out '
        'after 10 s", "destination not allowed: ..."); never the receiver\'s answer.',
    )
    duration_ms: int

    @classmethod
    def build(cls, entry: dict[str, Any]) -> "AttemptOut":
        return cls.model_validate({**entry, "error": shown_error(entry.get("error"))})


class DeliveryOut(Schema):
    """One event sent to one URL of the policy (a Tally extension: the delivery log)."""

    id: str
    policy_id: str
    event_id: str
    notification_type: str
    resource_type: str | None = None
    resource_id: str | None = None
    url: str
    status: DeliveryStatus
    attempts: int
    response_status: int | None = Field(default=None, description="Of the last attempt.")
    last_error: str | None = Field(
        default=None, description="Why the last attempt failed, or why it was not sent."
    )
    next_attempt_at: datetime | None = Field(
        default=None, description="When the next attempt is due (PENDING deliveries)."
    )
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    created_at: datetime
    attempt_log: list[AttemptOut] = Field(description="Every attempt, oldest first.")

    @classmethod
    def build(cls, delivery: WebhookDelivery, event: NotificationEvent) -> "DeliveryOut":
        return cls(
            id=delivery.id,
            policy_id=delivery.policy_id,
            event_id=delivery.event_id,
            notification_type=event.notification_type,
            resource_type=event.resource_type,
            resource_id=event.resource_id,
            url=delivery.url,
            status=delivery.status,
            attempts=delivery.attempts,
            response_status=delivery.response_status,
            last_error=shown_error(delivery.last_error),
            next_attempt_at=(
                delivery.next_attempt_at if delivery.status is DeliveryStatus.PENDING else None
            ),
            last_attempt_at=delivery.last_attempt_at,
            delivered_at=delivery.delivered_at,
            created_at=delivery.created_at,
            attempt_log=[AttemptOut.build(entry) for entry in delivery.attempt_log],
        )
