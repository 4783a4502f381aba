"""Usage metrics: what to aggregate from which events. Their rollups follow every change."""

from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.core.clock import utcnow
from tally.db import is_unique_violation
from tally.exceptions import DuplicateValue, NotFound, ReferenceInUse
from tally.metering import admission, rollups
from tally.metering.queries import metric_query, price_bindings
from tally.metering.schemas import UsageMetricIn
from tally.models import Account, AggregationType, UsageMetric, UsageMetricParameter

# Fields that change which events count or how: changing one rebuilds the metric's rollups.
_DEFINITION = (
    "event_type",
    "aggregation_type",
    "aggregation_property",
    "property_filters",
    "properties_to_negate",
    "case_sensitive",
)


def get_metric(session: Session, account_id: str, metric_id: str) -> UsageMetric:
    metric = session.scalar(metric_query(account_id).where(UsageMetric.id == metric_id))
    if metric is None:
        raise NotFound.resource("Usage metric", metric_id)
    return metric


def _check_name_free(
    session: Session, account_id: str, name: str, besides: str | None = None
) -> None:
    query = metric_query(account_id).where(UsageMetric.name == name)
    if besides is not None:
        query = query.where(UsageMetric.id != besides)
    if session.scalar(query) is not None:
        raise DuplicateValue(f"A usage metric named {name!r} already exists")


def _apply(metric: UsageMetric, data: UsageMetricIn) -> None:
    metric.name = data.name
    metric.description = data.description
    metric.metric_type = data.metric_type
    metric.event_type = data.event_type
    metric.aggregation_type = data.aggregation_type
    metric.aggregation_property = data.aggregation_property
    metric.grouping_property = data.grouping_property
    metric.unit = data.unit
    metric.property_filters = data.normalized_filters()
    metric.properties_to_negate = list(dict.fromkeys(data.properties_to_negate))
    metric.case_sensitive = True if data.case_sensitive is None else data.case_sensitive
    if data.allow_negative_values is not None:  # left out: unchanged (false when created)
        metric.allow_negative_values = data.allow_negative_values
    custom = data.aggregation_type is AggregationType.CUSTOM
    metric.expression = data.expression if custom else None
    if not custom:
        metric.parameters = []
    elif data.parameters is not None:
        _apply_parameters(metric, data)


def _apply_parameters(metric: UsageMetric, data: UsageMetricIn) -> None:
    """The sent list replaces the metric's; a name sent again keeps its parameter (and id),
    so prices that bind it keep their value."""
    kept = {parameter.name: parameter for parameter in metric.parameters}
    wanted = []
    for given in data.parameters or []:
        parameter = kept.get(given.name) or UsageMetricParameter(
            account_id=metric.account_id, name=given.name
        )
        parameter.type = given.type
        parameter.description = given.description
        parameter.default_value = given.default_value
        wanted.append(parameter)
    metric.parameters = wanted


def _flush(session: Session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise DuplicateValue(f"A usage metric named {name!r} already exists") from exc
        raise


def create_metric(session: Session, account: Account, data: UsageMetricIn) -> UsageMetric:
    rollups.lock_definitions(session, account.id, exclusive=True)
    _check_name_free(session, account.id, data.name)
    metric = UsageMetric(account_id=account.id, allow_negative_values=False)
    _apply(metric, data)
    admission.check_stored_values(session, metric)  # events may predate the metric
    session.add(metric)
    _flush(session, data.name)
    rollups.recompute(session, metric, account.timezone, None)
    return metric


def update_metric(
    session: Session, account: Account, metric_id: str, data: UsageMetricIn
) -> UsageMetric:
    rollups.lock_definitions(session, account.id, exclusive=True)
    metric = get_metric(session, account.id, metric_id)
    _check_name_free(session, account.id, data.name, besides=metric.id)
    _check_bound_parameters_kept(session, metric, data)
    audited = _audited(metric)
    before = [getattr(metric, field) for field in _DEFINITION]
    allowed_negative = metric.allow_negative_values
    _apply(metric, data)
    _flush(session, data.name)
    redefined = before != [getattr(metric, field) for field in _DEFINITION]
    if redefined or (allowed_negative and not metric.allow_negative_values):
        admission.check_stored_values(session, metric)
    if redefined:
        rollups.recompute(session, metric, account.timezone, None)
    if changes := activity.changed(audited, _audited(metric)):
        summary = f"Usage metric {metric.name!r}: " + ", ".join(c["field"] for c in changes)
        _log(session, metric, "UPDATED", "Usage metric updated", summary, changes)
    return metric


def _check_bound_parameters_kept(
    session: Session, metric: UsageMetric, data: UsageMetricIn
) -> None:
    """A parameter a live price binds (`customMetricParameters`) stays: the price's value
    would otherwise silently stop counting."""
    if data.aggregation_type is AggregationType.CUSTOM and data.parameters is None:
        return  # parameters left out: unchanged
    kept = {p.name for p in data.parameters or []}
    if data.aggregation_type is not AggregationType.CUSTOM:
        kept = set()
    dropped = {p.id: p.name for p in metric.parameters if p.name not in kept}
    if not dropped:
        return
    for price_id, bindings in price_bindings(session, metric.account_id, metric.id):
        for bound in bindings:
            if bound.get("parameterId") in dropped:
                name = dropped[bound["parameterId"]]
                raise ReferenceInUse(f"Parameter {name!r} is bound by price {price_id!r}: keep it")


def _audited(metric: UsageMetric) -> dict[str, object]:
    return {
        "name": metric.name,
        "description": metric.description,
        "metricType": metric.metric_type,
        "eventType": metric.event_type,
        "aggregationType": metric.aggregation_type,
        "aggregationProperty": metric.aggregation_property,
        "groupingProperty": metric.grouping_property,
        "unit": metric.unit,
        "propertyFilters": metric.property_filters,
        "propertiesToNegate": metric.properties_to_negate,
        "caseSensitive": metric.case_sensitive,
        "allowNegativeValues": metric.allow_negative_values,
        "expression": metric.expression,
        "parameters": [
            {"name": p.name, "type": p.type, "defaultValue": p.default_value}
            for p in metric.parameters
        ],
    }


def _log(
    session: Session,
    metric: UsageMetric,
    verb: str,
    name: str,
    summary: str,
    changes: list[dict[str, object]],
) -> None:
    activity.record(
        session,
        metric.account_id,
        verb=verb,
        object_type="USAGE_METRIC",
        object_id=metric.id,
        name=name,
        summary=summary,
        changes=changes,
    )


def delete_metric(session: Session, account_id: str, metric_id: str) -> UsageMetric:
    """Soft delete: invoices keep what they were calculated with; the rollups go."""
    rollups.lock_definitions(session, account_id, exclusive=True)
    metric = get_metric(session, account_id, metric_id)
    metric.deleted_at = utcnow()
    rollups.forget(session, metric)
    session.flush()
    changes = activity.changed({"deletedAt": None}, {"deletedAt": metric.deleted_at})
    summary = f"Usage metric {metric.name!r} deleted; invoices keep what it calculated"
    _log(session, metric, "DELETED", "Usage metric deleted", summary, changes)
    return metric


def rebuild_rollups(
    session: Session, account: Account, metrics: Iterable[UsageMetric] | None = None
) -> None:
    """Recompute rollups, e.g. after the account's time zone (so its days) changed."""
    rollups.lock_definitions(session, account.id, exclusive=True)
    for metric in metrics if metrics is not None else session.scalars(metric_query(account.id)):
        rollups.recompute(session, metric, account.timezone, None)
