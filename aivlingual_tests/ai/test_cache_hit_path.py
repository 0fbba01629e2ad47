"""The cache hit's fast path: one prepared read, bookkeeping written behind, nothing that matters ever lost.

A hit reads the answer with one statement on a connection of its own and buffers its usage
counters and $0 log row; a background writer flushes the buffer. What a crash may lose is only
that buffer; answers and paid calls' log rows are written before the call returns. Reads never
remember answers, so a reviewer's rejection or a forced refresh holds in every process at once.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from aivlingual_assets.ai import AICore, AISettings, write_behind
from aivlingual_assets.ai.ledger import Ledger, ai_memory, usage_log
from aivlingual_assets.learning.review import get_item, record_verdict
from aivlingual_tests.fakes.provider_server import Reply

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    """``hit_worker`` in a real subprocess."""

    def __init__(self, env: dict[str, str]):
        self.proc = subprocess.Popen([sys.executable, "-m", "aivlingual_tests.ai.hit_worker"], cwd=ROOT,
                                     env={**os.environ, **env}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        assert self.read() == {"ready": True}

    def read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"worker ended (exit code {self.proc.wait()})")
        return json.loads(line)

    def send(self, **command) -> dict:
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def ask(self, prompt: str, **command) -> dict:
        return self.send(ask=prompt, **command)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(30)


@pytest.fixture
def numbered_answers(provider_server, monkeypatch):
    """OpenAI only, every chat answer distinct: "answer 1", "answer 2", ..."""
    monkeypatch.delenv("GEMINI_API_KEY")
    counter = itertools.count(1)
    provider_server.set_responder("openai.chat", lambda req: Reply(content=f"answer {next(counter)}"))
    return provider_server


def _env(database_url: str, home: Path, flush_seconds: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENAI_", "AIVLINGUAL_"))}
    env.update(AIVLINGUAL_DATABASE_URL=database_url, AIVLINGUAL_HOME=str(home),
               AIVLINGUAL_AI_FLUSH_SECONDS=str(flush_seconds))
    return env


def _log_rows(database_url: str) -> list[dict]:
    """The usage log as another process sees it (never through this process's buffer)."""
    engine = sa.create_engine(Ledger(database_url).url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(usage_log).order_by(usage_log.c.id))]
    finally:
        engine.dispose()


def test_a_killed_process_loses_only_the_hit_counters_since_the_last_flush(numbered_answers, database_url,
                                                                              aiv_home):
    worker = Worker(_env(database_url, aiv_home, flush_seconds=3600))
    try:
        paid = worker.ask("草")
        assert (paid["cache_hit"], paid["text"]) == (False, "answer 1") and paid["cost_usd"] > 0
        assert worker.ask("草", times=5)["hits"] == 5
        assert worker.send(flush=True) == {"written": 5}
        assert worker.ask("草", times=3)["hits"] == 3
        worker.kill()  # SIGKILL: no exit handler runs
    finally:
        worker.close()

    rows = _log_rows(database_url)
    assert [(r["cache_hit"], r["cost_usd"] > 0) for r in rows] == [(False, True)] + [(True, False)] * 5
    ledger = Ledger(database_url)
    with ledger.connect() as conn:
        memory = conn.execute(sa.select(ai_memory).where(ai_memory.c.id == paid["memory_id"])).one()
        if ledger.is_sqlite:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert (memory.output_text, memory.usage_count) == ("answer 1", 1 + 5)
    # the answer survived: a new process is served it without paying again
    again = AICore(AISettings.from_env(database_url=database_url)).generate_text("demo.hit", "草")
    assert (again.cache_hit, again.text) == (True, "answer 1")
    assert numbered_answers.count("openai.chat") == 1


def test_an_answer_rejected_or_replaced_is_never_served_again_by_any_process(numbered_answers, database_url,
                                                                              aiv_home):
    a, b = (Worker(_env(database_url, aiv_home, flush_seconds=0.05)) for _ in range(2))
    try:
        first = a.ask("推し")
        assert (first["cache_hit"], first["text"]) == (False, "answer 1")
        assert b.ask("推し")["text"] == "answer 1"  # b has served it from the cache ...

        record_verdict(Ledger(database_url), first["memory_id"], "rejected", "reviewer")
        after_rejection = b.ask("推し")  # ... and never serves it again
        assert (after_rejection["cache_hit"], after_rejection["text"]) == (False, "answer 2")
        assert a.ask("推し") == {**after_rejection, "cache_hit": True, "cost_usd": 0.0, "hits": 1}

        refreshed = a.ask("推し", force_refresh=True)
        assert (refreshed["cache_hit"], refreshed["text"]) == (False, "answer 3")
        assert (b.ask("推し")["text"], a.ask("推し")["text"]) == ("answer 3", "answer 3")
    finally:
        a.close()
        b.close()
    # the answer in the cache is the new one, and no verdict of the rejected one carries over to it
    item = get_item(Ledger(database_url), first["memory_id"])
    assert (item.rejected, item.verified) == (False, False)
    assert numbered_answers.count("openai.chat") == 3


def _offline_core(home: Path, flush_seconds: float) -> AICore:
    return AICore(AISettings.from_env(database_url=f"sqlite:///{home / 'ledger.sqlite3'}", home=home,
                                      usage_flush_seconds=flush_seconds))


