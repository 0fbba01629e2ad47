"""A provider answering 500 and 429 for a while: the pipeline completes through retries and fallback,
and the monthly budget is never overshot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from aivlingual_assets.ai.ledger import Ledger, usage_log
from aivlingual_assets.cli import main
from aivlingual_assets.settings import database_url
from aivlingual_tests.fakes.llm_responders import pipeline_model
from aivlingual_tests.fakes.provider_server import Fault

ROOT = Path(__file__).resolve().parents[2]
BUDGET = 0.05


@pytest.mark.slow
def test_outage_is_ridden_out_and_the_budget_holds(provider_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("AIVLINGUAL_MONTHLY_BUDGET_USD", str(BUDGET))
    provider_server.set_responder(["openai.chat", "gemini.generate"], pipeline_model)
    # OpenAI is down for a while (more failures than one model's retries), Gemini stutters once
    provider_server.inject("openai.chat", *[Fault.status(500), Fault.status(429, retry_after=0.2),
                                             Fault.status(503), Fault.status(500)] * 2)
    provider_server.inject("gemini.generate", Fault.status(429, retry_after=0.2))
    shutil.copy(ROOT / "examples" / "sample_stream.ja.srt", tmp_path / "s.ja.srt")

    assert main(["process", str(tmp_path / "s.ja.srt")]) == 0, capsys.readouterr().out
    ledger = Ledger(database_url())
    with ledger.connect() as conn:
        spent = conn.execute(sa.select(sa.func.sum(usage_log.c.cost_usd))).scalar_one()
        failures = conn.execute(sa.select(sa.func.count()).where(usage_log.c.success.is_(False))).scalar_one()
        providers = set(conn.execute(sa.select(usage_log.c.provider).where(usage_log.c.success.is_(True))).scalars())
    assert 0 < spent <= BUDGET
    assert failures >= 8  # every failed attempt is in the usage log
    assert "gemini" in providers  # fallback took over while OpenAI was down
    assert provider_server.pending_faults() == 0


@pytest.mark.slow
def test_a_hung_provider_fails_the_recording_at_the_deadline_and_the_rerun_completes(provider_server, tmp_path,
                                                                                       monkeypatch, capsys):
    import threading
    import time

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("AIVLINGUAL_AI_CALL_DEADLINE_S", "10")
    recovered = threading.Event()

    def hung_until_recovered(request):
        if not recovered.is_set():
            recovered.wait(timeout=300)
            return Fault.disconnect()
        return pipeline_model(request)

    provider_server.set_responder("openai.chat", hung_until_recovered)
    shutil.copy(ROOT / "examples" / "sample_stream.ja.srt", tmp_path / "s.ja.srt")
    started = time.monotonic()
    try:
        status = main(["process", str(tmp_path / "s.ja.srt"), "--skip-stock"])
    finally:
        recovered.set()
    elapsed = time.monotonic() - started
    out = capsys.readouterr()
    assert status != 0
    assert "deadline of 10 s" in out.out + out.err  # the one-line cause names the deadline
    assert elapsed < 120, elapsed  # not 4 attempts x 60 s per model and call

    assert main(["process", str(tmp_path / "s.ja.srt"), "--skip-stock"]) == 0, capsys.readouterr().out
    ledger = Ledger(database_url())
    with ledger.connect() as conn:
        errors = conn.execute(sa.select(usage_log.c.error).where(usage_log.c.success.is_(False))).scalars().all()
    # the hung attempt is in the usage log (or, on a machine so loaded that loading the SDK took the whole
    # deadline, the attempt it prevented)
    assert any("timed out" in e or "deadline passed" in e for e in errors), errors
