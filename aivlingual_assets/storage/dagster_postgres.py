"""Dagster's PostgreSQL instance storage on a small pool of kept connections.

dagster-postgres builds its run, event log and schedule storages on ``NullPool`` engines outside the
webserver: every read and every event written connects to the server (TCP, authentication, a backend
process started), runs one statement and disconnects.  A recording's run writes some 700 events and
reads its partitions and pools hundreds of times, so on PostgreSQL the same work took about twice
SQLite's time (``bench/dagster_storage.py``).

:class:`PooledPostgresStorage` is Dagster's own storage (:class:`dagster_postgres.DagsterPostgresStorage`
and its ``PostgresRunStorage`` / ``PostgresEventLogStorage`` / ``PostgresScheduleStorage``: same tables,
same migrations, same queries) whose three storages share one pooled engine per process and server URL:

* a ``QueuePool`` of :data:`POOL_SIZE` kept connections, at most :data:`MAX_OVERFLOW` more for bursts
  (the daemon's threads), so one process never holds more than ``POOL_SIZE + MAX_OVERFLOW``;
* no pre-ping (a checkout would pay one more round trip); a connection the server dropped is
  invalidated by SQLAlchemy on its error, and connections are recycled after :data:`POOL_RECYCLE_S`;
* fork safety: a forked child (a multiprocess executor started with ``fork``/``forkserver``, a
  ``multiprocessing`` pool) drops the parent's connections without closing them
  (``Engine.dispose(close=False)``, SQLAlchemy's recipe) and opens its own;
* the webserver keeps Dagster's own choice (``optimize_for_webserver``: one kept connection per storage
  and a statement timeout); the event log watcher polls through the pool.

Each round trip to the server is paid for, where SQLite answers in-process, so the event log also sends
fewer statements per event (:meth:`PooledPostgresEventLogStorage.store_event`; same rows, same
notifications): an event and its ``NOTIFY`` in one statement instead of two, and an asset event's index
rows (its tags and its ``asset_keys`` row) in one statement instead of a transaction (which psycopg2 opens
with three round trips: ``SET default_transaction_isolation``, ``BEGIN``, ``COMMIT``).  Catalogue look-ups
Dagster repeats (tables, columns) are remembered once answered yes: migrations add, never drop; and a
dynamic partition found (Dagster asks about the run's own at each step's every input and output) is
believed for :data:`PARTITION_SEEN_S` without asking again; an asset's wipe time (read before each read of
its events) is believed for :data:`WIPE_SEEN_S`, and an asset event's write returns it fresh.  What
another process changes meanwhile (a partition deleted, an asset wiped) is seen that long later at most;
what this process changes, at once.

It takes exactly dagster-postgres's configuration (``postgres_url`` or ``postgres_db``, ``auth_provider``,
``should_autocreate_tables``), so a ``dagster.yaml`` switches by naming the class::

    storage:
      custom:
        module: aivlingual_assets.storage.dagster_postgres
        class: PooledPostgresStorage
        config:
          postgres_url:
            env: DAGSTER_PG_URL

The commands (``aivlingual process`` ...) use it whenever ``DAGSTER_HOME`` names Dagster's own
``storage: postgres`` (:func:`with_pooled_connections`).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any, NamedTuple

import dagster._check as check
import sqlalchemy as sa
from dagster._core.definitions.events import AssetKey
from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS, DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.event_log import AssetKeyTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.base import AssetDetails, EventLogRecord
from dagster._core.storage.event_log.migration import ASSET_KEY_INDEX_COLS
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, AssetEventTagsTable
from dagster._serdes import ConfigurableClassData, deserialize_value, serialize_value
from dagster._utils.concurrency import ConcurrencyClaimStatus, ConcurrencySlotStatus
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.event_log.event_log import CHANNEL_NAME
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config
from sqlalchemy.dialects import postgresql

# kept per process: with 2, a run of `aivlingual process` still opened ~6 overflow connections a recording
# (nested checkouts in Dagster's event writes and reads), each closed again when returned
POOL_SIZE = 4
MAX_OVERFLOW = 4  # opened for a burst and closed when returned: at most 8 connections a process
POOL_TIMEOUT_S = 30  # then dagster-postgres's own connection retry takes over
POOL_RECYCLE_S = 3600
# a dynamic partition found is believed to exist this long without asking again (see has_dynamic_partition)
PARTITION_SEEN_S = 1.0
# an asset's wipe time (asset_keys.asset_details) read is believed this long without reading it again
# (see _get_assets_details); a wipe through this storage is seen at once
WIPE_SEEN_S = 1.0

_lock = threading.Lock()
_shared: dict[tuple[str, int], tuple[sa.Engine, int]] = {}  # (url, token provider) -> (engine, users)
_all_engines: weakref.WeakSet[sa.Engine] = weakref.WeakSet()  # every engine made here, for after a fork


def _pooled_engine(postgres_url: str, token_provider: Any) -> sa.Engine:
    engine = create_pg_engine(postgres_url, token_provider, isolation_level="AUTOCOMMIT",
                              poolclass=sa.pool.QueuePool, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW,
                              pool_timeout=POOL_TIMEOUT_S, pool_recycle=POOL_RECYCLE_S, pool_pre_ping=False)  # fmt: skip
    _all_engines.add(engine)
    return engine


def acquire_engine(postgres_url: str, token_provider: Any = None) -> sa.Engine:
    """The process's pooled engine for ``postgres_url`` (one per URL and token provider), one more user."""
    key = (postgres_url, id(token_provider) if token_provider is not None else 0)
    with _lock:
        engine, users = _shared.get(key) or (_pooled_engine(postgres_url, token_provider), 0)
        _shared[key] = (engine, users + 1)
        return engine


