"""The usage ledger: provider catalogue, AI memory (the cache), usage log, budgets and training data.

One SQLAlchemy Core schema that runs on SQLite (the local default) and PostgreSQL, in modules of one
concept each: ``ledger_schema`` (tables, version, migrations), ``ledger_engines`` (engines and lock
owners), ``ledger_catalogue`` (the provider catalogue) and ``ledger_budgets`` (budget reservations).
This module is the ``Ledger`` itself (cache, usage log, embeddings, single flight) and re-exports them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .ledger_budgets import BudgetStore
from .ledger_catalogue import CatalogueStore
from .ledger_engines import (  # noqa: F401 - public names of the ledger
    catalogue_changes,
    dispose_engine,
    hot_path,
    make_engine,
    owner_is_dead,
    process_owner,
)
from .ledger_schema import (  # noqa: F401 - public names of the ledger
    LOG_DEFAULTS,
    MIGRATIONS,
    SCHEMA_VERSION,
    UNREVIEWED,
    ai_memory,
    budget_lock,
    budget_reservations,
    embedding_cache,
    inflight,
    metadata,
    provider_configs,
    schema_info,
    training_data,
    training_runs,
    usage_log,
)
from .write_behind import DEFAULT_INTERVAL_SECONDS


@dataclass
class MemoryRow:
    id: int
    cache_key: str
    request_type: str
    output_text: str | None
    audio_path: str | None
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float



class Ledger(CatalogueStore, BudgetStore):
    """All database work of the AI core, behind small intention-revealing methods."""

    def __init__(self, url: str, *, flush_seconds: float = DEFAULT_INTERVAL_SECONDS):
        from ..settings import normalise_database_url

        url = normalise_database_url(url)
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = url.startswith("sqlite")
        self._ensure_schema()
        self._lookup, self._behind = hot_path(self.engine, flush_seconds)

    # ---- schema -------------------------------------------------------------------------
    def _ensure_schema(self) -> None:
        """Creates or upgrades the schema; concurrent first use is serialised (see ``storage.schema``)."""
        from ..storage.schema import first_use

        with first_use(self.engine) as conn:
            metadata.create_all(conn)
            row = conn.execute(sa.select(schema_info.c.version).where(schema_info.c.id == 1)).first()
            if row is None:
                conn.execute(schema_info.insert().values(id=1, version=SCHEMA_VERSION, updated_at=time.time()))
                current = SCHEMA_VERSION
            else:
                current = row.version
            for version in sorted(v for v in MIGRATIONS if v > current):
                MIGRATIONS[version](conn)
                conn.execute(
                    schema_info.update().where(schema_info.c.id == 1).values(version=version, updated_at=time.time())
                )
            if conn.execute(sa.select(budget_lock.c.scope).where(budget_lock.c.scope == "global")).first() is None:
                conn.execute(budget_lock.insert().values(scope="global", version=0))

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(schema_info.c.version)).scalar_one()

    # ---- AI memory (cache) --------------------------------------------------------------
    _memory_cols = (
        ai_memory.c.id,
        ai_memory.c.cache_key,
        ai_memory.c.request_type,
        ai_memory.c.output_text,
        ai_memory.c.audio_path,
        ai_memory.c.provider,
        ai_memory.c.model,
        ai_memory.c.input_tokens,
        ai_memory.c.output_tokens,
        ai_memory.c.cost_usd,
        ai_memory.c.latency_ms,
    )

    def find_memory(self, cache_keys: list[str]) -> MemoryRow | None:
        """The first cached, not rejected output among the given keys, in the order given."""
        if not cache_keys:
            return None
        rows = self._lookup.find(cache_keys)
        if not rows:
            return None
        if len(rows) == 1:
            return MemoryRow(*rows[0])
        by_key = {r[1]: r for r in rows}
        for key in cache_keys:
            if key in by_key:
                return MemoryRow(*by_key[key])
        return None

    def record_hit(self, memory: MemoryRow, *, log: dict[str, Any]) -> None:
        """Bumps the answer's usage and logs the $0 call, written behind (see ``write_behind``)."""
        now = time.time()
        self._behind.add(memory.id, now, {**log, "ts": now, "memory_id": memory.id})

    def flush_usage(self) -> int:
        """Writes the buffered bookkeeping of cache hits now; returns the log rows written."""
        return self._behind.flush()

    def wait_until_usage_written(self, timeout: float) -> bool:
        """Blocks until the background writer has written every hit buffered so far (False after ``timeout``)."""
        return self._behind.wait_until_written(timeout)

    # the miss path's statements, built once: SQLAlchemy reuses their compiled form
    _log_insert_stmt = usage_log.insert()
    _release_reservation_stmt = budget_reservations.delete().where(budget_reservations.c.id == sa.bindparam("r_id"))
    _release_claim_stmt = inflight.delete().where(inflight.c.cache_key == sa.bindparam("c_key"),
                                                  inflight.c.owner == sa.bindparam("c_owner"))

    def _upsert_memory_stmt(self) -> Any:
        stmt = self.__dict__.get("_upsert")
        if stmt is None:
            if self.is_sqlite:
                from sqlalchemy.dialects.sqlite import insert
            else:
                from sqlalchemy.dialects.postgresql import insert
            new = insert(ai_memory)
            replaced = {c.name: new.excluded[c.name] for c in ai_memory.c
                        if c.name not in ("id", "cache_key", "usage_count", "created_at")}
            stmt = self._upsert = new.on_conflict_do_update(
                index_elements=[ai_memory.c.cache_key],
                set_={**replaced, "usage_count": ai_memory.c.usage_count + 1},
            ).returning(ai_memory.c.id)
        return stmt

    def store_success(
        self,
        *,
        memory: dict[str, Any] | None,
        log: dict[str, Any],
        reservation_id: str | None,
        claim: tuple[str, str] | None = None,
    ) -> int | None:
        """Caches an output, logs the call, releases its budget reservation and its claim ``(key, owner)``.

        All in one transaction, written before this returns: a paid answer and its log row are never lost.
        """
        try:
            return self._store_success(memory=memory, log=log, reservation_id=reservation_id, claim=claim)
        except sa.exc.IntegrityError:  # a concurrent writer cached the same key first
            return self._store_success(memory=memory, log=log, reservation_id=reservation_id, claim=claim)

    def _store_success(self, *, memory, log, reservation_id, claim) -> int | None:
        now = time.time()
        memory_id = None
        with self.engine.begin() as conn:
            if memory is not None:
                # one statement: a new answer is inserted; one for a key already stored (force_refresh or
                # a rejected answer) replaces the old answer, unreviewed, and counts one more use
                memory_id = conn.execute(self._upsert_memory_stmt(), {
                    **UNREVIEWED, **memory, "created_at": now, "last_used_at": now, "usage_count": 1,
                }).scalar_one()
            self._write_log(conn, {**log, "ts": now, "memory_id": memory_id}, reservation_id)
            if claim is not None:
                conn.execute(self._release_claim_stmt, {"c_key": claim[0], "c_owner": claim[1]})
        return memory_id

    def _write_log(self, conn: Connection, row: dict[str, Any], reservation_id: str | None) -> None:
        conn.execute(self._log_insert_stmt, {**LOG_DEFAULTS, **row})
        if reservation_id:
            conn.execute(self._release_reservation_stmt, {"r_id": reservation_id})

    def log_failure(self, log: dict[str, Any], reservation_id: str | None = None) -> None:
        with self.engine.begin() as conn:
            self._write_log(conn, {**log, "ts": time.time(), "success": False}, reservation_id)

    # ---- embeddings -----------------------------------------------------------------------
    def get_embeddings(self, keys: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                for row in conn.execute(
                    sa.select(embedding_cache.c.cache_key, embedding_cache.c.vector).where(
                        embedding_cache.c.cache_key.in_(chunk)
                    )
                ):
                    found[row.cache_key] = bytes(row.vector)
        return found

    def put_embeddings(self, provider: str, model: str, items: dict[str, bytes], dim: int) -> None:
        now = time.time()
        rows = [
            {"cache_key": k, "provider": provider, "model": model, "dim": dim, "vector": v, "created_at": now}
            for k, v in items.items()
        ]
        if not rows:
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(embedding_cache.insert(), rows)
        except sa.exc.IntegrityError:  # another process stored some of them first
            existing = set(self.get_embeddings(list(items)))
            rest = [r for r in rows if r["cache_key"] not in existing]
            if rest:
                with self.engine.begin() as conn:
                    conn.execute(embedding_cache.insert(), rest)

    def log_usage(self, log: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(usage_log.insert().values(ts=time.time(), **log))

    # ---- single flight ------------------------------------------------------------------
    def try_claim(self, cache_key: str, owner: str, lease_seconds: float) -> bool:
        """Claims the right to call the provider for this key; False when someone else holds it."""
        now = time.time()
        if self._lookup.insert_claim(cache_key, owner, now + lease_seconds):
            return True
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(inflight).where(inflight.c.cache_key == cache_key)).first()
            if row is None:
                return False  # released meanwhile: caller re-checks the cache and tries again
            if row.expires_at < now or owner_is_dead(row.owner):
                conn.execute(
                    inflight.delete().where(inflight.c.cache_key == cache_key, inflight.c.owner == row.owner)
                )
        return False

    def release_claim(self, cache_key: str, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(self._release_claim_stmt, {"c_key": cache_key, "c_owner": owner})

    def claim_holder(self, cache_key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(inflight.c.owner).where(inflight.c.cache_key == cache_key)).scalar()

    # ---- reading ------------------------------------------------------------------------
    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection that sees every cache hit this process made (their bookkeeping is written first)."""
        self._behind.flush()
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction that starts with this process's buffered hit bookkeeping written."""
        self._behind.flush()
        with self.engine.begin() as conn:
            yield conn
