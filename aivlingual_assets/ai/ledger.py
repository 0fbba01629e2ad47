"""The usage ledger: provider catalogue, AI memory (the cache), usage log, budgets and training data.

One SQLAlchemy Core schema that runs on SQLite (the local default) and PostgreSQL.
Timestamps are epoch seconds (floats) so both databases compare and sum them
the same way. The schema carries a version; ``MIGRATIONS`` upgrades older ledgers.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .catalogue import ModelSpec
from .memory_lookup import MemoryLookup
from .write_behind import DEFAULT_INTERVAL_SECONDS, WriteBehind

SCHEMA_VERSION = 1

metadata = sa.MetaData()

schema_info = sa.Table(
    "aiv_schema_info",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

provider_configs = sa.Table(
    "aiv_provider_configs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("tier", sa.String(10), nullable=False),
    sa.Column("input_per_1m", sa.Float, nullable=False, default=0.0),
    sa.Column("output_per_1m", sa.Float, nullable=False, default=0.0),
    sa.Column("per_request", sa.Float, nullable=False, default=0.0),
    sa.Column("per_minute", sa.Float, nullable=False, default=0.0),
    sa.Column("per_1m_chars", sa.Float, nullable=False, default=0.0),
    sa.Column("quality", sa.Integer, nullable=False, default=50),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("is_default", sa.Boolean, nullable=False, default=False),
    # JSON list of request types this model is the preferred model for (fine-tuned models)
    sa.Column("default_for", sa.Text, nullable=False, default="[]"),
    sa.Column("max_tokens", sa.Integer, nullable=False, default=4096),
    sa.Column("capabilities", sa.Text, nullable=False, default="[]"),
    sa.Column("price_source", sa.Text, nullable=False, default=""),
    sa.Column("price_date", sa.String(20), nullable=False, default=""),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("provider", "model", "kind", name="uq_aiv_provider_model_kind"),
)

ai_memory = sa.Table(
    "aiv_ai_memory",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("cache_key", sa.String(64), nullable=False, unique=True),
    sa.Column("request_type", sa.String(100), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("prompt_hash", sa.String(64), nullable=False),
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("system", sa.Text, nullable=True),
    sa.Column("options", sa.Text, nullable=False, default="{}"),
    sa.Column("output_text", sa.Text, nullable=True),
    sa.Column("audio_path", sa.Text, nullable=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("input_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("output_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("cost_usd", sa.Float, nullable=False, default=0.0),
    sa.Column("latency_ms", sa.Float, nullable=False, default=0.0),
    sa.Column("verified", sa.Boolean, nullable=False, default=False),
    sa.Column("rejected", sa.Boolean, nullable=False, default=False),
    sa.Column("rating", sa.Integer, nullable=True),
    sa.Column("use_for_training", sa.Boolean, nullable=False, default=False),
    sa.Column("reviewed_by", sa.String(200), nullable=True),
    sa.Column("reviewed_at", sa.Float, nullable=True),
    sa.Column("usage_count", sa.Integer, nullable=False, default=1),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_used_at", sa.Float, nullable=False),
)

usage_log = sa.Table(
    "aiv_usage_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False, index=True),
    sa.Column("request_type", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("endpoint", sa.String(200), nullable=True),
    sa.Column("channel", sa.String(200), nullable=True),
    sa.Column("provider", sa.String(32), nullable=True),
    sa.Column("model", sa.String(200), nullable=True),
    sa.Column("input_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("output_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("cost_usd", sa.Float, nullable=False, default=0.0),
    sa.Column("saved_usd", sa.Float, nullable=False, default=0.0),
    sa.Column("latency_ms", sa.Float, nullable=False, default=0.0),
    sa.Column("cache_hit", sa.Boolean, nullable=False, default=False),
    sa.Column("selection_mode", sa.String(10), nullable=False, default="auto"),
    sa.Column("success", sa.Boolean, nullable=False, default=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("memory_id", sa.Integer, nullable=True),
)

training_data = sa.Table(
    "aiv_training_data",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("memory_id", sa.Integer, nullable=False, index=True),
    sa.Column("request_type", sa.String(100), nullable=False),
    sa.Column("batch_id", sa.String(64), nullable=False, index=True),
    sa.Column("split", sa.String(12), nullable=False),
    sa.Column("example_hash", sa.String(64), nullable=False),
    sa.Column("messages", sa.Text, nullable=False),
    sa.Column("tokens", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("memory_id", "batch_id", name="uq_aiv_training_memory_batch"),
)

training_runs = sa.Table(
    "aiv_training_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(64), nullable=False, index=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("base_model", sa.String(200), nullable=False),
    sa.Column("model_version", sa.String(200), nullable=True),
    sa.Column("job_id", sa.String(200), nullable=True),
    sa.Column("file_id", sa.String(200), nullable=True),
    sa.Column("validation_file_id", sa.String(200), nullable=True),
    sa.Column("request_types", sa.Text, nullable=False, default="[]"),
    sa.Column("examples", sa.Integer, nullable=False, default=0),
    sa.Column("trained_tokens", sa.Integer, nullable=True),
    sa.Column("cost_usd", sa.Float, nullable=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("metrics", sa.Text, nullable=False, default="{}"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
)

embedding_cache = sa.Table(
    "aiv_embedding_cache",
    metadata,
    sa.Column("cache_key", sa.String(64), primary_key=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("dim", sa.Integer, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),  # float32 bytes
    sa.Column("created_at", sa.Float, nullable=False),
)

inflight = sa.Table(
    "aiv_inflight",
    metadata,
    sa.Column("cache_key", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

budget_lock = sa.Table(
    "aiv_budget_lock",
    metadata,
    sa.Column("scope", sa.String(50), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False, default=0),
)

budget_reservations = sa.Table(
    "aiv_budget_reservations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("channel", sa.String(200), nullable=True),
    sa.Column("amount", sa.Float, nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)


# version -> function that upgrades a ledger from version-1 to version (run inside one transaction).
# When a column is added: bump SCHEMA_VERSION, add it to the table above and add its ALTER here.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}


def process_owner() -> str:
    """Identifies this process in lock tables, so a dead owner can be recognised."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def make_engine(url: str) -> Engine:
    """One engine per URL and process; SQLite gets WAL and a busy timeout for concurrent writers."""
    from ..settings import normalise_database_url

    url = normalise_database_url(url)
    with _engines_lock:
        key = f"{os.getpid()}:{url}"
        engine = _engines.get(key)
        if engine is not None:
            return engine
        if url.startswith("sqlite"):
            engine = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

            @sa.event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA busy_timeout=60000")
                cur.close()
        else:
            engine = sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
        _engines[key] = engine
        return engine


