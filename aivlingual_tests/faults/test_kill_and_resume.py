"""A run killed with SIGKILL half-way, rerun: it completes and no provider call is paid twice.

The kill has to land at a moment that is honest about what "half-way" means: some questions
answered *and stored* by the client, another one asked but not yet answered. An answer that
the provider has sent but the killed process never stored is lost to any client, so the test
holds every question after the second one at the fake provider until the kill, and only
kills once the two answers are in the ledger.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from aivlingual_assets.ai import AICore, AISettings
from aivlingual_assets.ai.ledger import budget_reservations
from aivlingual_assets.settings import aivlingual_home
from aivlingual_tests.fakes.llm_responders import pipeline_model
from aivlingual_tests.fakes.provider_server import Fault

ROOT = Path(__file__).resolve().parents[2]
ANSWERED_BEFORE_KILL = 2


def _process(env, source):
    return subprocess.Popen([sys.executable, "-m", "aivlingual_assets.cli", "process", str(source), "--skip-stock"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _stored_openai_answers(ledger: Path) -> int:
    if not ledger.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM aiv_ai_memory WHERE provider = 'openai'").fetchone()[0]
    except sqlite3.OperationalError:  # schema not created yet, or a writer holds the lock
        return 0


@pytest.mark.slow
def test_killed_run_resumes_without_paying_twice(provider_server, tmp_path, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    killed = threading.Event()
    arrivals = 0
    arrivals_lock = threading.Lock()

    def held_after_two(request):
        nonlocal arrivals
        with arrivals_lock:
            arrivals += 1
            n = arrivals
        if n > ANSWERED_BEFORE_KILL and not killed.is_set():
            killed.wait(timeout=300)
            return Fault.disconnect()  # the asker is dead: this question was never answered
        return pipeline_model(request)

    provider_server.set_responder("openai.chat", held_after_two)
    shutil.copy(ROOT / "examples" / "sample_stream.ja.srt", tmp_path / "s.ja.srt")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    ledger = aivlingual_home() / "ledger.sqlite3"

    first = _process(env, tmp_path / "s.ja.srt")
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            assert first.poll() is None, first.stdout.read()
            if (_stored_openai_answers(ledger) >= ANSWERED_BEFORE_KILL
                    and provider_server.count("openai.chat") > ANSWERED_BEFORE_KILL):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the first run never reached the half-way point")
        os.killpg(first.pid, signal.SIGKILL)  # two answers stored, a third question in flight
        first.wait(timeout=30)
    finally:
        killed.set()
    first.stdout.close()
    assert provider_server.count_success("openai.chat") == ANSWERED_BEFORE_KILL

    second = _process(env, tmp_path / "s.ja.srt")
    out, _ = second.communicate(timeout=600)
    assert second.returncode == 0, out[-3000:]

    answered = Counter(json.dumps(r.body["messages"], ensure_ascii=False, sort_keys=True)
                       for r in provider_server.find("openai.chat") if r.succeeded)
    assert len(answered) > ANSWERED_BEFORE_KILL  # the rerun asked what the killed run had not got back
    # every distinct question was answered (and paid) exactly once across both processes
    assert max(answered.values()) == 1, [q[:80] for q, n in answered.items() if n > 1]


_HELD_CALL = """
from aivlingual_assets.ai import AICore, AISettings
AICore(AISettings.from_env()).generate_text("gloss", "a question the killed process asked")
"""


def test_budget_held_by_a_killed_process_is_freed_for_the_rerun(provider_server, monkeypatch, aiv_home):
    monkeypatch.delenv("GEMINI_API_KEY")
    answer = threading.Event()

    def hold(request):
        answer.wait(timeout=120)
        return None  # the default answer, once released

    provider_server.set_responder("openai.chat", hold)
    probe = AICore(AISettings.from_env())
    cheapest = probe.candidates(kind="text", request_type="gloss", tier="cheap", provider=None, model=None,
                                selection_mode="auto")[0]
    per_call = probe._estimate(cheapest.config, "a question the killed process asked", None, None, {})
    # room for one call in flight, not two
    monkeypatch.setenv("AIVLINGUAL_MONTHLY_BUDGET_USD", str(per_call * 1.5))

    killed = subprocess.Popen([sys.executable, "-c", _HELD_CALL], cwd=ROOT, env=dict(os.environ),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert provider_server.wait_for_requests(1, "openai.chat", timeout=120), killed.stdout
        with probe.ledger.connect() as conn:
            held = conn.execute(sa.select(budget_reservations.c.amount)).scalars().all()
        assert held == [pytest.approx(per_call)]  # the killed process holds its reservation
        killed.kill()
        killed.wait(timeout=30)
    finally:
        answer.set()
        killed.stdout.close()

    rerun = AICore(AISettings.from_env())  # a fresh process's core: the lease (15 min) has not expired
    result = rerun.generate_text("gloss", "the rerun's question")
    assert result.provider == "openai" and not result.cache_hit
    with rerun.ledger.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(budget_reservations)).scalar_one() == 0
