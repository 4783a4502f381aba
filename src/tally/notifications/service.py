"""Notification policies: which events an account's webhooks and email recipients receive.

A policy lists notification types (none: every type) and recipients: http(s) URLs for the
WEBHOOK channel (no internal address unless the operator allows it: `destinations.refusal`),
email addresses for EMAIL. Webhook policies sign what they send with their secret, generated
(`whsec_...`) when the client gives none. Deleting a policy keeps its row, so its delivery log
stays intact; it just stops matching.

Queued deliveries follow the policy as it is when they are sent (`webhooks.deliver_due`):
removing a recipient or a type, or deleting the policy, stops what is still pending.
"""

import secrets
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, defer

from tally.activity import service as activity
from tally.core.clock import utcnow
from tally.core.hosts import AllowList
from tally.exceptions import InvalidRequest, LastNotificationType, NotFound
from tally.models import (
    DeliveryStatus,
    NotificationChannel,
    NotificationEvent,
    NotificationPolicy,
    WebhookDelivery,
)
from tally.notifications import destinations
from tally.notifications.events import NotificationType
from tally.notifications.schemas import MAX_RECIPIENTS, PolicyIn

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, as Sequence writes them
_SECRET_ALPHABET = string.ascii_letters + string.digits
MAX_URL_LENGTH = 2000  # webhook_deliveries.url


def generate_secret() -> str:
    """`whsec_` and 32 random letters and digits (190 bits)."""
    return SECRET_PREFIX + "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(32))


def _webhook_url(value: str, allowed: AllowList | None = None) -> str:
    """`value` checked as a webhook URL; with `allowed`, also as a destination (recipients
    being set; one already held can always be named, to remove it)."""
    url = value.strip()
    try:
        parts = urlsplit(url)
        valid = (
            parts.scheme.lower() in ("http", "https")
            and bool(parts.hostname)
            and (parts.port is None or parts.port > 0)
        )
    except ValueError:  # a port that is no number, or out of range
        valid = False
    if not valid or len(url) > MAX_URL_LENGTH or any(c.isspace() for c in url):
        raise InvalidRequest.field(
            "recipients", f"{value!r} is not an http or https URL (a webhook policy sends to URLs)"
        )
    if allowed is not None and (reason := destinations.refusal(url, allowed)):
        raise InvalidRequest.field(
            "recipients",
            f"{value!r} is not allowed: {reason} (webhooks go to public addresses; the "
            "operator can allow internal receivers with TALLY_WEBHOOK_ALLOWED_HOSTS)",
        )
    return url


def _email(value: str) -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidRequest.field(
            "recipients", f"{value!r} is not an email address (an EMAIL policy needs them): {exc}"
        ) from exc


def _recipients(
    channel: NotificationChannel, values: Iterable[str], allowed: AllowList | None = None
) -> list[str]:
    if channel is NotificationChannel.WEBHOOK:
        return list(dict.fromkeys(_webhook_url(value, allowed) for value in values))
    return list(dict.fromkeys(_email(value) for value in values))


def _same_recipient(channel: NotificationChannel, given: str) -> str:
    """`given` as the policy would hold it (emails normalized), or as given if it is none."""
    try:
        return _recipients(channel, [given])[0]
    except InvalidRequest:
        return given


def _types(types: Iterable[NotificationType]) -> list[str]:
    return list(dict.fromkeys(t.value for t in types))


def create_policy(
    session: Session, account_id: str, data: PolicyIn, *, allowed: AllowList
) -> NotificationPolicy:
    """`allowed`: the internal destinations the operator allows (`webhook_allow_list`)."""
    recipients = _recipients(data.channel, data.recipients, allowed)
    secret = data.webhook_secret
    if data.channel is NotificationChannel.WEBHOOK:
        secret = secret or generate_secret()
    elif secret is not None:
        raise InvalidRequest.field("webhookSecret", "only WEBHOOK policies sign what they send")
    policy = NotificationPolicy(
        account_id=account_id,
        name=data.name,
        channel=data.channel,
        notification_types=_types(data.notification_types or []),
        recipients=recipients,
        webhook_secret=secret,
    )
    session.add(policy)
    session.flush()
    return policy


def get_policy(
    session: Session, account_id: str, policy_id: str, *, for_update: bool = False
) -> NotificationPolicy:
    """A live policy; `for_update` locks it, so concurrent edits of its lists queue."""
    query = select(NotificationPolicy).where(
        NotificationPolicy.account_id == account_id,
        NotificationPolicy.id == policy_id,
        NotificationPolicy.deleted_at.is_(None),
    )
    if for_update:
        query = query.with_for_update()
    policy = session.scalar(query)
    if policy is None:
        raise NotFound.resource("Notification policy", policy_id)
    return policy


def policy_query(
    session: Session, account_id: str, notification_type: NotificationType | None = None
) -> Select[NotificationPolicy]:
    """The account's live policies; with a type, those that receive it (policies listing no
    types receive every type)."""
    query = select(NotificationPolicy).where(
        NotificationPolicy.account_id == account_id, NotificationPolicy.deleted_at.is_(None)
    )
    if notification_type is not None:
        # The type lists are JSON: matched here, not in SQL, alike on both databases (an
        # account has a handful of policies).
        listed = session.execute(
            select(NotificationPolicy.id, NotificationPolicy.notification_types).where(
                NotificationPolicy.account_id == account_id,
                NotificationPolicy.deleted_at.is_(None),
            )
        )
        matching = [
            policy_id
            for policy_id, types in listed
            if not types or notification_type.value in types
        ]
        query = query.where(NotificationPolicy.id.in_(matching))
    return query


