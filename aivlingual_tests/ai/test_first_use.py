"""Two commands started together on a fresh home: every table and the Dagster pool limits are created
once, with no "table already exists" or "UNIQUE constraint failed" in either (real processes)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable

import dagster as dg
import pytest
import sqlalchemy as sa

# imported here, before the workers fork, so they start with everything loaded
from aivlingual_assets.ai.ledger import Ledger, make_engine
from aivlingual_assets.cli.instance import POOL_LIMITS, get_instance
from aivlingual_assets.learning.review import _ensure_review_log
from aivlingual_assets.publishing.sync_store import SyncStore
from aivlingual_assets.storage.recording_registry import RecordingRegistry

WORKERS = 4
ROUNDS = 3


def _sync_store(url: str):
    return SyncStore(make_engine(url)).ensure_table


def _review_log(url: str):
    ledger = Ledger(url)  # the review log lives in the ledger's database
    return lambda: _ensure_review_log(ledger)


FIRST_USES: dict[str, Callable[[str], Callable[[], object]]] = {
    "ledger": lambda url: lambda: Ledger(url),
    "registry": lambda url: lambda: RecordingRegistry(url),
    "notion sync store": _sync_store,
    "review log": _review_log,
}


def _worker(prepare, url, barrier, results) -> None:
    try:
        create = prepare(url)  # everything up to the table creation itself
        barrier.wait(60)  # then all at the same moment
        create()
        results.put("ok")
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        results.put(f"{type(exc).__name__}: {exc}")


def _all_at_once(target, args_for: Callable[[object, object], tuple]) -> list[str]:
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(WORKERS), ctx.Queue()
    processes = [ctx.Process(target=target, args=args_for(barrier, results)) for _ in range(WORKERS)]
    for p in processes:
        p.start()
    outcomes = [results.get(timeout=180) for _ in processes]
    for p in processes:
        p.join(timeout=60)
    return outcomes


def _fresh_urls(request, tmp_path, backend: str) -> list[str]:
    if backend == "sqlite":
        return [f"sqlite:///{tmp_path / f'round{i}' / 'ledger.sqlite3'}" for i in range(ROUNDS)]
    cluster = request.getfixturevalue("postgres_cluster")
    return [cluster.create_database() for _ in range(ROUNDS)]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("what", list(FIRST_USES))
def test_tables_are_created_once_when_processes_start_together(request, tmp_path, backend, what):
    for url in _fresh_urls(request, tmp_path, backend):
        if backend == "sqlite":
            os.makedirs(os.path.dirname(url.removeprefix("sqlite:///")))
        outcomes = _all_at_once(_worker, lambda barrier, results: (FIRST_USES[what], url, barrier, results))
        assert outcomes == ["ok"] * WORKERS, outcomes
        names = set(sa.inspect(sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))).get_table_names())
        expected = {"ledger": "aiv_ai_memory", "registry": "aiv_recordings", "notion sync store": "notion_sync",
                    "review log": "aiv_review_log"}[what]
        assert expected in names


def _open_instance(dagster_home, barrier, results) -> None:
    try:
        os.environ["DAGSTER_HOME"] = dagster_home
        barrier.wait(60)
        get_instance().dispose()
        results.put("ok")
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        results.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.slow
def test_the_dagster_instance_and_its_pool_limits_are_set_up_once(tmp_path, monkeypatch):
    for name in ("OPENAI_API_KEY", "GEMINI_API_KEY", "NOTION_TOKEN"):  # every pool's provider configured
        monkeypatch.setenv(name, "configured")
    for i in range(ROUNDS):
        home = str(tmp_path / f"dagster{i}")
        outcomes = _all_at_once(_open_instance, lambda barrier, results: (home, barrier, results))
        assert outcomes == ["ok"] * WORKERS, outcomes
    monkeypatch.setenv("DAGSTER_HOME", home)
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert {k: storage.get_concurrency_info(k).slot_count for k in POOL_LIMITS} == POOL_LIMITS
