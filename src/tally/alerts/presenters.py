"""An alert's firing as ALERT_TRIGGERED webhooks carry it: the firing (value, threshold,
period), the alert as GET /api/alerts/{id} answers it, and the customer's id and name."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from tally.alerts import queries
from tally.alerts.schemas import AlertFiringOut, AlertOut
from tally.customers.queries import customer_names
from tally.models import Alert, AlertFiring
from tally.models.scoped import scoped
from tally.notifications.events import ALERT_FIRING, presents


@presents(ALERT_FIRING)
def firings_by_id(
    session: Session, account_id: str, firing_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Three queries, however many firings."""
    firings = list(
        session.scalars(queries.firing_query(account_id).where(AlertFiring.id.in_(firing_ids)))
    )
    alert_ids = {f.alert_id for f in firings}
    alerts = {
        a.id: a for a in session.scalars(scoped(Alert, account_id).where(Alert.id.in_(alert_ids)))
    }
    names = customer_names(session, account_id, {f.customer_id for f in firings})
    found = {}
    for firing in firings:
        body = AlertFiringOut.build(firing).model_dump(mode="json", by_alias=True)
        body["alert"] = AlertOut.build(alerts[firing.alert_id]).model_dump(
            mode="json", by_alias=True
        )
        body["customerName"] = names.get(firing.customer_id)
        found[firing.id] = body
    return found
