"""The keys the account's billing schedules use in their `customFields`."""

from sqlalchemy import true
from sqlalchemy.orm import Session

from tally.core.sql import json_object_keys
from tally.models import BillingSchedule
from tally.models.scoped import scoped


def custom_field_keys(session: Session, account_id: str) -> list[str]:
    """Every key of the account's schedules' custom fields (archived ones' too), once each,
    sorted."""
    keys = json_object_keys(session, BillingSchedule.custom_fields)
    query = (
        scoped(BillingSchedule, account_id)
        .with_only_columns(keys.c.key)
        .distinct()
        .select_from(BillingSchedule)
        .join(keys, true())
        .order_by(keys.c.key)
    )
    return list(session.scalars(query))
