"""The commands' Dagster instance keeps its SQLite connections (storage/dagster_sqlite.py): a run's
events cost one transaction each instead of a connection each, while every other process (the UI,
the daemon, Dagster's own storage classes) reads the same files as before, and a UI following a
run sees it step by step."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType, StepSuccessData
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from aivlingual_assets import cli
from aivlingual_assets.storage.dagster_sqlite import KeptConnectionEventLogStorage, with_kept_connections


def log_entry(run_id: str, message: str = "working") -> EventLogEntry:
    return EventLogEntry(error_info=None, level="debug", user_message=message, run_id=run_id,
                         timestamp=time.time(), step_key="step", job_name="job", dagster_event=None)  # fmt: skip


def step_success(run_id: str) -> EventLogEntry:
    event = DagsterEvent(DagsterEventType.STEP_SUCCESS.value, "job", step_key="step",
                         event_specific_data=StepSuccessData(duration_ms=1.0))  # fmt: skip
    return EventLogEntry(error_info=None, level="debug", user_message="", run_id=run_id, timestamp=time.time(),
                         step_key="step", job_name="job", dagster_event=event)  # fmt: skip


@pytest.fixture
def connections(monkeypatch):
    """Counts SQLite connections opened."""
    opened = []
    real = sqlite3.dbapi2.connect  # what SQLAlchemy's pysqlite dialect calls

    def connect(*args, **kwargs):
        opened.append(args[0] if args else kwargs.get("database"))
        return real(*args, **kwargs)

    monkeypatch.setattr(sqlite3.dbapi2, "connect", connect)
    return opened


@pytest.mark.parametrize("storage_class", [KeptConnectionEventLogStorage, SqliteEventLogStorage])
def test_storing_a_runs_events_opens_a_connection_once_not_per_event(tmp_path, connections, storage_class):
    storage = storage_class(str(tmp_path / "runs"))
    run_id = str(uuid.uuid4())
    storage.store_event(log_entry(run_id))  # creates the run's database
    connections.clear()
    for i in range(40):
        storage.store_event(log_entry(run_id, f"line {i}"))
    opened = sum(1 for path in connections if run_id in str(path))
    if storage_class is SqliteEventLogStorage:
        assert opened >= 40  # Dagster's own: one connection per event
    else:
        assert opened <= 2
    assert len(storage.get_records_for_run(run_id).records) == 41
    storage.dispose()


def test_a_watcher_of_the_run_file_like_the_ui_sees_the_events_when_a_step_ends(tmp_path):
    kept = KeptConnectionEventLogStorage(str(tmp_path / "runs"))
    run_id = str(uuid.uuid4())
    kept.store_event(log_entry(run_id, "started"))
    ui = SqliteEventLogStorage(str(tmp_path / "runs"))  # Dagster's own class, as `dagster dev` has it
    seen: list[str] = []
    step_ended = threading.Event()

    def callback(entry, _cursor):
        seen.append(entry.user_message)
        if entry.is_dagster_event and entry.dagster_event_type == DagsterEventType.STEP_SUCCESS:
            step_ended.set()

    ui.watch(run_id, None, callback)
    try:
        kept.store_event(log_entry(run_id, "half-way"))
        kept.store_event(step_success(run_id))
        assert step_ended.wait(20), f"the UI's watcher saw {seen}"
        assert "half-way" in seen
    finally:
        ui.end_watch(run_id, callback)
        ui.dispose()
        kept.dispose()


def test_only_dagsters_default_sqlite_storage_is_replaced(tmp_path):
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    ref = with_kept_connections(InstanceRef.from_dir(str(tmp_path)))
    assert ref.storage_data.class_name == "KeptConnectionSqliteStorage"
    postgres = tmp_path / "pg"
    postgres.mkdir()
    (postgres / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_url: postgresql://u:p@localhost:1/d\n", encoding="utf-8")
    ref = InstanceRef.from_dir(str(postgres))
    assert with_kept_connections(ref) is ref


def test_a_cli_run_is_read_back_by_dagsters_own_storage_with_its_run_file_closed(tmp_path, monkeypatch, capsys):
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    (tmp_path / "s.ja.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nこんにちは、今日も配信です\n\n",
                                       encoding="utf-8")
    assert cli.main(["process", str(tmp_path / "s.ja.srt"), "--skip-stock"]) == 0
    assert "Summary: 1 recording(s) processed, 0 failed" in capsys.readouterr().out
    with dg.DagsterInstance.get() as instance:  # the UI's instance: Dagster's stock SQLite storage
        (run,) = instance.get_runs(filters=dg.RunsFilter(job_name="recording_job"))
        assert run.status == dg.DagsterRunStatus.SUCCESS
        materialised = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
        assert {r.event_log_entry.dagster_event.asset_key.path[0] for r in materialised.records} >= {
            "recordings", "transcripts", "expressions", "difficulty"}
    assert not (home / "history" / "runs" / f"{run.run_id}.db-wal").exists()  # closed, so checkpointed, at run end


def test_dynamic_partition_look_ups_open_no_connection_each(tmp_path, connections):
    """Dagster asks whether the index has its partitions table before every look-up (~135 a recording)."""
    storage = KeptConnectionEventLogStorage(str(tmp_path / "runs"))
    storage.add_dynamic_partitions("recordings", ["file-a"])
    connections.clear()
    for _ in range(20):
        assert storage.has_dynamic_partition("recordings", "file-a")
    assert not storage.has_dynamic_partition("recordings", "file-b")
    assert len(connections) <= 2
    storage.dispose()


def test_a_new_run_database_is_a_copy_of_the_empty_one_dagster_builds(tmp_path, monkeypatch):
    """Dagster's _initdb (tables, indexes, alembic stamp and a read of its migration scripts) ran for every run;
    a new run's database is now a copy of the one it builds once per machine, the same schema and revision."""
    monkeypatch.setenv("AIVLINGUAL_CACHE_DIR", str(tmp_path / "cache"))
    kept = KeptConnectionEventLogStorage(str(tmp_path / "kept"))
    stock = SqliteEventLogStorage(str(tmp_path / "stock"))
    built = []
    real_initdb = SqliteEventLogStorage._initdb
    monkeypatch.setattr(SqliteEventLogStorage, "_initdb",
                        lambda self, engine, **kw: built.append(engine.url) or real_initdb(self, engine, **kw))
    runs = [str(uuid.uuid4()) for _ in range(3)]
    for run_id in runs:
        kept.store_event(log_entry(run_id))
    # built once, by Dagster, in the machine's cache: the templates, of which the run's last
    assert built and all(tmp_path / "cache" in Path(str(url).removeprefix("sqlite:///")).parents for url in built)
    assert str(built[-1]).endswith(f"run.db.{os.getpid()}.part")
    templates = len(built)
    again = KeptConnectionEventLogStorage(str(tmp_path / "again"))  # a second home on the machine
    again.store_event(log_entry(runs[0]))
    assert built[templates:] and all(str(url).endswith("again/index.db") for url in built[templates:])  # a copy
    again.dispose()
    stock.store_event(log_entry(runs[0]))

    def schema(path):
        with sqlite3.connect(path) as conn:
            return (conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall(),
                    conn.execute("SELECT version_num FROM alembic_version").fetchall(),
                    conn.execute("PRAGMA journal_mode").fetchall())

    assert schema(kept.path_for_shard(runs[1])) == schema(stock.path_for_shard(runs[0]))
    assert set(kept.get_all_run_ids()) == set(runs)  # the template is no run
    reader = SqliteEventLogStorage(str(tmp_path / "kept"))  # another process, e.g. the UI
    assert [r.event_log_entry.user_message for r in reader.get_records_for_run(runs[2]).records] == ["working"]
    for storage in (kept, stock, reader):
        storage.dispose()


