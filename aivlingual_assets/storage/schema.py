"""Creating tables on first use: safe when several processes start together, never over a damaged file.

Every module that creates tables (the AI ledger, the recording registry, the Notion sync store,
the review log) does it inside :func:`first_use`. On SQLite that holds an exclusive lock on a
``<database>.lock`` file beside the database, so two commands started together on a fresh home
create the schema one after the other; on PostgreSQL it holds a transaction-scoped advisory lock.
Under that lock a SQLite file that is unreadable, or empty although AIVlingual used it before (its
``.lock`` file exists), stops everything with :class:`DamagedDatabaseError`: the ledger is never
silently recreated over a file that was there.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

_SCHEMA_LOCK_KEY = 4242001  # one PostgreSQL advisory lock for every first-use schema creation
_SQLITE_SIDE_FILES = ("-wal", "-shm")


class DamagedDatabaseError(RuntimeError):
    """A SQLite ledger that existed is now empty or unreadable; nothing runs on it."""

    def __init__(self, path: Path, problem: str):
        self.path, self.problem = path, problem
        super().__init__(
            f"The AIVlingual ledger {path} {problem}. It holds the AI cache, the usage history and this month's "
            "spend (the budget check), reviews and Notion sync records, so nothing runs on it rather than "
            f"starting over and paying providers again. Restore it from a backup (copy the backup over {path}), "
            "or start with an empty ledger: `aivlingual ledger reset --yes` moves it aside to "
            f"{path.name}.damaged-<time> (it is never deleted)."
        )


def sqlite_path(engine: Engine) -> Path | None:
    """The database file of a SQLite engine (None for other databases and in-memory SQLite)."""
    if engine.url.get_backend_name() != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database)


def used_before(path: Path) -> bool:
    """Whether AIVlingual has opened this database before: its ``.lock`` file is made on first use."""
    return Path(f"{path}.lock").exists()


def damage(path: Path, *, used: bool = True) -> str | None:
    """What is wrong with an existing SQLite file (None when it is absent or readable).

    An empty file is damage only when the database was ``used`` before: SQLite itself leaves a
    0-byte file when a new database is opened and nothing is written yet.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return "exists but is empty (0 bytes)" if used else None
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)) as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        return f"is not a readable SQLite database ({exc})"
    return None


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``<path>.lock`` across processes of this machine (no-op without fcntl)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: SQLite's own locking and the retry below remain
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def first_use_lock(engine: Engine) -> Iterator[None]:
    """Serialises first use of a SQLite database across processes, after checking it is not damaged."""
    path = sqlite_path(engine)
    if path is None:
        yield
        return
    used = used_before(path)
    with file_lock(path):
        problem = damage(path, used=used)
        if problem:
            raise DamagedDatabaseError(path, problem)
        yield


@contextmanager
def first_use(engine: Engine) -> Iterator[Connection]:
    """A transaction in which creating tables (and seeding rows) cannot race another process."""
    with first_use_lock(engine), engine.begin() as conn:
        if engine.url.get_backend_name() == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
        yield conn


def create_tables(engine: Engine, metadata: sa.MetaData, tables: list[sa.Table] | None = None) -> None:
    """Creates the missing tables of ``metadata`` (or just ``tables``), safely under concurrency."""
    try:
        with first_use(engine) as conn:
            metadata.create_all(conn, tables=tables, checkfirst=True)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError) as exc:
        # no file lock on this platform, or another host on a shared database: it exists now
        if "already exists" not in str(exc) and "UNIQUE constraint" not in str(exc):
            raise
        with first_use(engine) as conn:
            metadata.create_all(conn, tables=tables, checkfirst=True)


def move_aside(path: Path) -> Path:
    """Renames a SQLite file (and its -wal/-shm files) to ``<name>.damaged-<time>``; returns the new path."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    path.rename(target)
    for suffix in _SQLITE_SIDE_FILES:
        side = Path(f"{path}{suffix}")
        if side.exists():
            side.rename(Path(f"{target}{suffix}"))
    return target