def delete_policy(session: Session, account_id: str, policy_id: str) -> NotificationPolicy:
    policy = get_policy(session, account_id, policy_id, for_update=True)
    policy.deleted_at = utcnow()
    session.flush()
    changes = activity.changed({"deletedAt": None}, {"deletedAt": policy.deleted_at})
    what = f"{policy.channel.value} policy {policy.name!r} deleted: what it still had queued stops"
    _log(session, policy, "DELETED", "Notification policy deleted", what, changes)
    return policy


def _log(
    session: Session,
    policy: NotificationPolicy,
    verb: str,
    name: str,
    summary: str,
    changes: list[dict[str, object]],
) -> None:
    activity.record(
        session,
        policy.account_id,
        verb=verb,
        object_type="NOTIFICATION_POLICY",
        object_id=policy.id,
        name=name,
        summary=summary,
        changes=changes,
    )


def _log_list(
    session: Session, policy: NotificationPolicy, field: str, before: list[str], what: str
) -> None:
    """An entry for a change to one of the policy's lists (`field`, its wire name)."""
    after = list(getattr(policy, "recipients" if field == "recipients" else "notification_types"))
    if changes := activity.changed({field: before}, {field: after}):
        summary = f"Policy {policy.name!r}: {what}"
        _log(session, policy, "UPDATED", f"Notification policy {what}", summary, changes)


def add_notification_types(
    session: Session, account_id: str, policy_id: str, types: Sequence[NotificationType]
) -> NotificationPolicy:
    """Add types to the policy's list. A policy listing none receives every type already,
    and stays so."""
    policy = get_policy(session, account_id, policy_id, for_update=True)
    if policy.notification_types:
        before = list(policy.notification_types)
        policy.notification_types = _types(
            [*(NotificationType(t) for t in policy.notification_types), *types]
        )
        session.flush()
        _log_list(session, policy, "notificationTypes", before, "types added")
    return policy


def remove_notification_type(
    session: Session, account_id: str, policy_id: str, notification_type: NotificationType
) -> NotificationPolicy:
    """Stop sending one type. A policy listing no types (every type) then lists all the
    others; the last listed type cannot go, as an empty list would mean every type."""
    policy = get_policy(session, account_id, policy_id, for_update=True)
    listed = list(policy.notification_types) or [t.value for t in NotificationType]
    if notification_type.value not in listed:
        raise NotFound(
            f"Notification policy {policy_id!r} does not receive {notification_type.value}"
        )
    remaining = [t for t in listed if t != notification_type.value]
    if not remaining:
        raise LastNotificationType(
            f"{notification_type.value} is the only type notification policy {policy_id!r} "
            "receives, and a policy listing no types receives every type: delete the policy "
            "instead"
        )
    policy.notification_types = remaining
    session.flush()
    _log_list(session, policy, "notificationTypes", listed, "type removed")
    return policy


def add_recipients(
    session: Session,
    account_id: str,
    policy_id: str,
    recipients: Sequence[str],
    *,
    allowed: AllowList,
) -> NotificationPolicy:
    policy = get_policy(session, account_id, policy_id, for_update=True)
    added = _recipients(policy.channel, recipients, allowed)
    combined = list(dict.fromkeys([*policy.recipients, *added]))
    if len(combined) > MAX_RECIPIENTS:
        raise InvalidRequest.field(
            "recipients", f"a policy has at most {MAX_RECIPIENTS} recipients"
        )
    if combined != policy.recipients:
        before = list(policy.recipients)
        policy.recipients = combined
        session.flush()
        _log_list(session, policy, "recipients", before, "recipients added")
    return policy


def remove_recipient(
    session: Session, account_id: str, policy_id: str, recipient: str
) -> NotificationPolicy:
    policy = get_policy(session, account_id, policy_id, for_update=True)
    held = _same_recipient(policy.channel, recipient)
    if held not in policy.recipients:
        raise NotFound(f"{recipient!r} is not a recipient of notification policy {policy_id!r}")
    before = list(policy.recipients)
    policy.recipients = [r for r in policy.recipients if r != held]
    session.flush()
    _log_list(session, policy, "recipients", before, "recipient removed")
    return policy


# --- the delivery log ------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedDelivery:
    delivery: WebhookDelivery
    event: NotificationEvent


def delivery_query(
    account_id: str, policy_id: str, status: DeliveryStatus | None = None
) -> Select[WebhookDelivery]:
    query = select(WebhookDelivery).where(
        WebhookDelivery.account_id == account_id, WebhookDelivery.policy_id == policy_id
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    return query


def with_events(
    session: Session, account_id: str, deliveries: Sequence[WebhookDelivery]
) -> list[LoggedDelivery]:
    """The deliveries with their events, loaded in one query."""
    event_ids = {d.event_id for d in deliveries}
    events = {
        event.id: event
        for event in session.scalars(
            select(NotificationEvent)
            .where(NotificationEvent.account_id == account_id, NotificationEvent.id.in_(event_ids))
            .options(defer(NotificationEvent.resource))  # the log names the resource only
        )
    }
    return [LoggedDelivery(d, events[d.event_id]) for d in deliveries]
