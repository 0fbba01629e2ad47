"""Dagster's PostgreSQL storage on kept, pooled connections (storage/dagster_postgres.py), on a real server.

Connections are counted at the server: ``pg_stat_activity`` (open now, sampled during a run) and
``pg_stat_database.sessions`` (every connection ever opened to the database).
"""

import os
import shutil
import threading
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.instance.ref import InstanceRef

from aivlingual_assets.storage import dagster_postgres as pooled

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_home(tmp_path, postgres_cluster, monkeypatch):
    """DAGSTER_HOME with the shipped deploy/postgres/dagster.yaml on a fresh database; (home, psycopg2 URL)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    url = postgres_cluster.create_database("dagster").replace("postgresql://", "postgresql+psycopg2://")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_URL", url)
    return home, url


def _instance(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


class ServerCounter:
    """Connections to one database, as the server sees them (from a connection of its own)."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.StaticPool)
        self.db = url.rsplit("/", 1)[1]

    def open_now(self) -> int:  # other than the counter's own
        with self.engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d "
                                        "AND pid <> pg_backend_pid()"), {"d": self.db}).scalar_one()  # fmt: skip

    def open_after_closing(self) -> int:
        """Open connections once those just closed have gone (a backend exits a moment after its client)."""
        deadline = time.monotonic() + 5
        while (n := self.open_now()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return n

    def sessions(self) -> int:
        """Connections ever opened to the database; waits until the server's statistics settle."""
        last, stable_since = None, time.monotonic()
        while True:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SET stats_fetch_consistency = none")
                value = conn.execute(sa.text("SELECT sessions FROM pg_stat_database WHERE datname = :d"),
                                     {"d": self.db}).scalar_one()  # fmt: skip
            if value != last:
                last, stable_since = value, time.monotonic()
            elif time.monotonic() - stable_since > 1.5:
                return value
            time.sleep(0.2)

    def sample_max_during(self, fn):
        """Runs ``fn``, sampling the open connections every 20 ms; (fn's result, the most seen at once)."""
        seen, stop = [0], threading.Event()

        def sample() -> None:
            while not stop.is_set():
                seen[0] = max(seen[0], self.open_now())
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            return fn(), seen[0]
        finally:
            stop.set()
            sampler.join()

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture
def server(pg_home):
    counter = ServerCounter(pg_home[1])
    yield counter
    counter.close()


recordings = dg.DynamicPartitionsDefinition(name="recordings")


@dg.asset(partitions_def=recordings)
def transcript(context: dg.AssetExecutionContext) -> str:
    for i in range(20):  # events of its own, as the pipeline's steps log
        context.log.info(f"line {i}")
    return context.partition_key


@dg.asset(partitions_def=recordings, pool="openai")
def expressions(context: dg.AssetExecutionContext, transcript: str) -> int:
    return len(transcript)


@dg.asset_check(asset=expressions)
def expressions_counted() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _materialize(instance: dg.DagsterInstance, key: str) -> dg.ExecuteInProcessResult:
    return dg.materialize([transcript, expressions, expressions_counted], instance=instance, partition_key=key)


def test_the_shipped_profile_names_the_pooled_storage_and_its_storages_share_one_pool(pg_home):
    with _instance(pg_home[0]) as instance:
        assert isinstance(instance.run_storage, pooled.PooledPostgresRunStorage)
        assert isinstance(instance.event_log_storage, pooled.PooledPostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, pooled.PooledPostgresScheduleStorage)
        engines = {id(s._engine) for s in (instance.run_storage, instance.event_log_storage, instance.schedule_storage)}
        assert len(engines) == 1
        pool = instance.run_storage._engine.pool
        assert isinstance(pool, sa.pool.QueuePool) and pool.size() == pooled.POOL_SIZE


def test_the_commands_pool_dagster_postgres_own_storage_config(pg_home):
    """`storage: postgres` (dagster-postgres by its short name) is pooled for aivlingual's commands too."""
    from aivlingual_assets.cli.instance import get_instance

    home, _ = pg_home
    home.joinpath("dagster.yaml").write_text("storage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n")
    assert InstanceRef.from_dir(str(home)).storage_data.module_name == "dagster_postgres"
    with get_instance(extra_pools=("openai",)) as instance:
        assert isinstance(instance.run_storage, pooled.PooledPostgresRunStorage)
        assert instance.event_log_storage.get_concurrency_info("openai").slot_count == 4  # pool limit set


def test_a_run_opens_a_bounded_number_of_connections_where_dagster_postgres_opens_one_per_statement(pg_home, server):
    home, _ = pg_home
    limit = pooled.POOL_SIZE + pooled.MAX_OVERFLOW
    with _instance(home) as instance:
        instance.add_dynamic_partitions("recordings", ["r1", "r2"])
        before = server.sessions()
        result, most_at_once = server.sample_max_during(lambda: _materialize(instance, "r1"))
        assert result.success
        opened = server.sessions() - before
        events = len(instance.get_records_for_run(result.run_id).records)
        assert events > 40
        assert opened <= limit, f"{opened} connections opened for {events} events"
        assert most_at_once <= limit
        assert server.open_now() <= pooled.POOL_SIZE  # kept between runs: the pool's size, no more
    assert server.open_after_closing() == 0  # closed with the instance

    stock = home.parent / "stock_home"
    stock.mkdir()
    stock.joinpath("dagster.yaml").write_text("storage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n")
    with _instance(stock) as instance:  # Dagster's own: a new connection per statement (the baseline)
        before = server.sessions()
        assert _materialize(instance, "r2").success
        assert server.sessions() - before > 5 * limit


def test_it_is_dagsters_storage_runs_events_partitions_and_pools_read_back_by_dagster_postgres(pg_home):
    home, _ = pg_home
    with _instance(home) as instance:
        instance.add_dynamic_partitions("recordings", ["r1", "r2", "r3"])
        instance.delete_dynamic_partition("recordings", "r3")
        instance.event_log_storage.set_concurrency_slots("openai", 1)
        result = _materialize(instance, "r1")
        assert result.success
        run_id = result.run_id
        storage = instance.event_log_storage
        assert storage.claim_concurrency_slot("openai", "other-run", "step").is_claimed
        assert not storage.claim_concurrency_slot("openai", "third-run", "step").is_claimed  # limit 1 holds
        storage.free_concurrency_slots_for_run("other-run")
        storage.free_concurrency_slots_for_run("third-run")

    stock = home.parent / "stock_home"
    stock.mkdir()
    stock.joinpath("dagster.yaml").write_text("storage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n")
    with _instance(stock) as instance:  # dagster-postgres itself reads what the pooled storage wrote
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        run = instance.get_run_by_id(run_id)
        assert run.status == dg.DagsterRunStatus.SUCCESS and run.tags["dagster/partition"] == "r1"
        kinds = [r.event_log_entry.dagster_event_type for r in instance.get_records_for_run(run_id).records]
        assert kinds.count(dg.DagsterEventType.STEP_SUCCESS) == 3  # two assets and the check
        assert kinds[-1] == dg.DagsterEventType.RUN_SUCCESS
        assert instance.get_dynamic_partitions("recordings") == ["r1", "r2"]
        materialized = instance.get_materialized_partitions(dg.AssetKey("expressions"))
        assert materialized == {"r1"}
        info = instance.event_log_storage.get_concurrency_info("openai")
        assert info.slot_count == 1 and info.claimed_slots == []  # the run's slot was freed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_opens_its_own_connections_and_leaves_the_parents_alone(pg_home):
    home, _ = pg_home
    with _instance(home) as instance:
        instance.add_dynamic_partitions("recordings", ["before"])  # the pool holds a connection now
        engine = instance.run_storage._engine
        with engine.connect() as conn:  # the pool's kept connection
            parent_backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        pid = os.fork()
        if pid == 0:  # the child: uses the storage (its own connection), then exits without cleanup
            code = 1
            try:
                with engine.connect() as conn:
                    child_backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
                instance.add_dynamic_partitions("recordings", ["from-child"])
                code = 3 if child_backend == parent_backend else 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # the parent's kept connection was not used nor closed by the child: it still answers
        for _ in range(5):
            assert set(instance.get_dynamic_partitions("recordings")) == {"before", "from-child"}


def test_the_webserver_keeps_dagsters_own_engine_with_a_statement_timeout(pg_home):
    with _instance(pg_home[0]) as instance:
        shared = instance.run_storage._engine
        instance.optimize_for_webserver(statement_timeout=5000, pool_recycle=3600, max_overflow=2)
        assert instance.run_storage._engine is not shared
        with instance.run_storage.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "5s"
        assert instance.get_runs() == []


def test_the_postgres_profiles_code_location_runs_each_runs_steps_in_its_own_process():
    """deploy/postgres/workspace.yaml loads deploy/postgres/definitions.py: the project's jobs, in-process."""
    import yaml
    from dagster._core.code_pointer import load_python_file

    workspace = yaml.safe_load((ROOT / "deploy" / "postgres" / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    folder = ROOT / "deploy" / "postgres"
    assert (folder / entry["python_file"]["working_directory"]).resolve() == ROOT
    module = load_python_file(str(folder / entry["python_file"]["relative_path"]), str(ROOT))
    from dagster._core.workspace.autodiscovery import loadable_targets_from_loaded_module

    from aivlingual_assets.definitions import defs as project_defs

    (target,) = loadable_targets_from_loaded_module(module)  # what the webserver and daemon load: one Definitions
    assert target.attribute == "defs"
    repo = module.defs.get_repository_def()
    assert {j.name for j in repo.get_all_jobs()} >= {"recording_job", "stock_job", "nightly_job"}
    assert repo.get_job("recording_job").executor_def.name == dg.in_process_executor.name
    assert project_defs.get_repository_def().get_job("recording_job").executor_def.name == "multi_or_in_process_executor"


def test_the_event_log_asks_the_catalogue_once_per_table_dagster_asks_about(pg_home):
    """Dagster asks has_table before every dynamic-partition look-up; a table once found is remembered."""
    with _instance(pg_home[0]) as instance:
        engine, statements = instance.event_log_storage._engine, []
        sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        for _ in range(20):
            instance.get_dynamic_partitions("recordings")
        assert sum("pg_catalog" in s or "pg_class" in s for s in statements) <= 1
        statements.clear()
        for _ in range(20):
            assert instance.event_log_storage.has_asset_key_index_cols()
        assert sum("pg_catalog" in s or "pg_class" in s or "pg_attribute" in s for s in statements) <= 3
        assert instance.event_log_storage.has_table("dynamic_partitions")
        assert not instance.event_log_storage.has_table("no_such_table")


def _listener(url: str):
    """A psycopg2 connection LISTENing on dagster-postgres's channel, as a webserver older than its polling
    watcher does; ``drain()`` gives the payloads received so far."""
    import psycopg2
    from dagster_postgres.event_log.event_log import CHANNEL_NAME

    conn = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    conn.autocommit = True
    conn.cursor().execute(f"LISTEN {CHANNEL_NAME}")

    def drain() -> list[str]:
        conn.poll()
        payloads = [n.payload for n in conn.notifies]
        conn.notifies.clear()
        return payloads

    return conn, drain


def test_every_event_reaches_dagsters_watcher_and_a_listener_with_dagster_postgres_payload(pg_home):
    """While a run writes through the pooled storage, the webserver's live run view (Dagster's polling
    watcher, through dagster-postgres's own storage as the webserver has it) and a LISTEN on run_events
    (webservers older than that watcher) both get every event, in order."""
    home, url = pg_home
    listen, drain = _listener(url)
    stock = home.parent / "stock_home"
    stock.mkdir()
    stock.joinpath("dagster.yaml").write_text("storage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n")
    job = dg.Definitions(assets=[transcript, expressions, expressions_counted],
                         jobs=[dg.define_asset_job("watched", partitions_def=recordings)]).resolve_job_def("watched")
    run_id = str(uuid.uuid4())
    seen: list[dg.EventLogEntry] = []
    ended = threading.Event()

    def callback(entry: dg.EventLogEntry, _cursor: str) -> None:
        seen.append(entry)
        if entry.dagster_event_type == dg.DagsterEventType.RUN_SUCCESS:
            ended.set()

    try:
        with _instance(home) as instance, _instance(stock) as ui:
            assert type(ui.event_log_storage).__name__ == "PostgresEventLogStorage"
            instance.add_dynamic_partitions("recordings", ["r1"])
            ui.event_log_storage.watch(run_id, None, callback)
            try:
                assert job.execute_in_process(instance=instance, partition_key="r1", run_id=run_id).success
                assert ended.wait(30), f"the watcher saw {len(seen)} events"
            finally:
                ui.event_log_storage.end_watch(run_id, callback)
            records = instance.get_records_for_run(run_id).records
        kinds = [r.event_log_entry.dagster_event_type for r in records]
        assert len(records) > 40 and dg.DagsterEventType.ASSET_MATERIALIZATION in kinds
        assert [e.dagster_event_type for e in seen] == kinds
        payloads: list[str] = []
        deadline = time.monotonic() + 10
        while len(payloads) < len(records) and time.monotonic() < deadline:
            payloads += drain()
            time.sleep(0.05)
        assert payloads == [f"{run_id}_{r.storage_id}" for r in records]  # one notification each, in order
    finally:
        listen.close()


def test_an_event_is_one_statement_and_an_asset_event_two_without_a_transaction(pg_home):
    """dagster-postgres sends an event and its NOTIFY as two statements, and an asset event's tags and
    asset_keys row in a transaction (SET, BEGIN, ..., COMMIT); the pooled storage, one statement each."""
    with _instance(pg_home[0]) as instance:
        instance.add_dynamic_partitions("recordings", ["r1"])
        engine, statements, in_transaction = instance.event_log_storage._engine, [], []

        def sent(conn, _cursor, statement, *_args) -> None:  # a transaction: psycopg2 out of autocommit mode
            statements.append(statement)
            in_transaction.append(not conn.connection.dbapi_connection.autocommit)

        sa.event.listen(engine, "before_cursor_execute", sent)
        storage = instance.event_log_storage
        storage.store_event(_log_entry(str(uuid.uuid4())))
        assert len(statements) == 1 and "pg_notify" in statements[0] and not any(in_transaction)
        result = _materialize(instance, "r1")
        assert result.success
        records = instance.get_records_for_run(result.run_id).records
        materialized = [r for r in records
                        if r.event_log_entry.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION]  # fmt: skip
        statements.clear()
        in_transaction.clear()
        storage.store_event(materialized[-1].event_log_entry)
        assert len(statements) == 2 and "pg_notify" in statements[0] and not any(in_transaction)
        assert "asset_event_tags" in statements[1] and "asset_keys" in statements[1]  # tags in its WITH clause
    with _instance(pg_home[0]) as instance:  # what the one statement wrote, read back by Dagster
        (asset,) = instance.get_asset_records([dg.AssetKey("expressions")])
        assert asset.asset_entry.last_materialization_record.storage_id > materialized[-1].storage_id  # the new one
        tags = instance.event_log_storage.get_latest_tags_by_partition(
            dg.AssetKey("expressions"), dg.DagsterEventType.ASSET_MATERIALIZATION, ["dagster/data_version"])
        assert "r1" in tags and "dagster/data_version" in tags["r1"]


def _log_entry(run_id: str) -> dg.EventLogEntry:
    return dg.EventLogEntry(error_info=None, level="debug", user_message="working", run_id=run_id,
                            timestamp=time.time(), step_key="step", job_name="job", dagster_event=None)  # fmt: skip


def test_a_partition_found_is_believed_for_a_moment_and_one_deleted_here_is_forgotten_at_once(pg_home, monkeypatch):
    """Dagster asks whether the run's partition exists at each input and output of each step: a yes is
    believed for PARTITION_SEEN_S without a query; a no is always asked."""
    monkeypatch.setattr(pooled, "PARTITION_SEEN_S", 0.5)
    home, _ = pg_home
    stock = home.parent / "stock_home"
    stock.mkdir()
    stock.joinpath("dagster.yaml").write_text("storage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n")
    with _instance(home) as instance, _instance(stock) as other:
        engine, statements = instance.event_log_storage._engine, []
        sa.event.listen(engine, "before_cursor_execute",
                        lambda *args: statements.append(args[2]) if "dynamic_partitions" in args[2] else None)
        assert not instance.has_dynamic_partition("recordings", "r1")
        assert not instance.has_dynamic_partition("recordings", "r1")
        assert len(statements) == 2  # no: asked each time
        instance.add_dynamic_partitions("recordings", ["r1", "r2"])
        statements.clear()
        assert all(instance.has_dynamic_partition("recordings", "r1") for _ in range(20))
        assert len(statements) == 1
        instance.delete_dynamic_partition("recordings", "r1")  # through this storage: forgotten at once
        assert not instance.has_dynamic_partition("recordings", "r1")
        assert instance.has_dynamic_partition("recordings", "r2")
        other.delete_dynamic_partition("recordings", "r2")  # another process: believed for the moment only
        assert instance.has_dynamic_partition("recordings", "r2")
        time.sleep(0.6)
        assert not instance.has_dynamic_partition("recordings", "r2")


def _stock_home(home: Path) -> Path:
    """A DAGSTER_HOME beside ``home`` on dagster-postgres's own storage, the same database (another process)."""
    stock = home.parent / "stock_home"
    stock.mkdir(exist_ok=True)
    stock.joinpath("dagster.yaml").write_text("storage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n")
    return stock


def test_a_wipe_time_read_is_believed_for_a_moment_and_a_wipe_here_is_seen_at_once(pg_home, monkeypatch):
    """Dagster reads an asset's wipe time before each read of its events: an answer is believed for
    WIPE_SEEN_S; a wipe by another process is seen after that, one through this storage at once."""
    monkeypatch.setattr(pooled, "WIPE_SEEN_S", 2.0)
    home, _ = pg_home
    key = dg.AssetKey("expressions")
    with _instance(home) as instance, _instance(_stock_home(home)) as other:
        engine, reads = instance.event_log_storage._engine, []
        sa.event.listen(engine, "before_cursor_execute",
                        lambda *args: reads.append(args[2]) if "asset_keys.asset_details \nFROM" in args[2] else None)
        instance.add_dynamic_partitions("recordings", ["r1"])
        assert _materialize(instance, "r1").success
        assert reads == []  # the run's asset_keys writes returned the wipe times its reads needed
        time.sleep(2.1)
        assert all(len(instance.fetch_materializations(key, limit=1).records) == 1 for _ in range(20))
        assert len(reads) == 1  # read once, then believed
        other.wipe_assets([key])  # another process: seen once the answer is WIPE_SEEN_S old
        assert len(instance.fetch_materializations(key, limit=1).records) == 1
        assert other.fetch_materializations(key, limit=1).records == []
        time.sleep(2.1)
        assert instance.fetch_materializations(key, limit=1).records == []
        assert _materialize(instance, "r1").success
        assert len(instance.fetch_materializations(key, limit=1).records) == 1
        instance.wipe_assets([key])  # through this storage: seen at once
        assert instance.fetch_materializations(key, limit=1).records == []
        assert _materialize(instance, "r1").success
        instance.wipe()  # everything, through this storage: seen at once
        assert instance.fetch_materializations(key, limit=1).records == []


@pytest.fixture
def ours_and_stock(postgres_cluster):
    """The pooled event log storage and dagster-postgres's own, each on a fresh database of its own."""
    from dagster_postgres.event_log import PostgresEventLogStorage

    def url() -> str:
        return postgres_cluster.create_database("dagster").replace("postgresql://", "postgresql+psycopg2://")

    ours, stock = pooled.PooledPostgresEventLogStorage(url()), PostgresEventLogStorage(url())
    yield ours, stock
    ours.dispose()
    stock.dispose()


def _event(event_type, data, run_id: str = "run-1") -> dg.EventLogEntry:
    """An event log entry of a step's Dagster event (``event_type``: a DagsterEventType)."""
    from dagster._core.events import DagsterEvent

    return dg.EventLogEntry(error_info=None, level="debug", user_message="", run_id=run_id, timestamp=time.time(),
                            step_key="step", job_name="job",
                            dagster_event=DagsterEvent(event_type.value, "job", event_specific_data=data))  # fmt: skip


def _pools_state(storage) -> tuple[list, list]:
    """The pools' rows as Dagster keeps them: queued steps (assigned or not) and slots (held by whom)."""
    with storage.index_connection() as conn:
        pending = conn.exec_driver_sql("SELECT concurrency_key, run_id, step_key, priority, assigned_timestamp IS NOT NULL "
                                       "FROM pending_steps").fetchall()  # fmt: skip
        slots = conn.exec_driver_sql("SELECT concurrency_key, run_id, step_key, deleted FROM concurrency_slots").fetchall()
    return sorted(map(tuple, pending), key=repr), sorted(map(tuple, slots), key=repr)


def test_a_slot_is_claimed_and_freed_in_one_statement_each_with_dagsters_rows_and_answers(ours_and_stock):
    """claim_concurrency_slot and free_concurrency_slot_for_step (8 and 6-7 statements in Dagster) are one
    statement each; the same sequence of claims and frees on dagster-postgres's own storage (another
    database) gives the same answers and leaves the same rows after every step."""
    from dagster._utils.concurrency import ConcurrencySlotStatus

    ours, stock = ours_and_stock
    statements: list[str] = []
    seen: set[tuple] = set()
    sa.event.listen(ours._engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    steps = [("limit", "openai", 2), ("claim", "openai", "r1", "a", 0), ("claim", "openai", "r1", "b", None),
             ("claim", "openai", "r2", "c", 0), ("claim", "openai", "r2", "d", 5), ("claim", "openai", "r2", "e", 5),
             ("claim", "openai", "r1", "a", 0), ("claim", "openai", "r2", "c", 0), ("free", "r1", "a"),
             ("claim", "openai", "r2", "c", 0), ("claim", "openai", "r2", "d", 5), ("claim", "gemini", "r3", "x", 0),
             ("limit", "openai", 1), ("free", "r1", "b"), ("claim", "openai", "r2", "e", 5), ("free", "r2", "d"),
             ("claim", "openai", "r2", "e", 5), ("free", "r2", "c"), ("free", "r9", "never"), ("free", "r2", "e"),
             ("claim", "openai", "r2", "c", 0), ("free", "r3", "x"), ("free", "r2", "c")]  # fmt: skip
    for step in steps:
        answers = []
        for storage in (ours, stock):
            statements.clear()
            if step[0] == "limit":
                storage.set_concurrency_slots(step[1], step[2])
            elif step[0] == "claim":
                status = storage.claim_concurrency_slot(*step[1:])
                answers.append((status.slot_status, status.priority, status.is_assigned,
                                status.enqueued_timestamp is not None))  # fmt: skip
                if storage is ours:
                    assert len(statements) == 1, statements
            else:
                storage.free_concurrency_slot_for_step(*step[1:])
                if storage is ours:
                    assert len(statements) == 1, statements
        assert len(set(answers)) <= 1, (step, answers)
        seen.update(answers[:1])
        assert _pools_state(ours) == _pools_state(stock), step
    assert _pools_state(ours)[0] == []  # every queued step left the queue once freed
    claimed, blocked = ConcurrencySlotStatus.CLAIMED, ConcurrencySlotStatus.BLOCKED
    assert {(s, a) for s, _, a, _ in seen} == {(claimed, True), (blocked, False), (blocked, True)}


def _asset_rows(storage) -> tuple[list, list]:
    """An event log's asset index: asset_keys rows and asset_event_tags rows (by the event's place in the run)."""
    with storage.index_connection() as conn:
        keys = conn.exec_driver_sql("SELECT asset_key, last_run_id, last_materialization_timestamp, asset_details, "
                                    "wipe_timestamp FROM asset_keys ORDER BY asset_key").fetchall()  # fmt: skip
        tags = conn.exec_driver_sql("SELECT e.dagster_event_type, t.asset_key, t.key, t.value, t.event_timestamp "
                                    "FROM asset_event_tags t JOIN event_logs e ON e.id = t.event_id "
                                    "ORDER BY t.event_id, t.key").fetchall()  # fmt: skip
    return list(map(tuple, keys)), list(map(tuple, tags))


def _writes_each(ours, stock, events) -> list[int]:
    """Stores ``events`` in both storages; the statements each sent by ours, but for the catalogue's first
    look-ups (reads)."""
    statements: list[str] = []
    sa.event.listen(ours._engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    sent = []
    for event in events:
        statements.clear()
        ours.store_event(event)
        stock.store_event(event)
        sent.append(sum(not s.startswith("SELECT") for s in statements))
    return sent


def test_a_planned_or_observed_asset_event_is_one_statement_with_its_asset_row_and_tags(ours_and_stock):
    """An asset event other than a materialization (planned, observed) needs no event id in its asset_keys
    row, so the event, its notification, its asset_keys row and its tags are one statement; the same
    events on dagster-postgres's own storage (another database) leave the same index rows."""
    from dagster._core.events import AssetMaterializationPlannedData, AssetObservationData, StepMaterializationData
    from dagster._core.events import DagsterEventType as T

    ours, stock = ours_and_stock
    key = dg.AssetKey("transcripts")
    events = [_event(T.ASSET_MATERIALIZATION_PLANNED, AssetMaterializationPlannedData(key, partition="r1")),
              _event(T.ASSET_OBSERVATION, AssetObservationData(dg.AssetObservation(
                  key, partition="r1", tags={"dagster/data_version": "v1", "other": "not-indexed"}))),
              _event(T.ASSET_MATERIALIZATION, StepMaterializationData(dg.AssetMaterialization(
                  key, partition="r1", tags={"dagster/data_version": "v2"}))),
              _event(T.ASSET_OBSERVATION, AssetObservationData(dg.AssetObservation(key)))]  # fmt: skip
    # a materialization's row holds its event id: written in a second statement
    assert _writes_each(ours, stock, events) == [1, 1, 2, 1]
    assert _asset_rows(ours) == _asset_rows(stock)
    keys, tags = _asset_rows(ours)
    assert len(keys) == 1 and [t[3] for t in tags] == ["v1", "v2"]
    assert [r.storage_id for r in ours.get_records_for_run("run-1").records] == [
        r.storage_id for r in stock.get_records_for_run("run-1").records]  # same ids, one event each
    (record,) = ours.get_asset_records([key])
    assert record.asset_entry.last_run_id == "run-1"
    assert record.asset_entry.last_materialization_record.event_log_entry.dagster_event_type == "ASSET_MATERIALIZATION"


def _check_rows(storage) -> list[tuple]:
    with storage.index_connection() as conn:
        return list(map(tuple, conn.exec_driver_sql(
            "SELECT asset_key, check_name, partition, run_id, execution_status, evaluation_event, "
            "evaluation_event_timestamp, evaluation_event_storage_id, materialization_event_storage_id "
            "FROM asset_check_executions ORDER BY id").fetchall()))  # fmt: skip


def test_an_asset_check_event_is_one_statement_with_its_check_row(ours_and_stock):
    """A planned check's row and a run's evaluation updating it are written by the event's own statement;
    an evaluation without a planned row (Dagster inserts one) and duplicate planned rows (Dagster's error)
    are Dagster's own; the rows are dagster-postgres's."""
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluation, AssetCheckEvaluationPlanned, AssetCheckEvaluationTargetMaterializationData)  # fmt: skip
    from dagster._core.errors import DagsterInvariantViolationError
    from dagster._core.events import DagsterEventType as T

    ours, stock = ours_and_stock
    key = dg.AssetKey("expressions")
    target = AssetCheckEvaluationTargetMaterializationData(storage_id=7, run_id="run-1", timestamp=time.time())
    events = [_event(T.ASSET_CHECK_EVALUATION_PLANNED, AssetCheckEvaluationPlanned(asset_key=key, check_name="counted")),
              _event(T.ASSET_CHECK_EVALUATION, AssetCheckEvaluation(key, "counted", True, {"n": 3}, target)),
              _event(T.ASSET_CHECK_EVALUATION, AssetCheckEvaluation(key, "unplanned", False), run_id="run-2"),
              _event(T.ASSET_CHECK_EVALUATION, AssetCheckEvaluation(key, "runless", True), run_id="")]  # fmt: skip
    sent = _writes_each(ours, stock, events)
    assert sent[:2] == [1, 1] and sent[2] >= 2  # unplanned: the update found no row, then Dagster's own
    assert _check_rows(ours) == _check_rows(stock)
    statuses = [row[4] for row in _check_rows(ours)]
    assert statuses == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    planned = _event(T.ASSET_CHECK_EVALUATION_PLANNED, AssetCheckEvaluationPlanned(asset_key=key, check_name="twice"), run_id="run-3")
    evaluated = _event(T.ASSET_CHECK_EVALUATION, AssetCheckEvaluation(key, "twice", True), run_id="run-3")
    for storage in (ours, stock):
        storage.store_event(planned)
        storage.store_event(planned)
        with pytest.raises(DagsterInvariantViolationError, match="duplicate AssetCheckPlanned"):
            storage.store_event(evaluated)
    assert _check_rows(ours) == _check_rows(stock)


def test_asset_records_read_the_event_log_only_for_rows_without_their_latest_materialization(pg_home):
    """Dagster reads the event log for the asset rows that do not hold their latest materialization, and
    sent that query (for no asset) even when all do; the records are Dagster's either way."""
    home, _ = pg_home
    keys = [dg.AssetKey("transcript"), dg.AssetKey("expressions")]
    with _instance(home) as instance, _instance(_stock_home(home)) as other:
        engine, statements = instance.event_log_storage._engine, []
        instance.add_dynamic_partitions("recordings", ["r1"])
        assert _materialize(instance, "r1").success
        sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        records = instance.get_asset_records(keys)
        assert len(statements) == 1 and "FROM asset_keys" in statements[0]
        assert records == other.get_asset_records(keys)
        instance.wipe_assets(keys[1:])  # the wiped row no longer holds it: Dagster's fallback reads the event log
        instance.report_runless_asset_event(dg.AssetObservation(keys[1]))  # the row visible again, not materialized
        statements.clear()
        records = instance.get_asset_records(keys)
        assert len(statements) == 2 and "event_logs" in statements[1]
        assert records == other.get_asset_records(keys)
        wiped = {r.asset_entry.asset_key: r.asset_entry.last_materialization_record for r in records}
        assert wiped[keys[1]] is None and wiped[keys[0]] is not None


def test_a_runs_statements_at_the_server_stay_below_a_bound(pg_home):
    """A run of two partitioned assets (one in a pool) and a check, after a first one: every statement the
    process sends, counted on the pooled engine (events, index rows, slots, reads)."""
    with _instance(pg_home[0]) as instance:
        instance.add_dynamic_partitions("recordings", ["r1", "r2"])
        assert _materialize(instance, "r1").success  # the first: catalogue look-ups, tables' first rows
        engine, statements = instance.event_log_storage._engine, []
        sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        result = _materialize(instance, "r2")
        assert result.success
        events = len(instance.get_records_for_run(result.run_id).records)
        assert sum("pending_steps" in s for s in statements) == 2  # the pool's slot: one claim, one free
        assert sum("asset_keys.asset_details \nFROM" in s for s in statements) <= 1
        # 76 for 50 events (96 before the wipe-time cache, the one-statement slots, check rows and asset rows)
        assert len(statements) <= events + 30, "\n".join(s.split("\n")[0] for s in statements)
