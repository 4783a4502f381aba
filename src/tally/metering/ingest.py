"""Storing usage events: the hot path.

A batch is staged in one go (COPY on PostgreSQL), then moved into `usage_events` by a few
set-based statements: new `customer_event_id`s are inserted; known ones replace the stored
event when their content differs (last received wins); exact resends change nothing. The
metrics' rollups follow in the same transaction, so a 2xx answer means events and aggregates
are both durable. Per event, Python only shapes a tuple and checks what the metrics of its
event type would read (`admission.py`); everything else is SQL.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

import msgspec
from sqlalchemy import (
    ColumnElement,
    Executable,
    FromClause,
    Select,
    String,
    Text,
    Uuid,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy import event as sqlalchemy_events
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, lazyload

from tally.core.clock import utcnow
from tally.core.sql import is_postgres, upsert_insert
from tally.db import new_id, table_of
from tally.metering import admission, partitions, queries, rollups
from tally.metering.admission import Refusal
from tally.metering.sql import metering_sql
from tally.metering.staging import (
    STAGE_COLUMNS,
    StagedBatch,
    load_stage,
    prior,
    stage,
    store_if_all_new,
)
from tally.models import (
    Account,
    Alert,
    AlertCheck,
    BillingSchedulePhase,
    CreditAutoRecharge,
    CustomerAlias,
    UsageMetric,
)
from tally.models.metering import USAGE_EVENT_KEYS, USAGE_EVENTS

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
ALERT_CHECKS = table_of(AlertCheck)
ALERTS = table_of(Alert)
ALIASES = table_of(CustomerAlias)


class IncomingEvent(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """An event as the API and imports receive it (Sequence's field names). An unknown field
    is refused: a misspelled `eventTimestamp` dropped would bill the event at the wrong time."""

    customer_alias: Name
    event_type: Name
    event_timestamp: Annotated[datetime, msgspec.Meta(tz=True)] | None = None  # None: now
    customer_event_id: Name | None = None
    # The properties' JSON text, passed through untouched: exact numbers, no re-encoding.
    event_properties: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"{}"))


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    REPLACED = "replaced"


class StoredOutcome(msgspec.Struct, frozen=True):
    outcome: Outcome
    id: str
    customer_event_id: str
    duplicate: bool = False  # an exact resend: nothing changed


def _insert_new(session: Session) -> set[str]:
    """Insert staged events whose customer_event_id is new: first their keys (the one unique
    index), then the events whose keys went in; the ids inserted."""
    keys = USAGE_EVENT_KEYS
    new_keys = (
        select(stage.c.account_id, stage.c.customer_event_id, stage.c.id)
        .where(stage.c.id.is_not(None))  # a WHERE keeps SQLite's upsert grammar unambiguous
        .order_by(stage.c.customer_event_id)  # one lock order for concurrent batches
    )
    inserted = set(
        session.scalars(
            upsert_insert(session)(keys)
            .from_select(["account_id", "customer_event_id", "event_id"], new_keys)
            .on_conflict_do_nothing(index_elements=["account_id", "customer_event_id"])
            .returning(keys.c.event_id)
        )
    )
    if inserted:
        rows = select(*(stage.c[name] for name in STAGE_COLUMNS)).join(
            keys,
            and_(
                keys.c.account_id == stage.c.account_id,
                keys.c.customer_event_id == stage.c.customer_event_id,
                keys.c.event_id == stage.c.id,
            ),
        )
        session.execute(insert(USAGE_EVENTS).from_select(list(STAGE_COLUMNS), rows))
    return inserted


def _among(
    session: Session, column: ColumnElement[str], values: Iterable[str], *, uuids: bool = False
) -> ColumnElement[bool]:
    """`column` is one of `values`: one array parameter on PostgreSQL, not a thousand."""
    if is_postgres(session):
        item_type = Uuid(as_uuid=False) if uuids else Text()
        array = bindparam(None, list(values), type_=postgresql.ARRAY(item_type))
        return column == any_(array)
    return column.in_(list(values))


class Source(StrEnum):
    """Where a batch's new events are read from to extend the rollups."""

    STAGE = "stage"  # every staged event is new
    STAGE_NEW = "stage_new"  # only the staged events with ids in NEW_IDS
    STORED = "stored"  # the batch went straight into usage_events: ids in NEW_IDS


NEW_IDS = "new_ids"
FIRST_AT, LAST_AT = "first_at", "last_at"  # the STORED batch's earliest and latest timestamps


def _id_list(ids: Iterable[str], postgres: bool) -> str | list[str]:
    """NEW_IDS's value: on PostgreSQL one comma-separated string (cheaper to send than an
    array parameter, which the driver dumps element by element), a list elsewhere."""
    return ",".join(ids) if postgres else list(ids)


def _source(postgres: bool, source: Source) -> tuple[FromClause, list[ColumnElement[bool]]]:
    ids: ColumnElement[Any] = (
        cast(
            func.string_to_array(bindparam(NEW_IDS, type_=Text()), ","),
            postgresql.ARRAY(Uuid(as_uuid=False)),
        )
        if postgres
        else bindparam(NEW_IDS, expanding=True)
    )
    if source is Source.STAGE:
        return stage, []
    if source is Source.STAGE_NEW:
        return stage, [stage.c.id == any_(ids) if postgres else stage.c.id.in_(ids)]
    if not postgres:
        return select(USAGE_EVENTS).where(USAGE_EVENTS.c.id.in_(ids)).subquery("fresh"), []
    # One primary-key lookup per id, whatever the statistics say: a plain join let a plan
    # prepared while the month's partition was small (a hash join over a scan of it) stay in
    # use as the partition grew to millions of rows, each batch then reading all of them.
    # OFFSET 0 keeps the lookup a subquery run per id, which the planner cannot turn into a
    # join; the batch's time span leaves out the partitions none of its events can be in.
    wanted = func.unnest(ids).table_valued("id").render_derived()
    timestamps = USAGE_EVENTS.c.event_timestamp
    lookup = (
        select(USAGE_EVENTS)
        .where(
            USAGE_EVENTS.c.id == wanted.c.id,
            timestamps >= bindparam(FIRST_AT, type_=timestamps.type),
            timestamps <= bindparam(LAST_AT, type_=timestamps.type),
        )
        .offset(0)
        .lateral("stored")
    )
    return select(lookup).select_from(wanted).join(lookup, true()).subquery("fresh"), []


@lru_cache(maxsize=512)
def _extend_statements(
    postgres: bool, source: Source, zone: str, metrics: tuple[rollups.MetricDefinition, ...]
) -> tuple[Executable, ...]:
    table, where = _source(postgres, source)
    return rollups.extend_statements(postgres, metrics, zone, table, where)


def _capture_prior(session: Session, account_id: str, keys: Iterable[str]) -> None:
    """Copy (and on PostgreSQL lock) the stored events with these customer_event_ids.

    Looked up by the explicit keys, so the keys' primary key answers it whatever the planner
    thinks of the temporary table, then by event id (one probe per partition).
    """
    events = USAGE_EVENTS
    holders = select(USAGE_EVENT_KEYS.c.event_id).where(
        USAGE_EVENT_KEYS.c.account_id == account_id,
        _among(session, USAGE_EVENT_KEYS.c.customer_event_id, keys),
    )
    known: Select[object] = (
        select(*(events.c[name] for name in STAGE_COLUMNS))
        .where(events.c.account_id == account_id, events.c.id.in_(holders))
        .order_by(events.c.id)
    )
    if is_postgres(session):
        known = known.with_for_update()
    session.execute(insert(prior).from_select(list(STAGE_COLUMNS), known))


def _replace_changed(session: Session) -> set[str]:
    """Overwrite stored events whose staged successor differs; their customer_event_ids."""
    events = USAGE_EVENTS
    sql = metering_sql(session)
    content = ("customer_alias", "event_type", "event_timestamp", "properties")
    differs: ColumnElement[bool] = or_(
        *(events.c[name].is_distinct_from(stage.c[name]) for name in content[:3]),
        sql.json_distinct(events.c.properties, stage.c.properties),
    )
    statement = (
        update(events)
        .where(
            events.c.account_id == stage.c.account_id,
            events.c.customer_event_id == stage.c.customer_event_id,
            events.c.id == prior.c.id,
            differs,
            # A delayed request never overwrites what a later one stored.
            events.c.received_at <= stage.c.received_at,
        )
        .values({name: stage.c[name] for name in (*content, "received_at")})
        .returning(events.c.customer_event_id)
    )
    return set(session.scalars(statement))


@dataclass(frozen=True)
class Metrics:
    """The live metrics of some event types, read once per batch, and whether the account
    has a live alert (read by the same query: no extra round trip for accounts without)."""

    event_types: set[str]
    metrics: list[UsageMetric]
    alerting: bool = False
    # Something watches every customer's usage (an alert by price, a threshold-invoiced phase,
    # an auto-recharge): mark all the batch's customers, not only those with their own alert.
    marking_all: bool = False


def _loaded(session: Session, account_id: str, event_types: set[str]) -> Metrics:
    """`_metrics`, with a column saying whether new usage must be evaluated at once: the
    account has a live alert, a threshold-invoiced phase or a live auto-recharge (each an
    indexed lookup)."""
    if not event_types:
        return Metrics(event_types, [])
    live = (Alert.account_id == account_id, Alert.archived_at.is_(None))
    everyone = or_(
        exists().where(*live, Alert.customer_id.is_(None)),
        exists().where(
            BillingSchedulePhase.account_id == account_id,
            BillingSchedulePhase.invoice_threshold.is_not(None),
        ),
        exists().where(
            CreditAutoRecharge.account_id == account_id, CreditAutoRecharge.deleted_at.is_(None)
        ),
    )
    rows = session.execute(
        select(UsageMetric, everyone.label("everyone"), exists().where(*live).label("alerting"))
        # Their CUSTOM parameters stay unread: ingestion never needs them.
        .options(lazyload(UsageMetric.parameters))
        .where(
            UsageMetric.account_id == account_id,
            UsageMetric.deleted_at.is_(None),
            UsageMetric.event_type.in_(event_types),
        )
        .order_by(UsageMetric.id)  # one lock order when recomputing several
    ).all()
    marking_all = any(row[1] for row in rows)
    return Metrics(
        event_types,
        [row[0] for row in rows],
        alerting=marking_all or any(row[2] for row in rows),
        marking_all=marking_all,
    )


MARKED = ("id", "account_id", "customer_name", "dirty_since", "created_at", "updated_at")


@lru_cache(maxsize=4)
def _marking(postgres: bool, every: bool) -> Executable:
    """INSERT of (id, name) pairs into `alert_checks` from one parameter: the same SQL text
    whatever the batch's customers, so it is compiled (and prepared) once, not per batch as a
    multi-row VALUES of the batch's size was (a fifth of a batch's time in the server).
    Unless `every`, only names of customers with a live alert of their own are marked (by id
    or live alias, each an indexed lookup): the evaluator has nothing to do for the others,
    and marking them cost ingestion a tenth of its rate."""
    pairs: FromClause
    if postgres:
        text_array = postgresql.ARRAY(String())
        pairs = (
            func.unnest(
                bindparam("mark_ids", type_=text_array), bindparam("mark_names", type_=text_array)
            )
            .table_valued("id", "name")
            .render_derived()
        )
    else:
        each = func.json_each(bindparam("marks", type_=String())).table_valued("value")
        pairs = select(
            func.json_extract(each.c.value, "$[0]").label("id"),
            func.json_extract(each.c.value, "$[1]").label("name"),
        ).subquery("marks")
    now = bindparam("now", type_=ALERT_CHECKS.c.dirty_since.type)
    rows = select(
        pairs.c.id,
        bindparam("account_id", type_=String()),
        pairs.c.name,
        now.label("dirty_since"),
        now.label("created_at"),
        now.label("updated_at"),
    )
    if not every:
        rows = rows.where(_has_own_alert(pairs.c.name))
    return insert(ALERT_CHECKS).from_select(list(MARKED), rows)


def _has_own_alert(name: ColumnElement[Any]) -> ColumnElement[bool]:
    """The customer an event names (its id or a live alias) has a live alert of its own."""
    account_id = bindparam("account_id", type_=String())
    live = (ALERTS.c.account_id == account_id, ALERTS.c.archived_at.is_(None))
    return or_(
        exists().where(*live, ALERTS.c.customer_id == name),
        exists().where(
            *live,
            ALIASES.c.account_id == account_id,
            ALIASES.c.value == name,
            ALIASES.c.deleted_at.is_(None),
            ALERTS.c.customer_id == ALIASES.c.customer_id,
        ),
    )


def _mark_for_alerts(
    session: Session, account_id: str, names: set[str], now: datetime, every: bool
) -> None:
    """Queue the batch's customers for the alert evaluator (`alerts/checks.py`): one INSERT
    in the batch's transaction, with no unique key to wait on (concurrent batches never wait
    for each other here; the evaluator folds duplicates)."""
    ordered = sorted(names)
    ids = [new_id() for _ in ordered]
    postgres = is_postgres(session)
    marks: dict[str, object] = (
        {"mark_ids": ids, "mark_names": ordered}
        if postgres
        else {"marks": json.dumps(list(zip(ids, ordered, strict=True)))}
    )
    session.execute(_marking(postgres, every), {"account_id": account_id, "now": now, **marks})


def _metrics(session: Session, account_id: str, event_types: set[str]) -> list[UsageMetric]:
    """The live metrics of these event types, by id (one lock order when recomputing)."""
    if not event_types:
        return []
    return list(
        session.scalars(
            select(UsageMetric)
            .where(
                UsageMetric.account_id == account_id,
                UsageMetric.deleted_at.is_(None),
                UsageMetric.event_type.in_(event_types),
            )
            .order_by(UsageMetric.id)  # one lock order when recomputing several
        )
    )


def _touched_buckets(session: Session, zone: str, replaced: set[str]) -> list[rollups.Bucket]:
    """The (alias, day) buckets replaced events left and entered."""
    sql = metering_sql(session)
    old = select(prior.c.customer_alias, sql.local_day(prior.c.event_timestamp, zone)).where(
        prior.c.customer_event_id.in_(replaced)
    )
    new = select(stage.c.customer_alias, sql.local_day(stage.c.event_timestamp, zone)).where(
        stage.c.customer_event_id.in_(replaced)
    )
    return sorted({(alias, day) for alias, day in session.execute(old.union(new))})


def _update_rollups(
    session: Session,
    account: Account,
    batch: StagedBatch,
    inserted: set[str],
    replaced: set[str],
    loaded: Metrics,
    *,
    staged: bool,
) -> None:
    types_by_key = {row[1]: row[3] for row in batch.rows}
    event_types = {row[3] for row in batch.rows if row[0] in inserted}
    event_types |= {types_by_key[key] for key in replaced}
    if replaced:  # and the types the replaced versions had
        event_types |= set(
            session.scalars(
                select(prior.c.event_type).where(prior.c.customer_event_id.in_(replaced)).distinct()
            )
        )
    metrics = [metric for metric in loaded.metrics if metric.event_type in event_types]
    if event_types - loaded.event_types:  # a replaced event had another type: rare
        metrics += _metrics(session, account.id, event_types - loaded.event_types)
        metrics.sort(key=lambda metric: metric.id)
    if not metrics:
        return
    # New events are read from the stage, or from the table when they went straight in.
    if not staged:
        source = Source.STORED
    else:
        source = Source.STAGE if len(inserted) == len(batch.rows) else Source.STAGE_NEW
    postgres = is_postgres(session)
    parameters: dict[str, object] = (
        {NEW_IDS: _id_list(inserted, postgres)} if source is not Source.STAGE else {}
    )
    if source is Source.STORED and postgres:
        times = [row[4] for row in batch.rows]
        parameters |= {FIRST_AT: min(times), LAST_AT: max(times)}
    buckets = _touched_buckets(session, account.timezone, replaced) if replaced else []
    if inserted:
        definitions = tuple(rollups.MetricDefinition.of(metric) for metric in metrics)
        for statement in _extend_statements(postgres, source, account.timezone, definitions):
            session.execute(statement, parameters)
    if buckets:
        rollups.lock_maintenance(session, account.id)
        for metric in metrics:
            rollups.recompute(session, metric, account.timezone, buckets)
    _maybe_compact(session, account.id)


# Every this many batches, a process merges the account's rollup rows (see rollups.compact),
# those of the buckets that got rows since its last compaction of the account. When a pass
# merges away few of the rows added since (many customers with an event or two a day: each
# bucket mostly one row), the next comes twice as late, up to MAX_COMPACT_EVERY: reading
# 10,000 rows to merge none cost ingestion a fifth of its database time.
COMPACT_EVERY = 50
MAX_COMPACT_EVERY = 50 * 32
FEW_MERGED = 0.1  # rows merged away per row added, under which compaction slows down
_batches_since_compaction: dict[str, int] = {}
_compact_every: dict[str, int] = {}
_compacted: dict[str, rollups.Compacted] = {}


def _maybe_compact(session: Session, account_id: str) -> None:
    count = _batches_since_compaction.get(account_id, 0) + 1
    every = _compact_every.get(account_id, COMPACT_EVERY)
    if count < every:
        _batches_since_compaction[account_id] = count
        return
    # Never make ingestion wait: if another process is compacting, skip this turn.
    if not rollups.lock_maintenance(session, account_id, wait=False):
        return
    before = _compacted.get(account_id)
    after = rollups.compact(session, account_id, before)
    _batches_since_compaction[account_id] = 0
    few = after.merged.removed < FEW_MERGED * after.merged.new_rows
    slower = min(every * 2, MAX_COMPACT_EVERY) if few else COMPACT_EVERY

    def keep(_: Session) -> None:  # once the batch commits: a rolled back pass merged nothing
        _compacted[account_id] = after
        _compact_every[account_id] = slower

    sqlalchemy_events.listen(session, "after_commit", keep, once=True)


def ingest(
    session: Session, account: Account, events: Sequence[IncomingEvent]
) -> list[StoredOutcome | Refusal]:
    """Store a batch; one outcome per incoming event, in order: how it was stored, or why it
    was refused (then nothing of it is)."""
    if not events:
        return []
    rollups.lock_definitions(session, account.id, exclusive=False)
    event_types = {event.event_type for event in events}
    loaded = _loaded(session, account.id, event_types)
    refused = _refusals(session, account.id, events, loaded.metrics)
    if not refused:
        return list(_store(session, account, events, loaded))
    admitted = [event for index, event in enumerate(events) if index not in refused]
    stored = iter(_store(session, account, admitted, loaded) if admitted else [])
    return [refused[index] if index in refused else next(stored) for index in range(len(events))]


def _refusals(
    session: Session, account_id: str, events: Sequence[IncomingEvent], metrics: list[UsageMetric]
) -> dict[int, Refusal]:
    """The events Tally cannot take, by index: two queries per batch (retention's horizon,
    archived customers)."""
    refused: dict[int, Refusal] = {}
    retired = partitions.retired_until(session)  # one index probe: retention's horizon
    if retired is not None:
        horizon = datetime.combine(retired, time(), UTC)
        for index, event in enumerate(events):
            if event.event_timestamp is not None and event.event_timestamp < horizon:
                refused[index] = admission.retired_refusal(retired)
    archived = queries.archived_names(session, account_id, {e.customer_alias for e in events})
    reads = admission.numeric_reads(metrics)
    if not archived and not reads:
        return refused
    for index, event in enumerate(events):
        if index in refused:
            continue
        customer = archived.get(event.customer_alias)
        refusal = (
            admission.archived_refusal(event.customer_alias, customer)
            if customer is not None
            else admission.quantity_refusal(reads, event.event_type, bytes(event.event_properties))
        )
        if refusal is not None:
            refused[index] = refusal
    return refused


def _store(
    session: Session, account: Account, events: Sequence[IncomingEvent], loaded: Metrics
) -> list[StoredOutcome]:
    received_at = utcnow()
    ids = [new_id() for _ in events]
    keys = [
        event.customer_event_id or event_id for event, event_id in zip(events, ids, strict=True)
    ]
    # Within a batch too, the last event with a customer_event_id wins.
    winner = {key: index for index, key in enumerate(keys)}
    batch = StagedBatch(
        account_id=account.id,
        received_at=received_at,
        rows=[
            (
                ids[index],
                key,
                events[index].customer_alias,
                events[index].event_type,
                events[index].event_timestamp or received_at,
                bytes(events[index].event_properties),
            )
            for key, index in winner.items()
        ],
    )
    replaced: set[str] = set()
    stored_ids: dict[str, str] = {}
    staged = not store_if_all_new(session, batch)
    if not staged:
        inserted = {row[0] for row in batch.rows}
    else:  # some keys are known: resends or replacements
        load_stage(session, batch)
        inserted = _insert_new(session)
        known = [key for key, index in winner.items() if ids[index] not in inserted]
        if known:
            _capture_prior(session, account.id, known)
            replaced = _replace_changed(session)
            stored_ids = dict(session.execute(select(prior.c.customer_event_id, prior.c.id)).all())
    _update_rollups(session, account, batch, inserted, replaced, loaded, staged=staged)
    if loaded.alerting and loaded.metrics and (inserted or replaced):
        names = {row[2] for row in batch.rows}
        _mark_for_alerts(session, account.id, names, received_at, loaded.marking_all)
    return _outcomes(events, keys, ids, winner, inserted, replaced, stored_ids)


def _outcomes(
    events: Sequence[IncomingEvent],
    keys: list[str],
    ids: list[str],
    winner: dict[str, int],
    inserted: set[str],
    replaced: set[str],
    stored_ids: dict[str, str],
) -> list[StoredOutcome]:
    if len(inserted) == len(keys):  # the usual batch: every event new, every key distinct
        return [StoredOutcome(Outcome.ACCEPTED, i, key) for i, key in zip(ids, keys, strict=True)]
    previous: dict[str, int] = {}  # the last earlier event of the batch with the same key
    outcomes = []
    for index, key in enumerate(keys):
        last = winner[key]
        final_id = ids[last] if ids[last] in inserted else stored_ids[key]
        earlier = previous.get(key)
        previous[key] = index
        if index < last:
            # Superseded later in the same batch: accepted, then replaced by that event.
            outcomes.append(StoredOutcome(Outcome.ACCEPTED, final_id, key))
        elif earlier is not None and ids[last] in inserted:
            # Stored new, after an earlier event of the batch with the same key.
            same = _same_content(events[earlier], events[index])
            outcome = Outcome.ACCEPTED if same else Outcome.REPLACED
            outcomes.append(StoredOutcome(outcome, final_id, key, duplicate=same))
        elif key in replaced:
            outcomes.append(StoredOutcome(Outcome.REPLACED, final_id, key))
        elif ids[last] in inserted:
            outcomes.append(StoredOutcome(Outcome.ACCEPTED, final_id, key))
        else:
            outcomes.append(StoredOutcome(Outcome.ACCEPTED, final_id, key, duplicate=True))
    return outcomes


def _same_content(first: IncomingEvent, second: IncomingEvent) -> bool:
    return (
        first.customer_alias == second.customer_alias
        and first.event_type == second.event_type
        and first.event_timestamp == second.event_timestamp
        and bytes(first.event_properties) == bytes(second.event_properties)
    )