def test_a_fresh_home_starts_from_copies_of_the_empty_databases_dagster_builds(tmp_path, monkeypatch):
    """Runs, the event log's index and schedules of a fresh home: copies of what Dagster builds (once per machine,
    in the cache), found at its schema's head, so Dagster builds nothing; the same schema as Dagster's own."""
    import sqlalchemy as sa
    from dagster._core.storage.sqlite_storage import DagsterSqliteStorage

    from aivlingual_assets.storage.dagster_sqlite import FRESH_DATABASES, KeptConnectionSqliteStorage

    monkeypatch.setenv("AIVLINGUAL_CACHE_DIR", str(tmp_path / "cache"))
    KeptConnectionSqliteStorage(str(tmp_path / "first")).dispose()  # builds the templates
    created = []
    real_create_all = sa.MetaData.create_all
    monkeypatch.setattr(sa.MetaData, "create_all", lambda self, *a, **kw: created.append(self) or
                        real_create_all(self, *a, **kw))
    kept = KeptConnectionSqliteStorage(str(tmp_path / "home"))
    assert created == []  # nothing built: every table was there
    monkeypatch.setattr(sa.MetaData, "create_all", real_create_all)
    stock = DagsterSqliteStorage.from_local(str(tmp_path / "stock"))

    def schema(path):
        with sqlite3.connect(path) as conn:
            return (conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall(),
                    conn.execute("SELECT version_num FROM alembic_version").fetchall(),
                    conn.execute("PRAGMA journal_mode").fetchall())

    for directory, file_name in FRESH_DATABASES.values():
        assert schema(Path(directory(str(tmp_path / "home"))) / file_name) == schema(
            Path(directory(str(tmp_path / "stock"))) / file_name)
    run_id = str(uuid.uuid4())
    kept.event_log_storage.store_event(log_entry(run_id))
    kept.event_log_storage.add_dynamic_partitions("recordings", ["file-a"])
    reader = DagsterSqliteStorage.from_local(str(tmp_path / "home"))  # another process, e.g. the UI
    assert reader.event_log_storage.get_dynamic_partitions("recordings") == ["file-a"]
    assert [r.event_log_entry.user_message for r in reader.event_log_storage.get_records_for_run(run_id).records] == [
        "working"]
    for storage in (kept, stock, reader):
        storage.dispose()
