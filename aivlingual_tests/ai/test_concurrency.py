"""Several processes at once: exactly one provider call per request, and budgets that cannot be overshot."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
import sqlalchemy as sa

from aivlingual_assets.ai import AICore, AISettings
from aivlingual_assets.ai.ledger import budget_reservations, usage_log
from aivlingual_tests.fakes.provider_server import Fault

from .concurrency_workers import generate
from .test_providers import Gloss

WORKERS = 4


def _env(provider_server, database_url, home) -> dict[str, str]:
    env = {k: v for k, v in provider_server.env().items() if not k.startswith(("GEMINI", "GOOGLE"))}
    env.update({"AIVLINGUAL_DATABASE_URL": database_url, "AIVLINGUAL_HOME": str(home),
                "AIV_TEST_WORKERS": str(WORKERS)})
    return env


def _run_all(args_list):
    ctx = multiprocessing.get_context("fork")  # children start with everything imported
    with ctx.Pool(len(args_list)) as pool:
        return pool.starmap(generate, args_list, chunksize=1)


@pytest.mark.slow
def test_concurrent_identical_requests_make_exactly_one_provider_call(provider_server, database_url, aiv_home,
                                                                      monkeypatch, tmp_path):
    monkeypatch.delenv("GEMINI_API_KEY")
    # a slow answer keeps the first call in flight while the others arrive
    provider_server.set_responder("openai.chat", lambda req: Fault.delay(1.5))
    env = _env(provider_server, database_url, aiv_home)
    results = _run_all([(env, "同じ質問", str(tmp_path / "barrier"))] * WORKERS)
    assert provider_server.count("openai.chat") == 1
    assert len({r["text"] for r in results}) == 1
    assert sum(not r["cache_hit"] for r in results) == 1


@pytest.mark.slow
def test_concurrent_callers_cannot_overshoot_the_budget(provider_server, database_url, aiv_home, monkeypatch,
                                                        tmp_path):
    monkeypatch.delenv("GEMINI_API_KEY")
    # calls that reach the provider are held there until every worker has either been refused or
    # arrived, so the served ones keep their reservations while the others ask: no timing luck involved
    release = threading.Event()

    def hold(req):
        release.wait(60)
        return None  # then the default answer

    provider_server.set_responder("openai.chat", hold)
    env = _env(provider_server, database_url, aiv_home)
    probe = AICore(AISettings.from_env(database_url=database_url))
    cheapest = probe.candidates(kind="text", request_type="gloss", tier="cheap", provider=None, model=None,
                                selection_mode="auto")[0]
    # room for two worst-case calls, not three (every prompt has the same length, so the same estimate)
    per_call = probe._estimate(cheapest.config, "distinct prompt number 0", None, Gloss, {"max_tokens": 100})
    budget = per_call * 2.5
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(WORKERS) as pool:
        pending = [pool.apply_async(generate, (env, f"distinct prompt number {i}", str(tmp_path / "barrier"), budget))
                   for i in range(WORKERS)]
        deadline = time.monotonic() + 60
        while (sum(p.ready() for p in pending) + provider_server.count("openai.chat") < WORKERS
               and time.monotonic() < deadline):
            time.sleep(0.02)
        with probe.ledger.connect() as conn:
            held = conn.execute(sa.select(budget_reservations.c.amount)).scalars().all()
        in_flight = provider_server.count("openai.chat")
        release.set()
        results = [p.get(timeout=120) for p in pending]
    # at the peak: exactly two calls in flight, reserving exactly two worst cases, within the budget
    assert in_flight == 2
    assert held == pytest.approx([per_call, per_call]) and sum(held) <= budget
    refused = [r for r in results if r.get("error") == "budget"]
    served = [r for r in results if "text" in r]
    assert (len(served), len(refused)) == (2, WORKERS - 2)
    assert all("Monthly AI budget for all channels would be exceeded" in r["message"] for r in refused)
    with probe.ledger.connect() as conn:
        spent = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(usage_log.c.cost_usd), 0.0))).scalar_one()
        left_reserved = conn.execute(sa.select(sa.func.count()).select_from(budget_reservations)).scalar_one()
        failures = conn.execute(sa.select(sa.func.count()).select_from(usage_log)
                                .where(usage_log.c.success.is_(False))).scalar_one()
    assert spent == pytest.approx(sum(r["cost"] for r in served)) and 0 < spent <= budget
    assert left_reserved == 0 and failures == 0
    assert provider_server.count("openai.chat") == 2
