"""Database engines of the ledger: one per URL and process, its hot path, and the owner ids of lock rows."""

from __future__ import annotations

import os
import socket
import threading
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .ledger_schema import LOG_DEFAULTS, ai_memory, usage_log
from .memory_lookup import MemoryLookup
from .write_behind import DEFAULT_INTERVAL_SECONDS, WriteBehind


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
                WriteBehind(engine, ai_memory, usage_log, LOG_DEFAULTS, interval=flush_seconds),
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
