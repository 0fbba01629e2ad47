"""Dagster's SQLite instance storage, with its connections kept open for the life of a command.

Dagster's SQLite storages build a new SQLAlchemy engine and open a new connection for every
read and every event written: connect, insert, commit (an fsync), close.  Closing the last
connection of a WAL database checkpoints it (more fsyncs) and deletes its WAL file, and every
new engine compiles its statements afresh.  For `aivlingual process`, whose runs write some
700 events per recording, that bookkeeping was most of the command's time.

:class:`KeptConnectionSqliteStorage` is the same storage on the same files (same schema, same
directories, readable by `dagster dev` and every other process at the same time), except that:

* one engine per database file is kept, with a small pool of open connections, so statements
  compile once and a write is one transaction in the WAL;
* connections run with ``PRAGMA synchronous=NORMAL`` (SQLite's recommended setting in WAL
  mode: a commit is not fsynced by itself, the WAL is at checkpoints).  A crash of the process
  loses nothing committed; a power cut may lose the last commits, never corrupts the file;
* the run's own event database is checkpointed when a step or the run ends (and closed when
  the run ends), because the UI follows a run that is in progress by watching that file: it
  shows the run's events step by step, as they were before, instead of only at the end;
* a new run's event database is a copy of an empty one (:func:`shard_template`) instead of
  being built by Dagster's ``_initdb`` for every run: creating its tables and indexes, stamping
  its alembic revision and reading Dagster's migration scripts to check it took ~0.3-0.8 s per
  run, more than the rest of a small recording's event writes.  The empty database is made
  once per Dagster version by that same ``_initdb``, so the copy is what Dagster would build.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster
import sqlalchemy as sa
from dagster._core.events import DagsterEventType
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData
from dagster._utils import mkdir_p

# Events after which a UI watching the run should see it: the run's database is checkpointed.
STEP_ENDS = frozenset({DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE,
                       DagsterEventType.STEP_SKIPPED, DagsterEventType.STEP_UP_FOR_RETRY,
                       DagsterEventType.RUN_START})  # fmt: skip
RUN_ENDS = frozenset({DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE, DagsterEventType.RUN_CANCELED})


class KeptEngines:
    """One engine per SQLite file, its connections kept open and set to ``synchronous=NORMAL``."""

    def __init__(self) -> None:
        self._engines: dict[str, sa.Engine] = {}
        self._lock = threading.Lock()

    def get(self, conn_string: str) -> sa.Engine:
        with self._lock:
            engine = self._engines.get(conn_string)
            if engine is None:
                engine = sa.create_engine(conn_string, poolclass=sa.pool.QueuePool, pool_size=2, max_overflow=8,
                                          connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})  # fmt: skip
                sa.event.listen(engine, "connect", _synchronous_normal)
                self._engines[conn_string] = engine
            return engine

    def checkpoint(self, conn_string: str) -> None:
        """Copy the WAL into the database file (what a UI watching the file reacts to)."""
        engine = self._engines.get(conn_string)
        if engine is not None:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self, conn_string: str) -> None:
        with self._lock:
            engine = self._engines.pop(conn_string, None)
        if engine is not None:
            engine.dispose()  # the last connection checkpoints the WAL into the file

    def close_all(self) -> None:
        with self._lock:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.dispose()


def _synchronous_normal(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class KeptConnectionRunStorage(SqliteRunStorage):
    """Dagster's SQLite run storage (runs.db) on one kept engine."""

    def __init__(self, conn_string: str, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(conn_string, inst_data)
        self._engines = KeptEngines()

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        with self._engines.get(self._conn_string).connect() as conn:
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        super().dispose()
        self._engines.close_all()


class KeptConnectionEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log on kept engines (one per run database and the index)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines = KeptEngines()
        self._tables: set[str] = set()  # tables known to exist in the index (Dagster never drops one)
        super().__init__(base_dir, inst_data)

    def _new_run_database(self, shard: str) -> bool:
        """A new run's database as a copy of the empty one; False when it exists (or the copy failed):
        then Dagster's ``_initdb`` checks or builds it as usual."""
        path = Path(self.path_for_shard(shard))
        if shard == INDEX_SHARD_NAME or path.exists():
            return False
        try:
            template = shard_template(self, Path(self._base_dir))
            part = path.with_name(f".{path.name}.{os.getpid()}.part")
            part.write_bytes(template)
            try:
                os.link(part, path)  # never over a database another process has just created
            finally:
                part.unlink()
        except OSError:
            return False
        return True

    def has_table(self, table_name: str) -> bool:
        """Asked before every dynamic-partition look-up; Dagster's answer builds an engine each time."""
        if table_name not in self._tables:
            engine = self._engines.get(self.conn_string_for_shard(INDEX_SHARD_NAME))
            with engine.connect() as conn:
                if engine.dialect.has_table(conn, table_name):
                    self._tables.add(table_name)
        return table_name in self._tables

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sa.Connection]:
        with self._db_lock:
            engine = self._engines.get(self.conn_string_for_shard(shard))
            if shard not in self._initialized_dbs:
                if not self._new_run_database(shard):
                    self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def store_event(self, event: Any) -> None:
        super().store_event(event)
        event_type = event.dagster_event_type if event.is_dagster_event else None
        if event_type in RUN_ENDS:
            with self._db_lock:
                self._engines.close(self.conn_string_for_shard(event.run_id))
        elif event_type in STEP_ENDS:
            with self._db_lock:
                self._engines.checkpoint(self.conn_string_for_shard(event.run_id))

    def dispose(self) -> None:
        super().dispose()
        self._engines.close_all()


