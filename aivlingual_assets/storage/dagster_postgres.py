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
import weakref
from typing import Any

import sqlalchemy as sa
from dagster._core.storage.base_storage import DagsterStorage
from dagster._serdes import ConfigurableClassData
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config

# kept per process: with 2, a run of `aivlingual process` still opened ~6 overflow connections a recording
# (nested checkouts in Dagster's event writes and reads), each closed again when returned
POOL_SIZE = 4
MAX_OVERFLOW = 4  # opened for a burst and closed when returned: at most 8 connections a process
POOL_TIMEOUT_S = 30  # then dagster-postgres's own connection retry takes over
POOL_RECYCLE_S = 3600

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


class PooledPostgresRunStorage(_Pooled, PostgresRunStorage):
    """dagster-postgres's run storage on the shared pool."""


class PooledPostgresEventLogStorage(_Pooled, PostgresEventLogStorage):
    """dagster-postgres's event log storage on the shared pool (its watcher polls through it)."""

    _tables: set[str]

    def has_table(self, table_name: str) -> bool:
        """Asked before every dynamic-partition look-up (~135 times a recording), one catalogue query each;
        a table, once there, is remembered (Dagster never drops one), as the kept SQLite storage does."""
        known = self.__dict__.setdefault("_tables", set())
        if table_name not in known and super().has_table(table_name):
            known.add(table_name)
        return table_name in known

    def has_asset_key_col(self, column_name: str) -> bool:
        """Asked at every asset event and asset read (~20 times a recording), a catalogue query each; a column
        of the asset_keys table, once there, is remembered (migrations add columns, never drop them)."""
        known = self.__dict__.setdefault("_asset_key_cols", set())
        if column_name not in known and super().has_asset_key_col(column_name):
            known.add(column_name)
        return column_name in known


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
