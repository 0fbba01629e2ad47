"""Several processes at once: exactly one provider call per request, and budgets that cannot be overshot."""

from __future__ import annotations

import multiprocessing
import os

import pytest
import sqlalchemy as sa

from aivlingual_assets.ai import AICore, AISettings
from aivlingual_assets.ai.ledger import usage_log
from aivlingual_tests.fakes.provider_server import Fault

from .concurrency_workers import generate

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
    provider_server.set_responder("openai.chat", lambda req: Fault.delay(1.0))
    env = _env(provider_server, database_url, aiv_home)
    os.environ.update({"AIVLINGUAL_DATABASE_URL": database_url})
    probe = AICore(AISettings.from_env(database_url=database_url))
    cheapest = probe.candidates(kind="text", request_type="gloss", tier="cheap", provider=None, model=None,
                                selection_mode="auto")[0]
    # room for two worst-case calls, not three
    per_call = probe._estimate(cheapest.config, "distinct prompt number 0", None,
                               __import__("aivlingual_tests.ai.test_providers", fromlist=["Gloss"]).Gloss,
                               {"max_tokens": 100})
    budget = per_call * 2.5
    results = _run_all([(env, f"distinct prompt number {i}", str(tmp_path / "barrier"), budget)
                        for i in range(WORKERS)])
    refused = [r for r in results if r.get("error") == "budget"]
    served = [r for r in results if "text" in r]
    assert len(served) >= 1 and len(refused) >= 1
    with probe.ledger.connect() as conn:
        spent = conn.execute(sa.select(sa.func.sum(usage_log.c.cost_usd))).scalar_one()
    assert spent <= budget
    assert provider_server.count("openai.chat") == len(served)