def release_engine(engine: sa.Engine, *, keep: bool = False) -> None:
    """One user less; the last one closes the pool's connections (the engine stays usable: a later
    statement opens a new connection). ``keep``: the last user leaves the engine shared and open."""
    with _lock:
        for key, (shared, users) in list(_shared.items()):
            if shared is engine:
                if users > 1 or keep:
                    _shared[key] = (shared, max(users - 1, 0))
                    return
                del _shared[key]
                break
    engine.dispose()


def _forget_parent_connections() -> None:
    """In a forked child: the pools' connections belong to the parent (same sockets); leave them to it."""
    for engine in list(_all_engines):
        engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parent_connections)


class _Pooled:
    """Mixin for dagster-postgres's storages: after Dagster's own set-up (tables checked or created on its
    ``NullPool`` engine), statements go through the shared pooled engine."""

    _engine: sa.Engine
    postgres_url: str
    _token_provider: Any
    # Dagster's instance disposes its run and event log storages, never its schedule storage: that one only
    # borrows the engine, so the other two's dispose closes the pool
    _releases_engine = True

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True,
                 inst_data: ConfigurableClassData | None = None, token_provider: Any = None) -> None:
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)  # type: ignore[call-arg]
        self._engine.dispose()
        self._engine = acquire_engine(self.postgres_url, self._token_provider)
        if not self._releases_engine:
            release_engine(self._engine, keep=True)
        self._pooled = self._releases_engine

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> Any:
        return cls(*_args(config_value), inst_data=inst_data, token_provider=get_token_provider_from_config(config_value))

    def optimize_for_webserver(self, statement_timeout: int, pool_recycle: int, max_overflow: int) -> None:
        """Dagster's webserver engine (one kept connection, statement timeout), as dagster-postgres does."""
        if self._pooled:
            release_engine(self._engine)
            self._pooled = False
        super().optimize_for_webserver(statement_timeout, pool_recycle, max_overflow)  # type: ignore[misc]
        _all_engines.add(self._engine)

    def dispose(self) -> None:
        super().dispose()  # type: ignore[misc]
        if self._pooled:
            self._pooled = False
            release_engine(self._engine)


def _args(config_value: Any) -> tuple[str, bool]:
    return pg_url_from_config(config_value), config_value.get("should_autocreate_tables", True)


def _remembered(storage: Any, name: str, ask: Any) -> bool:
    """``ask()`` (a catalogue look-up: does a table or column exist) until it first answers yes, then
    yes without asking: Dagster's migrations add tables and columns, never drop them."""
    known = storage.__dict__.setdefault("_catalogue_yes", set())
    if name not in known and ask():
        known.add(name)
    return name in known