def test_a_hit_writes_nothing_itself_and_readers_in_the_same_process_see_it(aiv_home):
    core = _offline_core(aiv_home, flush_seconds=3600)
    core.generate_text("demo.word", "草", offline=lambda: "grass")
    hit = core.generate_text("demo.word", "草", offline=lambda: "grass")
    assert hit.cache_hit
    assert [r["cache_hit"] for r in _log_rows(core.ledger.url)] == [False]  # the hit is still buffered
    with core.ledger.connect() as conn:  # a reader of this process: the buffer is written first
        assert conn.execute(sa.select(usage_log.c.cache_hit).order_by(usage_log.c.id)).scalars().all() == [False, True]
        assert conn.execute(sa.select(ai_memory.c.usage_count)).scalar_one() == 2


def test_the_background_writer_writes_the_hits_within_its_interval(aiv_home):
    core = _offline_core(aiv_home, flush_seconds=0.05)
    for _ in range(4):
        core.generate_text("demo.word", "草", offline=lambda: "grass")
    assert core.ledger.wait_until_usage_written(timeout=30)
    assert [r["cache_hit"] for r in _log_rows(core.ledger.url)] == [False, True, True, True]


def _core_on(database_url: str, home: Path, flush_seconds: float) -> AICore:
    return AICore(AISettings.from_env(database_url=database_url, home=home, usage_flush_seconds=flush_seconds))


def _count_driver_statements(lookup, statements: list[str]) -> None:
    """Every statement the lookup's driver connection runs from now on is appended to ``statements``."""
    conn = lookup._connection()
    if lookup.is_sqlite:
        conn.set_trace_callback(statements.append)
        return
    import psycopg2.extensions

    class Counted(psycopg2.extensions.cursor):
        def execute(self, sql, params=None):
            statements.append(sql)
            return super().execute(sql, params)

    conn.cursor_factory = Counted


def test_a_hit_runs_one_statement_and_checks_out_no_pooled_connection(database_url, aiv_home):
    """No pool checkout means no pre-ping either; the read is in autocommit, and nothing is written."""
    core = _core_on(database_url, aiv_home, flush_seconds=3600)
    core.generate_text("demo.word", "草", offline=lambda: "grass")
    core.generate_text("demo.word", "草", offline=lambda: "grass")  # the lookup's connection is open now
    through_sqlalchemy: list[object] = []

    def on_event(*args) -> None:
        through_sqlalchemy.append(args)

    events = ("checkout", "before_cursor_execute")
    for name in events:
        sa.event.listen(core.ledger.engine, name, on_event)
    statements: list[str] = []
    _count_driver_statements(core.ledger._lookup, statements)
    try:
        for _ in range(20):
            assert core.generate_text("demo.word", "草", offline=lambda: "grass").cache_hit
    finally:
        for name in events:
            sa.event.remove(core.ledger.engine, name, on_event)
    assert through_sqlalchemy == []
    assert len(statements) == 20 and all(s.startswith("SELECT") for s in statements)
    if not core.ledger.is_sqlite:
        assert core.ledger._lookup._connection().autocommit
    assert core.ledger.flush_usage() == 21


def test_a_forked_child_never_writes_its_parents_buffered_hits(aiv_home):
    core = _offline_core(aiv_home, flush_seconds=3600)
    core.generate_text("demo.word", "草", offline=lambda: "grass")
    core.generate_text("demo.word", "草", offline=lambda: "grass")  # one hit buffered
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        write_behind.flush_all()
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert core.ledger.flush_usage() == 1
    assert [r["cache_hit"] for r in _log_rows(core.ledger.url)] == [False, True]


def _hit_in_child(home: str) -> None:
    core = _offline_core(Path(home), flush_seconds=3600)
    assert core.generate_text("demo.word", "草", offline=lambda: "grass").cache_hit


def test_a_multiprocessing_child_writes_its_hits_when_it_ends(aiv_home):
    """Dagster's step processes end through multiprocessing, which skips atexit handlers."""
    _offline_core(aiv_home, flush_seconds=3600).generate_text("demo.word", "草", offline=lambda: "grass")
    child = multiprocessing.get_context("fork").Process(target=_hit_in_child, args=(str(aiv_home),))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert [r["cache_hit"] for r in _log_rows(f"sqlite:///{aiv_home / 'ledger.sqlite3'}")] == [False, True]



def test_the_background_writer_leaves_process_signals_to_the_main_thread(aiv_home):
    """A SIGTERM delivered to the writer thread would never interrupt a main thread blocked in a wait."""
    import threading

    core = _offline_core(aiv_home, flush_seconds=0.05)
    core.generate_text("demo.word", "草", offline=lambda: "grass")
    core.generate_text("demo.word", "草", offline=lambda: "grass")  # the writer thread runs now
    assert core.ledger.wait_until_usage_written(timeout=30)
    writers = [t for t in threading.enumerate() if t.name == "aiv-usage-write-behind"]
    assert writers
    for writer in writers:
        status = Path(f"/proc/self/task/{writer.native_id}/status").read_text()
        blocked = int(next(line for line in status.splitlines() if line.startswith("SigBlk:")).split()[1], 16)
        assert blocked & (1 << (signal.SIGTERM - 1)) and blocked & (1 << (signal.SIGINT - 1))
