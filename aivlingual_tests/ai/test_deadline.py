"""A hung provider fails a call at its overall deadline (retries and fallbacks included), and every
retry is logged with its reason."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from aivlingual_assets.ai import AICore, AISettings, AIError
from aivlingual_assets.ai.errors import AllProvidersFailedError, DeadlineExceededError
from aivlingual_assets.ai.ledger import ai_memory, usage_log
from aivlingual_tests.fakes.provider_server import Fault

DEADLINE = 1.5


@pytest.fixture
def held(provider_server):
    """Holds every text request at the fake provider until the test ends (a hung server)."""
    release = threading.Event()

    def hang(request):
        release.wait(timeout=120)
        return Fault.disconnect()

    provider_server.set_responder(["openai.chat", "gemini.generate"], hang)
    yield provider_server
    release.set()


def _core(**overrides) -> AICore:
    # the SDK's own per-request timeout stays at its 60 s default: only the deadline may stop the call
    ai = AICore(AISettings.from_env(retry_base_seconds=0.01, retry_max_seconds=0.1, **overrides))
    for name in ai.configured_providers():
        ai.provider(name)  # import the SDKs now: a loaded machine may take seconds, not what is measured here
    return ai


@pytest.mark.parametrize("only", ["openai", "gemini", "both"])
def test_a_hung_provider_fails_the_call_at_its_deadline(held, monkeypatch, aiv_home, only, caplog):
    if only == "openai":
        monkeypatch.delenv("GEMINI_API_KEY")
    elif only == "gemini":
        monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("AIVLINGUAL_AI_CALL_DEADLINE_S", str(DEADLINE))
    first = "gemini.generate" if only == "gemini" else "openai.chat"
    held.inject(first, Fault.status(500, message="upstream overloaded"))  # one quick failure, then the hang
    ai = _core()
    assert ai.settings.timeout_seconds == 60.0 and ai.settings.call_deadline_seconds == DEADLINE

    started = time.monotonic()
    pool = ThreadPoolExecutor(1)
    try:
        with caplog.at_level(logging.WARNING, logger="aivlingual.ai"):
            future = pool.submit(ai.generate_text, "gloss", "草 とは?")
            error = future.exception(timeout=DEADLINE + 10)  # without a deadline this waits minutes
    finally:
        pool.shutdown(wait=False)
    elapsed = time.monotonic() - started

    assert isinstance(error, DeadlineExceededError) and isinstance(error, AllProvidersFailedError)
    assert elapsed < DEADLINE + 1.0, elapsed
    assert "1.5 s" in str(error) and "AIVLINGUAL_AI_CALL_DEADLINE_S" in str(error)
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 1 and "attempt 1 of 4 failed" in retries[0] and "upstream overloaded" in retries[0]
    with ai.ledger.connect() as conn:
        failures = conn.execute(sa.select(usage_log.c.error).where(usage_log.c.success.is_(False))).scalars().all()
        cached = conn.execute(sa.select(sa.func.count()).select_from(ai_memory)).scalar_one()
    assert len(failures) == 2 and "upstream overloaded" in failures[0] and "timed out" in failures[1]
    assert cached == 0


def test_the_deadline_spans_fallbacks_and_each_fallback_is_tried_within_it(provider_server, monkeypatch, aiv_home):
    # the first model fails fast and for good; the second hangs: the deadline stops the second one
    release = threading.Event()
    provider_server.fail_always("openai.chat", 400)

    def hang(request):
        release.wait(timeout=120)
        return Fault.disconnect()

    provider_server.set_responder("gemini.generate", hang)
    try:
        ai = _core(call_deadline_seconds=DEADLINE)
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError) as caught:
            ai.generate_text("gloss", "推し とは?")
        assert time.monotonic() - started < DEADLINE + 1.0
    finally:
        release.set()
    assert "openai/" in str(caught.value) and "gemini/" in str(caught.value)
    assert provider_server.count("openai.chat") == 1  # a 400 is not retried


def test_a_call_within_its_deadline_is_unaffected_and_logs_its_retries(provider_server, monkeypatch, aiv_home,
                                                                       caplog):
    monkeypatch.delenv("GEMINI_API_KEY")
    provider_server.inject("openai.chat", Fault.status(429, retry_after=0.05), Fault.status(503))
    with caplog.at_level(logging.WARNING, logger="aivlingual.ai"):
        result = _core(call_deadline_seconds=30).generate_text("gloss", "草 とは?")
    assert result.text and result.provider == "openai"
    reasons = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert [("attempt 1" in m, "HTTP 429" in m) for m in reasons[:1]] == [(True, True)]
    assert "attempt 2 of 4 failed (openai answered HTTP 503" in reasons[1]


@pytest.mark.parametrize("value", ["0", "-3", "soon", "inf"])
def test_an_invalid_deadline_setting_is_a_clear_error(monkeypatch, aiv_home, value):
    monkeypatch.setenv("AIVLINGUAL_AI_CALL_DEADLINE_S", value)
    with pytest.raises(AIError, match="AIVLINGUAL_AI_CALL_DEADLINE_S must be a number of seconds above 0"):
        AISettings.from_env()