# Dagster's claim of a pool's slot for a step (SqlEventLogStorage.claim_concurrency_slot: has_pending_step,
# has_unassigned_slots, add_pending_step, check_concurrency_claim, _claim_concurrency_slot; 8 statements)
# as one: the step is queued unless it is (assigned at once if the pool has more live slots than assigned
# steps), and once assigned it takes a free slot unless it holds one already
CLAIM_SLOT_SQL = sa.text("""
WITH queued AS (
    SELECT assigned_timestamp, priority, create_timestamp FROM pending_steps
    WHERE run_id = :run_id AND step_key = :step_key AND concurrency_key = :key LIMIT 1
), added AS (
    INSERT INTO pending_steps (concurrency_key, run_id, step_key, priority, assigned_timestamp)
    SELECT :key, :run_id, :step_key, :priority,
           CASE WHEN (SELECT count(*) FROM concurrency_slots WHERE concurrency_key = :key AND deleted = false)
                   > (SELECT count(*) FROM pending_steps
                      WHERE concurrency_key = :key AND assigned_timestamp IS NOT NULL) THEN now() END
    WHERE NOT EXISTS (SELECT FROM queued)
    RETURNING assigned_timestamp, priority, create_timestamp
), pending AS (
    SELECT * FROM queued UNION ALL SELECT * FROM added
), held AS (
    SELECT count(*) AS n FROM concurrency_slots
    WHERE concurrency_key = :key AND run_id = :run_id AND step_key = :step_key
), free AS (
    SELECT id FROM concurrency_slots
    WHERE concurrency_key = :key AND step_key IS NULL AND deleted = false
      AND EXISTS (SELECT FROM pending WHERE assigned_timestamp IS NOT NULL) AND (SELECT n FROM held) = 0
    LIMIT 1 FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE concurrency_slots SET run_id = :run_id, step_key = :step_key
    WHERE id IN (SELECT id FROM free) RETURNING id
)
SELECT pending.assigned_timestamp, pending.priority, pending.create_timestamp,
       (SELECT n FROM held) AS held, (SELECT count(*) FROM claimed) AS claimed
FROM (SELECT 1) AS one LEFT JOIN pending ON true
""")

# Dagster's release of a step's slot (SqlEventLogStorage.free_concurrency_slot_for_step: _free_concurrency_slots,
# _remove_pending_steps, assign_pending_steps; 6-7 statements) as one: its slots marked deleted (a limit
# lowered meanwhile) are dropped, the others freed, its queue entries removed, and for each entry that was
# assigned the next unassigned step of that pool (highest priority, then the oldest) is assigned
FREE_SLOT_SQL = sa.text("""
WITH dropped AS (
    DELETE FROM concurrency_slots WHERE run_id = :run_id AND step_key = :step_key AND deleted = true
), freed AS (
    UPDATE concurrency_slots SET run_id = NULL, step_key = NULL
    WHERE run_id = :run_id AND step_key = :step_key AND deleted = false
), removed AS (
    DELETE FROM pending_steps WHERE run_id = :run_id AND step_key = :step_key
    RETURNING concurrency_key, assigned_timestamp
), reassign AS (
    SELECT concurrency_key, count(*) AS n FROM removed WHERE assigned_timestamp IS NOT NULL GROUP BY concurrency_key
), next AS (
    SELECT queue.id FROM (
        SELECT id, concurrency_key,
               row_number() OVER (PARTITION BY concurrency_key ORDER BY priority DESC, create_timestamp ASC) AS place
        FROM pending_steps
        WHERE assigned_timestamp IS NULL AND concurrency_key IN (SELECT concurrency_key FROM reassign)
          AND NOT (run_id = :run_id AND step_key = :step_key)
    ) AS queue JOIN reassign USING (concurrency_key) WHERE queue.place <= reassign.n
)
UPDATE pending_steps SET assigned_timestamp = now() WHERE id IN (SELECT id FROM next)
""")


class _Believed:
    """Answers read from the server, each believed for a while (``seconds``, read at each remember) without
    asking again: what another process changes meanwhile is seen that much later at most."""

    def __init__(self) -> None:
        self._until: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> tuple[bool, Any]:
        """(True, the answer) while it is believed, else (False, None)."""
        until, value = self._until.get(key, (0.0, None))
        return (True, value) if until > time.monotonic() else (False, None)

    def remember(self, key: Any, value: Any, seconds: float) -> None:
        self._until[key] = (time.monotonic() + seconds, value)

    def forget(self, key: Any = None) -> None:
        """Forgets ``key``'s answer (None: every answer)."""
        if key is None:
            self._until.clear()
        else:
            self._until.pop(key, None)


def _believed(storage: Any, name: str) -> _Believed:
    return storage.__dict__.setdefault(name, _Believed())


