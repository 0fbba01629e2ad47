"""The cache hit's one read: a prepared SELECT by key on a driver connection of its own (and a miss's claim).

A hit is the AI core's hottest path. It skips SQLAlchemy's Python layer and the pool: each
process holds one DB-API connection per database (taken from the ledger's engine once, so it
has the engine's pragmas and connect arguments), in autocommit, and runs one statement per
lookup whose SQL text is built once per number of keys (sqlite3 keeps the compiled statement
in its statement cache). There is no pre-ping: a PostgreSQL connection that broke is replaced
and the lookup retried once.

A read in autocommit is its own snapshot, so an answer that a reviewer rejected or that a
forced refresh replaced (in any process) is never returned after that change committed:
rejected rows are excluded by the statement itself, and nothing is remembered between lookups.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from sqlalchemy.engine import Engine

# the columns of ``ledger.MemoryRow``, in its field order
MEMORY_COLUMNS = ("id", "cache_key", "request_type", "output_text", "audio_path", "provider", "model",
                  "input_tokens", "output_tokens", "cost_usd", "latency_ms")


class MemoryLookup:
    """Rows of ``aiv_ai_memory`` by cache key, rejected answers excluded; thread-safe, fork-aware."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.is_sqlite = engine.url.get_backend_name() == "sqlite"
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._pooled: Any = None  # the pool's proxy, kept checked out for the life of the lookup
        self._conn: Any = None
        self._sql: dict[int, str] = {}

    def _statement(self, n: int) -> str:
        sql = self._sql.get(n)
        if sql is None:
            if self.is_sqlite:
                where = "cache_key = ?" if n == 1 else f"cache_key IN ({', '.join('?' * n)})"
                rejected = "rejected = 0"
            else:
                where = "cache_key = %s" if n == 1 else f"cache_key IN ({', '.join(['%s'] * n)})"
                rejected = "NOT rejected"
            sql = self._sql[n] = f"SELECT {', '.join(MEMORY_COLUMNS)} FROM aiv_ai_memory WHERE {where} AND {rejected}"
        return sql

    def _connection(self) -> Any:
        if self._conn is None or self._pid != os.getpid():
            # after a fork the parent's connection is left alone (never closed here: closing a
            # PostgreSQL connection would end the parent's session on the shared socket)
            self._pooled = self.engine.raw_connection()
            conn = self._pooled.driver_connection
            if not self.is_sqlite:
                conn.autocommit = True
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def find(self, keys: list[str]) -> list[tuple]:
        """The stored, not rejected rows among ``keys`` (any order)."""
        sql = self._statement(len(keys))
        with self._lock:
            try:
                return self._run(sql, keys)
            except Exception as exc:
                if self.is_sqlite or not _is_disconnect(exc):
                    raise
                self._discard()
                return self._run(sql, keys)

    def insert_claim(self, cache_key: str, owner: str, expires_at: float) -> bool:
        """The single-flight claim's INSERT, committed at once; False when the key is already claimed.

        The one write a miss makes before it calls the provider, so it takes this connection too.
        """
        mark = "?" if self.is_sqlite else "%s"
        sql = f"INSERT INTO aiv_inflight (cache_key, owner, expires_at) VALUES ({mark}, {mark}, {mark})"
        with self._lock:
            conn = self._connection()
            try:
                cur = conn.cursor()
                try:
                    cur.execute(sql, (cache_key, owner, expires_at))
                finally:
                    cur.close()
                if self.is_sqlite:
                    conn.commit()
            except self.engine.dialect.dbapi.IntegrityError:
                if self.is_sqlite:
                    conn.rollback()
                return False
            except Exception as exc:
                if self.is_sqlite:
                    conn.rollback()
                elif _is_disconnect(exc):
                    self._discard()
                raise
        return True

    def _run(self, sql: str, keys: list[str]) -> list[tuple]:
        cur = self._connection().cursor()
        try:
            cur.execute(sql, keys)
            return cur.fetchall()
        finally:
            cur.close()

    def _discard(self) -> None:
        pooled, self._pooled, self._conn = self._pooled, None, None
        if pooled is not None:
            try:
                pooled.invalidate()
            except Exception:  # pragma: no cover - the connection is gone either way
                pass

    def close(self) -> None:
        with self._lock:
            if self._pooled is not None and self._pid == os.getpid():
                self._pooled.close()  # back to the pool, which closes it when disposed
            self._pooled = self._conn = None


def _is_disconnect(exc: Exception) -> bool:
    try:
        import psycopg2
    except ImportError:  # pragma: no cover - psycopg2 is a dependency
        return False
    return isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError))
