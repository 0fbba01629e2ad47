"""SyncStore on file-backed SQLite and on a real PostgreSQL (the shared ``database_url`` fixture)."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, inspect, insert
from sqlalchemy.exc import IntegrityError

from aivlingual_assets.publishing.sync_store import SyncStore


@pytest.fixture
def engine(database_url):
    # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; the project ships psycopg2
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg2://" + database_url[len("postgresql://") :]
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def test_table_is_created_on_first_use(engine):
    store = SyncStore(engine)
    assert not inspect(engine).has_table("notion_sync")
    assert store.load("ds") == {}
    assert inspect(engine).has_table("notion_sync")
    uniques = inspect(engine).get_unique_constraints("notion_sync")
    assert any(set(u["column_names"]) == {"data_source_id", "key"} for u in uniques)


def test_concurrent_records_from_threads_upsert_cleanly(engine):
    store = SyncStore(engine)
    errors = []

    def worker(n: int) -> None:
        try:
            for i in range(10):
                store.record("ds", f"k{i}", f"page-{n}", f"h{n}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count("ds") == 10


def test_record_upserts_and_survives_a_new_store_instance(engine):
    store = SyncStore(engine)
    when = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
    store.record("ds", "k1", "page-1", "h1", synced_at=when)
    store.record("ds", "k1", "page-1", "h2")
    store.record("ds", "k2", "page-2", "h3")
    store.record("other", "k1", "page-9", "h9")

    reopened = SyncStore(engine)
    records = reopened.load("ds")
    assert set(records) == {"k1", "k2"}
    assert records["k1"].content_hash == "h2" and records["k1"].page_id == "page-1"
    assert records["k1"].synced_at.tzinfo is not None and records["k1"].synced_at > when
    assert reopened.get("other", "k1").page_id == "page-9"
    assert reopened.get("ds", "missing") is None
    assert reopened.count() == 3 and reopened.count("ds") == 2


def test_unique_per_data_source_and_key(engine):
    store = SyncStore(engine)
    store.record("ds", "k1", "p", "h")
    now = datetime.now(timezone.utc)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            insert(store.table).values(data_source_id="ds", key="k1", page_id="q", content_hash="h", synced_at=now)
        )


def test_forget_and_clear(engine):
    store = SyncStore(engine)
    for i in range(3):
        store.record("ds", f"k{i}", f"p{i}", "h")
    assert store.forget("ds", "k0") is True
    assert store.forget("ds", "k0") is False
    assert store.clear("ds") == 2
    assert store.load("ds") == {}
