"""The local record of which Notion page holds which expression.

The sync writes one row per (data source, expression key) *immediately* after
a page is created, so a crash half-way followed by a rerun never creates the
page twice; the stored content hash lets unchanged expressions be skipped
without calling Notion at all.  SQLAlchemy Core on any engine (SQLite for a
laptop, PostgreSQL in production); the table is created on first use.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import NamedTuple

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ..storage.schema import create_tables

__all__ = ["SyncRecord", "SyncStore", "metadata", "notion_sync"]

metadata = MetaData()

notion_sync = Table(
    "notion_sync",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("data_source_id", String(64), nullable=False),
    Column("key", String(512), nullable=False),
    Column("page_id", String(64), nullable=False),
    Column("content_hash", String(128), nullable=False),
    Column("synced_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("data_source_id", "key", name="uq_notion_sync_source_key"),
)


class SyncRecord(NamedTuple):
    """What we last wrote to Notion for one expression."""

    key: str
    page_id: str
    content_hash: str
    synced_at: datetime


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


class SyncStore:
    """Key → Notion page id (+ content hash) per data source, on the engine given."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.table = notion_sync
        self._ready = False
        self._lock = threading.Lock()

    def ensure_table(self) -> None:
        """Create the table if it does not exist yet (safe if another process races us)."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            create_tables(self.engine, metadata, [self.table])  # serialised across processes
            self._ready = True

    def load(self, data_source_id: str) -> dict[str, SyncRecord]:
        """Every record of one data source, by key (one query at the start of a sync)."""
        self.ensure_table()
        t = self.table
        query = select(t.c.key, t.c.page_id, t.c.content_hash, t.c.synced_at).where(
            t.c.data_source_id == data_source_id
        )
        with self.engine.connect() as conn:
            return {
                row.key: SyncRecord(row.key, row.page_id, row.content_hash, _utc(row.synced_at))
                for row in conn.execute(query)
            }

    def get(self, data_source_id: str, key: str) -> SyncRecord | None:
        self.ensure_table()
        t = self.table
        query = select(t.c.key, t.c.page_id, t.c.content_hash, t.c.synced_at).where(
            t.c.data_source_id == data_source_id, t.c.key == key
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else SyncRecord(row.key, row.page_id, row.content_hash, _utc(row.synced_at))

    def record(
        self,
        data_source_id: str,
        key: str,
        page_id: str,
        content_hash: str,
        *,
        synced_at: datetime | None = None,
    ) -> None:
        """Upsert one record and commit at once (durable before the next API call)."""
        self.ensure_table()
        values = {
            "page_id": page_id,
            "content_hash": content_hash,
            "synced_at": _utc(synced_at) if synced_at else datetime.now(timezone.utc),
        }
        with self.engine.begin() as conn:
            self._upsert(conn, data_source_id, key, values)

    def _upsert(self, conn: Connection, data_source_id: str, key: str, values: dict) -> None:
        t = self.table
        dialect = conn.dialect.name
        if dialect in ("sqlite", "postgresql"):
            if dialect == "sqlite":
                from sqlalchemy.dialects.sqlite import insert
            else:
                from sqlalchemy.dialects.postgresql import insert
            stmt = insert(t).values(data_source_id=data_source_id, key=key, **values)
            conn.execute(
                stmt.on_conflict_do_update(index_elements=[t.c.data_source_id, t.c.key], set_=values)
            )
            return
        # portable fallback: update, else insert (a concurrent insert makes us update again)
        where = (t.c.data_source_id == data_source_id) & (t.c.key == key)
        if conn.execute(update(t).where(where).values(**values)).rowcount:
            return
        try:
            with conn.begin_nested():
                conn.execute(t.insert().values(data_source_id=data_source_id, key=key, **values))
        except IntegrityError:
            conn.execute(update(t).where(where).values(**values))

    def forget(self, data_source_id: str, key: str) -> bool:
        """Drop a record (its page was deleted in Notion); True if there was one."""
        self.ensure_table()
        t = self.table
        with self.engine.begin() as conn:
            result = conn.execute(delete(t).where(t.c.data_source_id == data_source_id, t.c.key == key))
        return bool(result.rowcount)

    def clear(self, data_source_id: str) -> int:
        """Drop every record of a data source (e.g. after pointing at a new database)."""
        self.ensure_table()
        t = self.table
        with self.engine.begin() as conn:
            return int(conn.execute(delete(t).where(t.c.data_source_id == data_source_id)).rowcount or 0)

    def count(self, data_source_id: str | None = None) -> int:
        self.ensure_table()
        t = self.table
        query = select(func.count()).select_from(t)
        if data_source_id is not None:
            query = query.where(t.c.data_source_id == data_source_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
