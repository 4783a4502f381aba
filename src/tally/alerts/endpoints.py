"""/api/alerts: spend-control alerts (a Tally extension), their firings, and a customer's
alerts with how close each is."""

from typing import Annotated

from fastapi import Query

from tally.alerts import queries, service
from tally.alerts.schemas import (
    AlertFiringOut,
    AlertIn,
    AlertOut,
    AlertStatusOut,
    CustomerAlertsOut,
    progress_of,
)
from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession, ReplicaSession
from tally.api.pagination import Paging, paginate
from tally.api.routing import api_router
from tally.api.schemas import Page
from tally.models import Account, AlertFiring, AlertType
from tally.models import Alert as AlertRow

router = api_router(tags=["Alerts"])


@router.get("/alerts", summary="List alerts")
def list_alerts(
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    customer_id: Annotated[str | None, Query(alias="customerId")] = None,
    price_id: Annotated[str | None, Query(alias="priceId")] = None,
    type: Annotated[AlertType | None, Query()] = None,
    include_archived: Annotated[bool, Query(alias="includeArchived")] = False,
) -> Page[AlertOut]:
    query = queries.alert_query(
        account.account_id,
        customer_id=customer_id,
        price_id=price_id,
        alert_type=type,
        live=None if include_archived else True,
    )
    page = paginate(session, query, AlertRow.id, paging)
    return Page(items=[AlertOut.build(row) for row in page.rows], pagination=page.pagination)


@router.post("/alerts", status_code=201, summary="Create an alert")
def create_alert(body: AlertIn, account: CurrentAccount, session: DbSession) -> AlertOut:
    return AlertOut.build(service.create_alert(session, account.account_id, body))


@router.get("/alerts/{id}", summary="Get an alert")
def get_alert(id: str, account: CurrentAccount, session: DbSession) -> AlertOut:
    return AlertOut.build(service.get_alert(session, account.account_id, id))


@router.put("/alerts/{id}", summary="Update an alert")
def update_alert(id: str, body: AlertIn, account: CurrentAccount, session: DbSession) -> AlertOut:
    return AlertOut.build(service.update_alert(session, account.account_id, id, body))


@router.delete("/alerts/{id}", summary="Archive an alert (it stays readable)")
def archive_alert(id: str, account: CurrentAccount, session: DbSession) -> AlertOut:
    return AlertOut.build(service.archive_alert(session, account.account_id, id))


@router.get("/alerts/{id}/firings", summary="List an alert's firings")
def list_firings(
    id: str,
    account: CurrentAccount,
    session: ReplicaSession,
    paging: Paging,
    customer_id: Annotated[str | None, Query(alias="customerId")] = None,
) -> Page[AlertFiringOut]:
    service.get_alert(session, account.account_id, id)
    query = queries.firing_query(account.account_id, alert_id=id, customer_id=customer_id)
    page = paginate(session, query, AlertFiring.id, paging)
    return Page(items=[AlertFiringOut.build(r) for r in page.rows], pagination=page.pagination)


@router.get("/alert-status/{customerId}", summary="A customer's alerts and how close each is")
def customer_alerts(
    customerId: str,
    account: CurrentAccount,
    session: DbSession,
) -> CustomerAlertsOut:
    tenant = session.get(Account, account.account_id)
    assert tenant is not None
    statuses = service.customer_status(session, tenant, customerId)
    return CustomerAlertsOut(
        customer_id=customerId,
        items=[
            AlertStatusOut(
                alert=AlertOut.build(s.alert),
                value=s.value,
                threshold=s.alert.threshold,
                period_start=s.period_start,
                period_end=s.period_end,
                fired=s.fired,
                progress=progress_of(s.alert.type, s.value, s.alert.threshold),
            )
            for s in statuses
        ],
    )