class PooledPostgresRunStorage(_Pooled, PostgresRunStorage):
    """dagster-postgres's run storage on the shared pool."""

    def has_run_stats_index_cols(self) -> bool:
        """Asked at every run event and run look-up, a catalogue query each (~5 a recording)."""
        return _remembered(self, "runs.start_time,end_time", super().has_run_stats_index_cols)

    def has_backfill_id_column(self) -> bool:
        """Asked at every new run, a catalogue query each."""
        return _remembered(self, "runs.backfill_id", super().has_backfill_id_column)


class PooledPostgresEventLogStorage(_Pooled, PostgresEventLogStorage):
    """dagster-postgres's event log storage on the shared pool (its watcher polls through it)."""

    def has_table(self, table_name: str) -> bool:
        """Asked before every dynamic-partition look-up (~135 times a recording), one catalogue query each."""
        return _remembered(self, table_name, lambda: super(PooledPostgresEventLogStorage, self).has_table(table_name))

    def has_asset_key_col(self, column_name: str) -> bool:
        """Asked at every asset event and asset read (~20 times a recording), a catalogue query each."""
        return _remembered(self, f"asset_keys.{column_name}",
                           lambda: super(PooledPostgresEventLogStorage, self).has_asset_key_col(column_name))

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        """Dagster asks whether the run's own partition exists ~117 times a recording (each input and
        output of each step, as the partition key range is built), one query each.  An answer yes is
        believed for :data:`PARTITION_SEEN_S` without asking again; no is always asked.  A partition
        deleted by another process meanwhile is believed to exist that long at most, as if it had been
        deleted that much later; one deleted through this storage is forgotten at once."""
        seen, key = _believed(self, "_partitions_seen"), (partitions_def_name, partition_key)
        if seen.get(key)[0]:
            return True
        if not super().has_dynamic_partition(partitions_def_name, partition_key):
            return False
        seen.remember(key, True, PARTITION_SEEN_S)
        return True

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        super().delete_dynamic_partition(partitions_def_name, partition_key)
        _believed(self, "_partitions_seen").forget((partitions_def_name, partition_key))

    def _get_assets_details(self, asset_keys: Sequence[AssetKey]) -> Sequence[AssetDetails | None]:
        """Dagster reads an asset's wipe time (``asset_keys.asset_details``) before each read of its events,
        tags or partitions, to leave out what came before the last wipe: ~32 queries a recording, four
        for each asset read.  An answer (a wipe time, or none) is believed for :data:`WIPE_SEEN_S`
        without reading it again.  A wipe by another process meanwhile is seen that long later at most
        (this process reads the asset's events from before it, as if the wipe had come that much later);
        a wipe through this storage (:meth:`wipe_asset`, :meth:`wipe`) is seen at once."""
        seen = _believed(self, "_wipes_seen")
        answers = {key: seen.get(key) for key in asset_keys}
        missing = list(dict.fromkeys(key for key, (known, _) in answers.items() if not known))
        if missing:
            for key, details in zip(missing, super()._get_assets_details(missing), strict=True):
                seen.remember(key, details, WIPE_SEEN_S)
                answers[key] = (True, details)
        return [answers[key][1] for key in asset_keys]

    def _get_latest_materialization_records(self, raw_asset_rows: Any) -> Any:
        """Dagster's asset records take an asset's latest materialization from its ``asset_keys`` row, and
        read the event log for those whose row does not hold it (none, an old format, or from before the
        last wipe) — a query it sends even when every row holds it (``asset_key IN (NULL) AND 1 != 1``, ~7
        a recording).  Here that query is sent only when some row needs it (then Dagster's own code)."""
        rows, latest = list(raw_asset_rows), {}
        for row in rows:
            asset_key = AssetKey.from_db_string(row["asset_key"])
            if not asset_key:
                continue
            details = AssetDetails.from_db_string(row["asset_details"])
            wiped = details.last_wipe_timestamp if details else None
            stored = deserialize_value(row["last_materialization"], NamedTuple) if row["last_materialization"] else None
            if not isinstance(stored, EventLogRecord) or (wiped is not None and stored.event_log_entry.timestamp <= wiped):
                return super()._get_latest_materialization_records(rows)
            latest[asset_key] = stored
        return latest

    def wipe_asset(self, asset_key: AssetKey) -> None:
        try:
            super().wipe_asset(asset_key)
        finally:
            _believed(self, "_wipes_seen").forget(asset_key)

    def wipe_asset_partitions(self, asset_key: AssetKey, partition_keys: Sequence[str]) -> None:
        try:
            super().wipe_asset_partitions(asset_key, partition_keys)
        finally:
            _believed(self, "_wipes_seen").forget(asset_key)

    def wipe(self) -> None:
        try:
            super().wipe()
        finally:
            _believed(self, "_wipes_seen").forget()

    def claim_concurrency_slot(self, concurrency_key: str, run_id: str, step_key: str,
                               priority: int | None = None) -> ConcurrencyClaimStatus:  # fmt: skip
        """Dagster's claim of a slot of pool ``concurrency_key`` for a step (same rows, same answer) in one
        statement (:data:`CLAIM_SLOT_SQL`) instead of eight: a step in a pool claims once and frees once,
        ~70 statements a recording.  Dagster's eight run in autocommit mode (each ``FOR UPDATE`` lock
        lasts its own statement), so one statement is at least as safe against another process's claims."""
        params = dict(key=concurrency_key, run_id=run_id, step_key=step_key, priority=priority or 0)
        with self.index_connection() as conn:
            row = conn.execute(CLAIM_SLOT_SQL, params).one()
        assigned, queued_priority, enqueued, held, claimed = row
        status = ConcurrencySlotStatus.CLAIMED if assigned is not None and (held or claimed) else ConcurrencySlotStatus.BLOCKED
        return ConcurrencyClaimStatus(concurrency_key=concurrency_key, slot_status=status, priority=queued_priority or None,
                                      assigned_timestamp=assigned, enqueued_timestamp=enqueued)  # fmt: skip

    def free_concurrency_slot_for_step(self, run_id: str, step_key: str) -> None:
        """Dagster's release of a step's slots and queue entries, the next queued steps assigned (same
        rows), in one statement (:data:`FREE_SLOT_SQL`) instead of six or seven."""
        with self.index_connection() as conn:
            conn.execute(FREE_SLOT_SQL, dict(run_id=run_id, step_key=step_key))

    def store_event(self, event: EventLogEntry) -> None:
        """dagster-postgres's ``store_event`` (same rows, same notification) in fewer round trips.

        dagster-postgres inserts the event, then sends ``NOTIFY run_events, '<run id>_<event id>'`` as a
        second statement (kept for webservers older than its polling watcher, which reads the table), then
        for an asset event writes its tags and ``asset_keys`` row in a transaction.  Here:

        1. the insert and the notification are one statement: ``WITH stored AS (INSERT ... RETURNING
           run_id, id) SELECT id, pg_notify('run_events', run_id || '_' || id) FROM stored``; a listener
           still gets one notification per event with the same payload, at the same moment (the commit);
        2. an asset event's ``asset_keys`` upsert and its tags (``asset_event_tags``) are one statement,
           so atomic in autocommit mode, where the transaction cost three more round trips (psycopg2
           leaves autocommit with ``SET default_transaction_isolation``, then ``BEGIN`` and ``COMMIT``);
           for an event other than a materialization (planned, observed: its ``asset_keys`` row does not
           hold the event's id) they are ``WITH`` clauses of the event's own statement, the tags taking
           the id from ``stored``.  The values are Dagster's own (``_tags_for_asset_event``,
           ``_get_asset_entry_values``);
        3. an asset check's ``asset_check_executions`` row (a planned check inserted, a run's evaluation
           updating it) is a ``WITH`` clause of the event's statement too (:meth:`_asset_check_statement`);
           an evaluation without a planned row, or outside a run, is Dagster's own code.

        A recording's run of `aivlingual process` (~125 events, 16 of them asset events): 439 round trips
        instead of 626 (counted at the server, run storage's remembered columns included) with 1. and
        2.; 212 with the planned asset events and the check events (8 each a recording) folded in, the
        wipe-time cache and the one-statement slots.
        """
        check.inst_param(event, "event", EventLogEntry)
        table = SqlEventLogStorageTable
        stored = self.prepare_insert_event(event).returning(table.c.run_id, table.c.id).cte("stored")
        notify = sa.func.pg_notify(CHANNEL_NAME, stored.c.run_id + "_" + sa.cast(stored.c.id, sa.Text))
        dagster_event = event.dagster_event
        asset_key = dagster_event.asset_key if dagster_event and dagster_event.event_type in ASSET_EVENTS else None
        # a materialization's asset_keys row holds the event with its id, so it is written once the id is known;
        # another asset event's row (planned, observed) and tags, and an asset check's row, are written by the
        # event's own statement (WITH clauses taking the id from `stored`)
        event_id_sql = sa.select(stored.c.id).scalar_subquery()
        with_event = asset_key is not None and not check.not_none(dagster_event).is_step_materialization
        checked = self._asset_check_statement(event, event_id_sql)
        if with_event:
            upsert, tags = self._asset_index_statements(event, event_id_sql)
            indexed = upsert.cte("indexed")
            query = sa.select(stored.c.id, notify, indexed.c.asset_key, indexed.c.asset_details).select_from(
                stored.outerjoin(indexed, sa.true()))
            query = query.add_cte(tags.cte("tags")) if tags is not None else query
        elif checked is not None:
            rows = checked.cte("checked")
            query = sa.select(stored.c.id, notify, sa.select(sa.func.count()).select_from(rows).scalar_subquery())
        else:
            query = sa.select(stored.c.id, notify)
        with self._connect() as conn:
            row = conn.execute(query).one()
        event_id, indexed_row = int(row[0]), (row[2:] if with_event and row[2] is not None else None)
        if asset_key is not None and not with_event:
            upsert, tags = self._asset_index_statements(event, event_id)
            with self.index_connection() as conn:  # the tags in a WITH clause: one statement, no transaction
                indexed_row = conn.execute(upsert.add_cte(tags.cte("tags")) if tags is not None else upsert).first()
        if indexed_row is not None:  # the asset's wipe time as of this write: believed as if just read
            details = deserialize_value(indexed_row[1], AssetDetails) if indexed_row[1] else None
            _believed(self, "_wipes_seen").remember(asset_key, details, WIPE_SEEN_S)
        if checked is not None and dagster_event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            self._after_asset_check_update(event, event_id, int(row[2]))
        elif checked is None and dagster_event is not None and dagster_event.event_type in ASSET_CHECK_EVENTS:
            self.store_asset_check_event(event, event_id)

    def _asset_check_statement(self, event: EventLogEntry, event_id: Any) -> Any:
        """An asset check event's ``asset_check_executions`` write, as Dagster's ``store_asset_check_event``
        makes it, returning the rows written, for the event's own statement (``event_id``: SQL giving the
        stored event's id): a planned check's rows inserted (``_store_asset_check_evaluation_planned``),
        or a run's evaluation updating its planned row (``_update_asset_check_evaluation``; see
        :meth:`_after_asset_check_update`).  None for any other event, or a check evaluated outside a run
        (Dagster's own code then)."""
        dagster_event = event.dagster_event
        if dagster_event is None or dagster_event.event_type not in ASSET_CHECK_EVENTS or not self.supports_asset_checks:
            return None
        table, data = AssetCheckExecutionsTable, dagster_event.event_specific_data
        written = dict(evaluation_event=serialize_value(event), evaluation_event_storage_id=event_id,
                       evaluation_event_timestamp=self._event_insert_timestamp(event))  # fmt: skip
        if dagster_event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
            keys = data.partitions_subset.get_partition_keys() if data.partitions_subset else [None]
            rows = [dict(asset_key=data.asset_key.to_string(), check_name=data.check_name, partition=key,
                         run_id=event.run_id, execution_status=AssetCheckExecutionRecordStatus.PLANNED.value, **written)
                    for key in keys]  # fmt: skip
            return table.insert().values(rows).returning(table.c.id)
        if not event.run_id:
            return None
        status = AssetCheckExecutionRecordStatus.SUCCEEDED if data.passed else AssetCheckExecutionRecordStatus.FAILED
        target = data.target_materialization_data
        where = sa.and_(table.c.asset_key == data.asset_key.to_string(), table.c.check_name == data.check_name,
                        table.c.run_id == event.run_id,
                        self._get_asset_check_partition_filter_clause(PartitionKeyFilter(key=data.partition)))  # fmt: skip
        return (table.update().where(where).returning(table.c.id)
                .values(execution_status=status.value, materialization_event_storage_id=target.storage_id if target else None,
                        partition=data.partition, **written))  # fmt: skip

    def _after_asset_check_update(self, event: EventLogEntry, event_id: int, updated: int) -> None:
        """After a run's check evaluation updated ``updated`` planned rows in the event's statement, as
        Dagster's ``_update_asset_check_evaluation``: none (no planned event, as with a step launcher's
        external instance), Dagster's own update-or-insert; more than one, Dagster's error."""
        if updated == 0:
            self._update_asset_check_evaluation(event, event_id)
        elif updated > 1:
            key = event.get_dagster_event().event_specific_data.asset_check_key
            raise DagsterInvariantViolationError(f"Updated {updated} rows for asset check evaluation {key} "
                                                 "as a result of duplicate AssetCheckPlanned events.")  # fmt: skip

    def _asset_index_statements(self, event: EventLogEntry, event_id: Any) -> tuple[Any, Any]:
        """dagster-postgres's ``asset_keys`` upsert for an asset event (``_store_asset_event``), returning
        the row's ``asset_key`` and ``asset_details`` (its wipe time; no row when an existing one is left
        alone), and the insert of the event's ``asset_event_tags`` rows (``_store_asset_event_tags``; None
        without tags), for the caller to send in one statement.  ``event_id``: the stored event's id, or
        SQL giving it (a materialization's ``asset_keys`` row needs the number)."""
        asset_key = check.not_none(event.get_dagster_event().asset_key).to_string()
        values = self._get_asset_entry_values(event, event_id, self.has_secondary_index(ASSET_KEY_INDEX_COLS))
        upsert = postgresql.insert(AssetKeyTable).values(asset_key=asset_key, **values)
        upsert = (upsert.on_conflict_do_update(index_elements=[AssetKeyTable.c.asset_key], set_=dict(**values))
                  if values else upsert.on_conflict_do_nothing())  # fmt: skip
        upsert = upsert.returning(AssetKeyTable.c.asset_key, AssetKeyTable.c.asset_details)
        tags = self._tags_for_asset_event(event)
        if not tags or not self.has_table(AssetEventTagsTable.name):
            return upsert, None
        at = self._event_insert_timestamp(event)
        rows = [dict(event_id=event_id, asset_key=asset_key, key=key, value=value, event_timestamp=at)
                for key, value in tags.items()]  # fmt: skip
        return upsert, AssetEventTagsTable.insert().values(rows)