_TEMPLATES: dict[Path, bytes] = {}
_TEMPLATE_LOCK = threading.Lock()


def shard_template(storage: SqliteEventLogStorage, base_dir: Path) -> bytes:
    """The bytes of an empty run database as Dagster's ``_initdb`` makes it (tables, indexes, WAL mode,
    alembic stamp): the one of :func:`storage_templates`, or when that cannot be written, one kept beside the
    run databases as ``.run-template-<dagster version>.sqlite`` (not ``*.db``: Dagster takes every ``*.db``
    there for a run); in memory for the process."""
    try:
        path = storage_templates() / "run.db"
    except (OSError, sa.exc.SQLAlchemyError):
        path = base_dir / f".run-template-{dagster.__version__}.sqlite"
    with _TEMPLATE_LOCK:
        if path not in _TEMPLATES:
            if not path.exists():
                _build_run_template(storage, path)
            _TEMPLATES[path] = path.read_bytes()
        return _TEMPLATES[path]


def _build_run_template(storage: SqliteEventLogStorage, path: Path) -> None:
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    part.unlink(missing_ok=True)
    engine = sa.create_engine(f"sqlite:///{part}", poolclass=sa.pool.NullPool)
    try:
        storage._initdb(engine)
    finally:
        engine.dispose()  # the last connection checkpoints the WAL into the file
    os.replace(part, path)


# A fresh storage folder's databases: (where Dagster keeps it under the base folder, its file name)
FRESH_DATABASES = {"runs": (_runs_directory, "runs.db"), "index": (_event_logs_directory, f"{INDEX_SHARD_NAME}.db"),
                   "schedules": (_schedule_directory, "schedules.db")}  # fmt: skip


def storage_templates() -> Path:
    """A folder of the empty databases Dagster builds in a fresh storage folder (runs, the event log's index,
    schedules) and for a new run (``run.db``), built once per Dagster version and machine by Dagster's own
    storage classes, in the derived-data cache (``AIVLINGUAL_CACHE_DIR``). Building them took ~0.2 s of CPU and
    ~260 synced writes (``fdatasync``) in every fresh home, 0.5-2 s on a busy disk, and the run template ~0.2 s
    more for its first run; a copy takes milliseconds."""
    from ..analysis.disk_cache import cache_dir

    folder = cache_dir() / f"dagster-storage-{dagster.__version__}"
    if not all((folder / f"{name}.db").is_file() for name in (*FRESH_DATABASES, "run")):
        folder.parent.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            storages = [SqliteRunStorage.from_local(_runs_directory(str(build))),
                        SqliteEventLogStorage(_event_logs_directory(str(build))),
                        SqliteScheduleStorage.from_local(_schedule_directory(str(build)))]
            for storage in storages:
                storage.dispose()  # the last connection checkpoints the WAL into the file
            ready = build / "templates"
            ready.mkdir()
            _build_run_template(storages[1], ready / "run.db")
            for name, (directory, file_name) in FRESH_DATABASES.items():
                shutil.copyfile(Path(directory(str(build))) / file_name, ready / f"{name}.db")
            try:
                os.rename(ready, folder)  # whole or absent; another process may have been first
            except OSError:
                if not folder.is_dir():
                    raise
        finally:
            shutil.rmtree(build, ignore_errors=True)
    return folder


def seed_fresh_storage(base_dir: str) -> None:
    """Copies the empty databases of :func:`storage_templates` into a storage folder that has none yet, so
    Dagster finds them at its schema's head and builds nothing; a database that exists is left alone, and any
    failure leaves Dagster to build what is missing as usual."""
    targets = {name: Path(directory(base_dir)) / file_name for name, (directory, file_name) in FRESH_DATABASES.items()}
    if all(path.exists() for path in targets.values()):
        return
    try:
        templates = storage_templates()
        for name, path in targets.items():
            if path.exists():
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            part = path.with_name(f".{path.name}.{os.getpid()}.part")
            shutil.copyfile(templates / f"{name}.db", part)
            try:
                os.link(part, path)  # never over a database another process has just created
            except FileExistsError:
                pass
            finally:
                part.unlink()
    except (OSError, sa.exc.SQLAlchemyError):
        return


class KeptConnectionSqliteStorage(DagsterSqliteStorage):
    """:class:`DagsterSqliteStorage` (runs, event log, schedules under one base folder) whose
    run and event log storages keep their connections (see the module doc); a fresh folder's
    databases are copies of the empty ones Dagster builds (:func:`seed_fresh_storage`)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        seed_fresh_storage(base_dir)
        self.base_dir = base_dir
        self._run_storage = KeptConnectionRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = KeptConnectionEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        DagsterStorage.__init__(self)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Any) -> KeptConnectionSqliteStorage:
        mkdir_p(config_value["base_dir"])
        return cls(config_value["base_dir"], inst_data=inst_data)


def with_kept_connections(ref: Any) -> Any:
    """``ref`` (a Dagster ``InstanceRef``) on :class:`KeptConnectionSqliteStorage` when it uses
    Dagster's default SQLite storage; any other storage (PostgreSQL, custom) is left alone."""
    data = ref.storage_data
    if data is None or (data.module_name, data.class_name) != ("dagster._core.storage.sqlite_storage",
                                                               "DagsterSqliteStorage"):  # fmt: skip
        return ref
    kept = ConfigurableClassData(__name__, KeptConnectionSqliteStorage.__name__, data.config_yaml)
    return ref._replace(storage_data=kept)