_hot_paths: dict[str, tuple[MemoryLookup, WriteBehind]] = {}
_catalogue_changes = 0  # catalogue writes made by this process (routers re-read the catalogue after one)


def catalogue_changes() -> int:
    return _catalogue_changes


def _catalogue_changed() -> None:
    global _catalogue_changes
    _catalogue_changes += 1


def hot_path(engine: Engine, flush_seconds: float = DEFAULT_INTERVAL_SECONDS) -> tuple[MemoryLookup, WriteBehind]:
    """The cache-hit lookup and the hit write-behind of one database, shared by the process's ledgers."""
    with _engines_lock:
        key = f"{os.getpid()}:{engine.url.render_as_string(hide_password=False)}"
        pair = _hot_paths.get(key)
        if pair is None or pair[0].engine is not engine:
            pair = _hot_paths[key] = (
                MemoryLookup(engine),
                WriteBehind(engine, ai_memory, usage_log, _LOG_DEFAULTS, interval=flush_seconds),
            )
        return pair


def dispose_engine(url: str) -> None:
    """Writes the process's buffered hit bookkeeping for ``url`` and closes its connections."""
    from ..settings import normalise_database_url

    url = normalise_database_url(url)
    with _engines_lock:
        engine = _engines.pop(f"{os.getpid()}:{url}", None)
        pair = _hot_paths.pop(f"{os.getpid()}:{engine.url.render_as_string(hide_password=False)}", None) \
            if engine is not None else None
    if pair is not None:
        lookup, behind = pair
        behind.flush()
        lookup.close()
    if engine is not None:
        engine.dispose()


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