class PooledPostgresScheduleStorage(_Pooled, PostgresScheduleStorage):
    """dagster-postgres's schedule storage on the shared pool."""

    _releases_engine = False


class PooledPostgresStorage(DagsterPostgresStorage):
    """:class:`DagsterPostgresStorage` whose run, event log and schedule storages share one pooled engine."""

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True,
                 inst_data: ConfigurableClassData | None = None, token_provider: Any = None) -> None:
        self.postgres_url = postgres_url
        self.should_autocreate_tables = should_autocreate_tables
        self._inst_data = inst_data
        self._run_storage = PooledPostgresRunStorage(postgres_url, should_autocreate_tables, token_provider=token_provider)
        self._event_log_storage = PooledPostgresEventLogStorage(postgres_url, should_autocreate_tables,
                                                                token_provider=token_provider)  # fmt: skip
        self._schedule_storage = PooledPostgresScheduleStorage(postgres_url, should_autocreate_tables,
                                                               token_provider=token_provider)  # fmt: skip
        DagsterStorage.__init__(self)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> PooledPostgresStorage:
        return cls(*_args(config_value), inst_data=inst_data, token_provider=get_token_provider_from_config(config_value))

    def _data(self, storage: type) -> ConfigurableClassData | None:
        return ConfigurableClassData(__name__, storage.__name__, self.inst_data.config_yaml) if self.inst_data else None

    @property
    def event_storage_data(self) -> ConfigurableClassData | None:
        return self._data(PooledPostgresEventLogStorage)

    @property
    def run_storage_data(self) -> ConfigurableClassData | None:
        return self._data(PooledPostgresRunStorage)

    @property
    def schedule_storage_data(self) -> ConfigurableClassData | None:
        return self._data(PooledPostgresScheduleStorage)


def with_pooled_connections(ref: Any) -> Any:
    """``ref`` (a Dagster ``InstanceRef``) on :class:`PooledPostgresStorage` when it uses dagster-postgres's
    ``DagsterPostgresStorage`` (``storage: postgres`` in dagster.yaml); any other storage is left alone."""
    data = ref.storage_data
    if data is None or (data.module_name, data.class_name) != ("dagster_postgres", "DagsterPostgresStorage"):
        return ref
    return ref._replace(storage_data=ConfigurableClassData(__name__, PooledPostgresStorage.__name__, data.config_yaml))
