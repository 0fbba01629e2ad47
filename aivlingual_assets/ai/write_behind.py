"""Write-behind of a cache hit's bookkeeping: usage counters and usage-log rows, flushed in batches.

A hit changes nothing that matters for correctness: it bumps the answer's ``usage_count`` and
``last_used_at`` and logs a $0 row. Those go into an in-memory buffer, and a background thread
writes the buffer every ``interval`` seconds (sooner when it fills) in one transaction, so a hit
costs no write, no commit and no fsync. Cached answers and the log rows of paid calls are never
buffered: the ledger writes them synchronously, so a process killed right after a hit loses at
most the hit bookkeeping of the last interval.

The buffer is also written before the ledger opens a connection for a reader in this process
(``Ledger.connect``/``begin``), at interpreter exit, when a ``multiprocessing`` child ends, and
by ``Ledger.flush_usage``. A forked child starts with an empty buffer (its parent writes its own).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import time
import weakref
from multiprocessing import util as mp_util
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger("aivlingual.ai")

DEFAULT_INTERVAL_SECONDS = 1.0
MAX_PENDING = 2_000  # a full buffer wakes the writer early
_PROCESS_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2}


class WriteBehind:
    """Buffered hit bookkeeping for one database in one process."""

    def __init__(self, engine: Engine, memory_table: sa.Table, log_table: sa.Table, log_defaults: dict[str, Any],
                 interval: float = DEFAULT_INTERVAL_SECONDS):
        self.engine, self.interval = engine, interval
        self._memory, self._log, self._defaults = memory_table, log_table, log_defaults
        self._lock = threading.Lock()  # guards the buffer (held for an append or a swap only)
        self._flush_lock = threading.Lock()  # one writer at a time
        self._wake = threading.Event()
        self._flushed = threading.Condition()
        self._bumps: dict[int, list[float]] = {}  # memory id -> [hits, last used]
        self._rows: list[dict[str, Any]] = []
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        c = memory_table.c
        self._bump_stmt = (
            memory_table.update()
            .where(c.id == sa.bindparam("b_id"))
            .values(usage_count=c.usage_count + sa.bindparam("b_hits"),
                    last_used_at=sa.case((c.last_used_at < sa.bindparam("b_now"), sa.bindparam("b_now")),
                                         else_=c.last_used_at))
        )
        self._insert_stmt = log_table.insert()
        _registry.add(self)

    # ---- the hot path -------------------------------------------------------------------
    def add(self, memory_id: int, now: float, row: dict[str, Any]) -> None:
        """Records one hit; returns at once."""
        with self._lock:
            bump = self._bumps.get(memory_id)
            if bump is None:
                self._bumps[memory_id] = [1, now]
            else:
                bump[0] += 1
                bump[1] = now
            self._rows.append(row)
            pending = len(self._rows)
        if self._thread is None:
            self._start()
        if pending >= MAX_PENDING:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._rows)

    # ---- writing ------------------------------------------------------------------------
    def flush(self) -> int:
        """Writes what is buffered in one transaction; returns the log rows written."""
        if not self._rows and not self._bumps:
            return 0
        with self._flush_lock:
            with self._lock:
                bumps, rows = self._bumps, self._rows
                self._bumps, self._rows = {}, []
            if not bumps and not rows:
                return 0
            try:
                with self.engine.begin() as conn:
                    self._write(conn, bumps, rows)
            except BaseException:
                self._restore(bumps, rows)  # kept for the next attempt
                raise
        with self._flushed:
            self._flushed.notify_all()
        return len(rows)

    def _write(self, conn: Connection, bumps: dict[int, list[float]], rows: list[dict[str, Any]]) -> None:
        if bumps:
            conn.execute(self._bump_stmt, [{"b_id": k, "b_hits": int(v[0]), "b_now": v[1]} for k, v in bumps.items()])
        if rows:
            conn.execute(self._insert_stmt, [{**self._defaults, **r} for r in rows])

    def _restore(self, bumps: dict[int, list[float]], rows: list[dict[str, Any]]) -> None:
        with self._lock:
            for memory_id, (hits, now) in bumps.items():
                bump = self._bumps.setdefault(memory_id, [0, now])
                bump[0] += hits
                bump[1] = max(bump[1], now)
            self._rows[:0] = rows

    def wait_until_written(self, timeout: float) -> bool:
        """Blocks until everything buffered so far is in the database (True) or ``timeout`` passed."""
        with self._flushed:
            return self._flushed.wait_for(lambda: not self._rows and not self._bumps and not self._flush_lock.locked(),
                                          timeout)

    # ---- the background writer ----------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="aiv-usage-write-behind", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # process signals (SIGTERM from a pool or a run launcher) go to the main thread, whose blocking
        # waits they interrupt; delivered to this thread they would wake nothing and be lost
        signal.pthread_sigmask(signal.SIG_BLOCK, _PROCESS_SIGNALS)
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._pid != os.getpid():  # pragma: no cover - threads do not survive a fork
                return
            try:
                self.flush()
            except Exception as exc:  # the database is busy or gone: keep the rows, try again later
                log.warning("usage bookkeeping of cache hits not written yet (%s); retrying", exc)
                time.sleep(self.interval)

    def _forget_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._flushed = threading.Condition()
        self._bumps, self._rows, self._thread, self._pid = {}, [], None, os.getpid()


_registry: weakref.WeakSet[WriteBehind] = weakref.WeakSet()


def flush_all() -> None:
    """Writes every buffer of this process (at exit); failures are logged, never raised."""
    for buffer in list(_registry):
        if buffer._pid != os.getpid():
            continue
        try:
            buffer.flush()
        except Exception as exc:  # pragma: no cover - nothing left to do at exit
            log.warning("usage bookkeeping of %d cache hit(s) lost at exit: %s", buffer.pending, exc)
            buffer._bumps, buffer._rows = {}, []  # said once, not again by the next exit hook


def _after_fork_in_child() -> None:
    for buffer in list(_registry):
        buffer._forget_after_fork()


atexit.register(flush_all)
os.register_at_fork(after_in_child=_after_fork_in_child)


def _register_multiprocessing_exit(_: object = None) -> None:
    # a multiprocessing child leaves through os._exit (no atexit) after running its finalizers;
    # it clears the finalizers it inherited, then runs the after-fork hooks: register there again
    mp_util.Finalize(None, flush_all, exitpriority=100)


class _ForkHook:
    pass


_fork_hook = _ForkHook()
_register_multiprocessing_exit()
mp_util.register_after_fork(_fork_hook, _register_multiprocessing_exit)