# a replaced answer is a new answer: no verdict of the old one carries over
_UNREVIEWED: dict[str, Any] = {"verified": False, "rejected": False, "rating": None, "use_for_training": False,
                               "reviewed_by": None, "reviewed_at": None}

_LOG_DEFAULTS: dict[str, Any] = {
    "endpoint": None, "channel": None, "provider": None, "model": None, "input_tokens": 0, "output_tokens": 0,
    "cost_usd": 0.0, "saved_usd": 0.0, "latency_ms": 0.0, "cache_hit": False, "selection_mode": "auto",
    "success": True, "error": None, "memory_id": None,
}


class Ledger:
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

    # ---- provider catalogue -------------------------------------------------------------
    def seed_catalogue(self, specs: Iterable[ModelSpec]) -> int:
        """Adds catalogue models the ledger does not know yet; never overwrites user edits.

        Capabilities are the one exception: they say what our provider code can do with a
        model (no command edits them), so known models take the catalogue's current ones.
        """
        from ..storage.schema import first_use_lock

        with first_use_lock(self.engine):
            try:
                return self._seed(list(specs))
            except sa.exc.IntegrityError:  # another host seeded the same rows first
                return self._seed(list(specs))

    def _seed(self, specs: list[ModelSpec]) -> int:
        now = time.time()
        added = updated = 0
        with self.engine.begin() as conn:
            if not self.is_sqlite:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(4242002)"))
            existing = {
                (r.provider, r.model, r.kind): r.capabilities
                for r in conn.execute(sa.select(provider_configs.c.provider, provider_configs.c.model,
                                                provider_configs.c.kind, provider_configs.c.capabilities))
            }
            for spec in specs:
                key = (spec.provider, spec.model, spec.kind)
                if key in existing:
                    capabilities = json.dumps(list(spec.capabilities))
                    if json.loads(existing[key] or "[]") != list(spec.capabilities):
                        updated += 1
                        conn.execute(
                            provider_configs.update()
                            .where(provider_configs.c.provider == spec.provider, provider_configs.c.model == spec.model,
                                   provider_configs.c.kind == spec.kind)
                            .values(capabilities=capabilities, updated_at=now)
                        )
                    continue
                conn.execute(
                    provider_configs.insert().values(
                        provider=spec.provider,
                        model=spec.model,
                        kind=spec.kind,
                        tier=spec.tier,
                        input_per_1m=spec.input_per_1m,
                        output_per_1m=spec.output_per_1m,
                        per_request=spec.per_request,
                        per_minute=spec.per_minute,
                        per_1m_chars=spec.per_1m_chars,
                        quality=spec.quality,
                        active=True,
                        is_default=spec.is_default,
                        default_for="[]",
                        max_tokens=spec.max_tokens,
                        capabilities=json.dumps(list(spec.capabilities)),
                        price_source=spec.price_source,
                        price_date=spec.price_date,
                        updated_at=now,
                    )
                )
                added += 1
        if added or updated:
            _catalogue_changed()
        return added

    def models(self, *, kind: str | None = None, active_only: bool = False) -> list[dict[str, Any]]:
        query = sa.select(provider_configs)
        if kind:
            query = query.where(provider_configs.c.kind == kind)
        if active_only:
            query = query.where(provider_configs.c.active.is_(True))
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query.order_by(provider_configs.c.provider, provider_configs.c.kind, provider_configs.c.model))]
        for row in rows:
            row["default_for"] = json.loads(row["default_for"] or "[]")
            row["capabilities"] = json.loads(row["capabilities"] or "[]")
        return rows

    def update_model(self, provider: str, model: str, kind: str | None = None, **values: Any) -> int:
        if "default_for" in values and not isinstance(values["default_for"], str):
            values["default_for"] = json.dumps(sorted(set(values["default_for"])))
        values["updated_at"] = time.time()
        stmt = provider_configs.update().where(provider_configs.c.provider == provider, provider_configs.c.model == model)
        if kind:
            stmt = stmt.where(provider_configs.c.kind == kind)
        with self.engine.begin() as conn:
            changed = conn.execute(stmt.values(**values)).rowcount
        _catalogue_changed()
        return changed

    def register_model(self, spec: ModelSpec, *, default_for: Iterable[str] = ()) -> None:
        """Adds (or replaces) one model, e.g. a fine-tuned model being deployed."""
        self.seed_catalogue([spec])
        self.update_model(
            spec.provider,
            spec.model,
            spec.kind,
            tier=spec.tier,
            input_per_1m=spec.input_per_1m,
            output_per_1m=spec.output_per_1m,
            quality=spec.quality,
            active=True,
            default_for=list(default_for),
            price_source=spec.price_source,
            price_date=spec.price_date,
        )

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
                    **_UNREVIEWED, **memory, "created_at": now, "last_used_at": now, "usage_count": 1,
                }).scalar_one()
            self._write_log(conn, {**log, "ts": now, "memory_id": memory_id}, reservation_id)
            if claim is not None:
                conn.execute(self._release_claim_stmt, {"c_key": claim[0], "c_owner": claim[1]})
        return memory_id

    def _write_log(self, conn: Connection, row: dict[str, Any], reservation_id: str | None) -> None:
        conn.execute(self._log_insert_stmt, {**_LOG_DEFAULTS, **row})
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

    # ---- budgets ------------------------------------------------------------------------
    def reserve_budget(
        self,
        *,
        estimate: float,
        channel: str | None,
        limits: list[tuple[str, str | None, float]],
        month_start: float,
        owner: str,
        lease_seconds: float,
    ) -> str | None:
        """Atomically checks every applicable budget and reserves ``estimate`` against them.

        ``limits`` holds (scope name, channel or None for global, budget). The row lock on
        ``aiv_budget_lock`` serialises reservers across processes on SQLite and PostgreSQL,
        so concurrent callers can never together pass a budget. Reservations of processes
        found dead (killed before they could release them) are freed first.
        """
        from .errors import BudgetExceededError

        if estimate <= 0 or not limits:
            return None
        now = time.time()
        reservation_id = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(
                budget_lock.update().where(budget_lock.c.scope == "global").values(version=budget_lock.c.version + 1)
            )
            self._free_stale_reservations(conn, now)
            for scope, scope_channel, budget in limits:
                spent_q = sa.select(sa.func.coalesce(sa.func.sum(usage_log.c.cost_usd), 0.0)).where(
                    usage_log.c.ts >= month_start
                )
                held_q = sa.select(sa.func.coalesce(sa.func.sum(budget_reservations.c.amount), 0.0))
                if scope_channel is not None:
                    spent_q = spent_q.where(usage_log.c.channel == scope_channel)
                    held_q = held_q.where(budget_reservations.c.channel == scope_channel)
                spent = float(conn.execute(spent_q).scalar_one())
                held = float(conn.execute(held_q).scalar_one())
                if spent + held + estimate > budget + 1e-12:
                    raise BudgetExceededError(scope, budget, spent, held, estimate)
            conn.execute(
                budget_reservations.insert().values(
                    id=reservation_id, channel=channel, amount=estimate, owner=owner, expires_at=now + lease_seconds
                )
            )
        return reservation_id

    @staticmethod
    def _free_stale_reservations(conn: Connection, now: float) -> None:
        """Expired reservations, and those of processes that died holding them (as for single-flight claims)."""
        conn.execute(budget_reservations.delete().where(budget_reservations.c.expires_at < now))
        owners = conn.execute(sa.select(budget_reservations.c.owner).distinct()).scalars().all()
        dead = [owner for owner in owners if owner_is_dead(owner)]
        if dead:
            conn.execute(budget_reservations.delete().where(budget_reservations.c.owner.in_(dead)))

    def release_reservation(self, reservation_id: str | None) -> None:
        if reservation_id:
            with self.engine.begin() as conn:
                conn.execute(self._release_reservation_stmt, {"r_id": reservation_id})

    def month_spend(self, month_start: float, channel: str | None = None) -> float:
        q = sa.select(sa.func.coalesce(sa.func.sum(usage_log.c.cost_usd), 0.0)).where(usage_log.c.ts >= month_start)
        if channel is not None:
            q = q.where(usage_log.c.channel == channel)
        with self.engine.connect() as conn:
            return float(conn.execute(q).scalar_one())

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
