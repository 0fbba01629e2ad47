"""The AI core against the real OpenAI and Gemini SDKs, talking to a local server that speaks their protocols."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from aivlingual_assets.ai import (
    AICore,
    AISettings,
    AITask,
    AllProvidersFailedError,
    BudgetExceededError,
    InvalidOutputError,
)
from aivlingual_assets.ai.ledger import ai_memory, embedding_cache, usage_log
from aivlingual_tests.fakes.provider_server import Fault


class Gloss(BaseModel):
    word: str
    meaning: str


def core(aiv_home, **overrides) -> AICore:
    overrides.setdefault("retry_base_seconds", 0.01)
    overrides.setdefault("retry_max_seconds", 0.2)
    return AICore(AISettings.from_env(**overrides))


def usage_rows(ai: AICore) -> list[dict]:
    with ai.ledger.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(usage_log).order_by(usage_log.c.id))]


def only_openai(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)


def only_gemini(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_openai_structured_output_is_cached_and_metered(provider_server, monkeypatch, aiv_home):
    only_openai(monkeypatch)
    provider_server.set_responder("openai.chat", lambda req: {"word": "草", "meaning": "lol"})
    ai = core(aiv_home)
    first = ai.generate_text("gloss", "草 とは?", schema=Gloss, endpoint="test", channel="demo")
    second = ai.generate_text("gloss", "草 とは?", schema=Gloss, endpoint="test", channel="demo")
    assert first.parsed == Gloss(word="草", meaning="lol")
    assert (first.provider, first.model) == ("openai", "gpt-5-nano")  # cheapest of the cheap tier
    assert first.input_tokens > 0 and first.output_tokens > 0
    expected = first.input_tokens * 0.05 / 1e6 + first.output_tokens * 0.40 / 1e6
    assert first.cost_usd == pytest.approx(expected)
    assert second.cache_hit and second.cost_usd == 0.0 and second.saved_usd == pytest.approx(first.cost_usd)
    assert provider_server.count("openai.chat") == 1
    sent = provider_server.last("openai.chat").body
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["strict"] is True
    rows = usage_rows(ai)
    assert [r["cache_hit"] for r in rows] == [False, True]
    assert rows[0]["channel"] == "demo" and rows[0]["endpoint"] == "test"


def test_gemini_through_google_gemini_base_url(provider_server, monkeypatch, aiv_home):
    only_gemini(monkeypatch)
    provider_server.set_responder("gemini.generate", lambda req: {"word": "推し", "meaning": "favourite"})
    ai = core(aiv_home)
    result = ai.generate_text("gloss", "推し", schema=Gloss, system="Be brief.")
    assert (result.provider, result.model) == ("gemini", "gemini-2.5-flash-lite")
    assert result.parsed.meaning == "favourite"
    request = provider_server.last("gemini.generate")
    assert request.system == "Be brief."
    assert request.body["generationConfig"]["responseMimeType"] == "application/json"


def test_local_openai_compatible_server_is_free_and_preferred(provider_server, monkeypatch, aiv_home):
    monkeypatch.setenv("AIVLINGUAL_LOCAL_BASE_URL", provider_server.openai_base_url)
    monkeypatch.setenv("AIVLINGUAL_LOCAL_MODEL", "qwen2.5:7b")
    ai = core(aiv_home)
    result = ai.generate_text("gloss", "ガチ", schema=Gloss)
    assert (result.provider, result.model, result.cost_usd) == ("local", "qwen2.5:7b", 0.0)
    assert "max_tokens" in provider_server.last("openai.chat").body


def test_tiers_follow_options_and_manual_mode_uses_exactly_what_is_named(provider_server, monkeypatch, aiv_home):
    ai = core(aiv_home)
    tier_of = {(m["provider"], m["model"]): m["tier"] for m in ai.ledger.models(kind="text")}
    premium = ai.generate_text("gloss", "a", schema=Gloss, options={"premium": True})
    normal = ai.generate_text("gloss", "b", schema=Gloss, options={"important": True})
    cheap = ai.generate_text("gloss", "b2", schema=Gloss)
    assert tier_of[(premium.provider, premium.model)] == "premium"
    assert tier_of[(normal.provider, normal.model)] == "normal"
    assert tier_of[(cheap.provider, cheap.model)] == "cheap"
    # cheapest of its tier (blended price: a request reads about twice what it writes)
    assert premium.model == "gpt-4.1" and normal.model == "gpt-4.1-mini" and cheap.model == "gpt-5-nano"
    manual = ai.generate_text("gloss", "c", schema=Gloss, provider="gemini", model="gemini-2.5-pro",
                              selection_mode="manual")
    assert (manual.provider, manual.model) == ("gemini", "gemini-2.5-pro")
    again = ai.generate_text("gloss", "c", schema=Gloss, provider="gemini", model="gemini-2.5-pro",
                             selection_mode="manual")
    assert again.cache_hit


def test_429_is_retried_honouring_retry_after(provider_server, monkeypatch, aiv_home):
    only_openai(monkeypatch)
    provider_server.inject("openai.chat", Fault.status(429, retry_after=0.3), Fault.status(500))
    ai = core(aiv_home, retry_max_seconds=1.0)
    started = time.monotonic()
    result = ai.generate_text("gloss", "retry me", schema=Gloss)
    assert time.monotonic() - started >= 0.3
    assert not result.cache_hit and provider_server.count("openai.chat") == 3
    failures = [r for r in usage_rows(ai) if not r["success"]]
    assert [("429" in r["error"], "500" in r["error"]) for r in failures] == [(True, False), (False, True)]


def test_timeouts_and_malformed_json_are_retried(provider_server, monkeypatch, aiv_home):
    only_openai(monkeypatch)
    provider_server.inject("openai.chat", Fault.delay(2.0), Fault.malformed_json())
    ai = core(aiv_home, timeout_seconds=0.5)
    assert ai.generate_text("gloss", "slow", schema=Gloss).parsed is not None
    errors = [r["error"] for r in usage_rows(ai) if not r["success"]]
    assert any("timed out" in e for e in errors) and len(errors) == 2


def test_a_provider_down_for_a_while_falls_back_to_the_next_model(provider_server, aiv_home):
    provider_server.fail_always("openai.chat", 503)
    ai = core(aiv_home, max_attempts=2)
    result = ai.generate_text("gloss", "fallback", schema=Gloss)
    assert result.provider == "gemini"
    # the cheapest model (gpt-5-nano) was tried max_attempts times, then the next of the tier answered
    assert provider_server.count("openai.chat") == 2
    assert {r.model for r in provider_server.find("openai.chat")} == {"gpt-5-nano"}
    assert provider_server.count("gemini.generate") == 1


def test_everything_down_is_a_clear_error_and_nothing_is_cached(provider_server, aiv_home):
    provider_server.fail_always("*", 500)
    ai = core(aiv_home, max_attempts=1)
    with pytest.raises(AllProvidersFailedError, match="Every candidate model failed for 'gloss'"):
        ai.generate_text("gloss", "down", schema=Gloss)
    with ai.ledger.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ai_memory)).scalar_one() == 0


def test_invalid_structured_output_gets_one_repair_attempt(provider_server, monkeypatch, aiv_home):
    only_openai(monkeypatch)
    provider_server.inject("openai.chat", Fault.invalid_content('{"word": "草"}'))
    ai = core(aiv_home)
    result = ai.generate_text("gloss", "repair", schema=Gloss)
    assert result.parsed.word == "x"  # the schema-valid default answer of the second call
    assert provider_server.count("openai.chat") == 2
    assert "did not match the required JSON schema" in provider_server.last("openai.chat").user
    assert ai.generate_text("gloss", "repair", schema=Gloss).cache_hit  # the repaired answer is cached


def test_output_still_invalid_after_repair_is_an_error_that_keeps_the_raw_output(provider_server, monkeypatch,
                                                                                 aiv_home):
    only_openai(monkeypatch)
    provider_server.inject("openai.chat", Fault.invalid_content("not json at all"), Fault.invalid_content("[]"))
    ai = core(aiv_home)
    with pytest.raises(InvalidOutputError, match="'gloss'") as err:
        ai.generate_text("gloss", "broken", schema=Gloss)
    raw = open(err.value.raw_output_path, encoding="utf-8").read()
    assert "not json at all" in raw and "[]" in raw
    with ai.ledger.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ai_memory)).scalar_one() == 0


def test_budget_reached_fails_before_any_spend(provider_server, monkeypatch, aiv_home):
    only_openai(monkeypatch)
    ai = core(aiv_home, monthly_budget_usd=0.00001)
    with pytest.raises(BudgetExceededError, match="AIVLINGUAL_MONTHLY_BUDGET_USD"):
        ai.generate_text("gloss", "too expensive", schema=Gloss)
    assert provider_server.count() == 0


def test_channel_budget_applies_to_that_channel_only(provider_server, monkeypatch, aiv_home):
    only_openai(monkeypatch)
    ai = core(aiv_home, channel_budgets={"tight": 0.00001})
    with pytest.raises(BudgetExceededError, match="channel 'tight'"):
        ai.generate_text("gloss", "x", schema=Gloss, channel="tight")
    assert ai.generate_text("gloss", "x", schema=Gloss, channel="other").parsed


def test_embeddings_transcription_and_speech_are_cached(provider_server, monkeypatch, aiv_home, tmp_path):
    only_openai(monkeypatch)
    ai = core(aiv_home)
    vectors = ai.embed(["推し", "草"])
    assert vectors.vectors.shape == (2, 64) and vectors.provider == "openai"
    assert ai.embed(["草"]).cache_hit
    assert provider_server.count("openai.embeddings") == 1

    import wave

    audio = tmp_path / "clip.wav"
    with wave.open(str(audio), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(b"\0\0" * 16000 * 12)
    first = ai.transcribe(audio, language="ja")
    assert first.segments and first.segments[-1]["end"] <= 12.5 and first.model == "whisper-1"
    assert first.cost_usd == pytest.approx(first.duration_seconds / 60 * 0.006)
    assert ai.transcribe(audio, language="ja").cache_hit
    assert provider_server.count("openai.transcriptions") == 1

    speech = ai.generate_audio("推しが尊い", language="ja")
    assert speech.path.exists() and speech.path.stat().st_size > 0
    assert ai.generate_audio("推しが尊い", language="ja").cache_hit
    assert provider_server.count("openai.speech") == 1


def test_secrets_never_reach_the_ledger(provider_server, monkeypatch, aiv_home):
    secret = "sk-test-DO-NOT-LEAK-4242"
    provider_server.require_api_key("the-right-key")
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.setenv("GEMINI_API_KEY", secret)
    ai = core(aiv_home, max_attempts=1)
    with pytest.raises(AllProvidersFailedError) as err:
        ai.generate_text("gloss", "auth", schema=Gloss)
    assert secret not in str(err.value)
    with ai.ledger.connect() as conn:
        for table in sa.inspect(ai.ledger.engine).get_table_names():
            dump = json.dumps([list(r) for r in conn.execute(sa.text(f"SELECT * FROM {table}"))], default=str)
            assert secret not in dump, table


# ---- Gemini on its own ------------------------------------------------------------------------
def _wav(path, seconds: int):
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(b"\0\0" * 16000 * seconds)
    return path


_GEMINI_TRANSCRIPT = {"language": "ja", "segments": [{"start": 0.0, "end": 2.5, "text": "推しが尊い"},
                                                     {"start": 2.5, "end": 5.0, "text": "草"}]}


def _transcript_when_audio(req):
    return _GEMINI_TRANSCRIPT if req.audio is not None else None


def test_gemini_alone_transcribes_into_timed_segments(provider_server, monkeypatch, aiv_home, tmp_path):
    only_gemini(monkeypatch)
    provider_server.set_responder("gemini.generate", _transcript_when_audio)
    ai = core(aiv_home)
    audio = _wav(tmp_path / "clip.wav", 6)
    first = ai.transcribe(audio, language="ja")
    assert (first.provider, first.model, first.cache_hit) == ("gemini", "gemini-2.5-flash-lite", False)
    assert first.segments == _GEMINI_TRANSCRIPT["segments"] and first.language == "ja"
    assert first.duration_seconds == 5.0
    sent = provider_server.last("gemini.generate")
    assert sent.audio is not None and sent.body["generationConfig"]["responseMimeType"] == "application/json"
    # the audio is billed inside Gemini's input tokens: charged once, not again per minute
    row = [r for r in usage_rows(ai) if r["kind"] == "transcription"][0]
    assert row["input_tokens"] > 6 * 32
    assert first.cost_usd == pytest.approx(row["input_tokens"] * 0.10 / 1e6 + row["output_tokens"] * 0.40 / 1e6)
    again = ai.transcribe(audio, language="ja")
    assert again.cache_hit and again.segments == first.segments
    assert provider_server.count("gemini.generate") == 1 and provider_server.count("openai.*") == 0


def test_gemini_alone_embeds_and_caches(provider_server, monkeypatch, aiv_home):
    only_gemini(monkeypatch)
    ai = core(aiv_home)
    first = ai.embed(["推し", "草"])
    assert (first.provider, first.model) == ("gemini", "gemini-embedding-001")
    assert first.vectors.shape == (2, 64) and first.cache_misses == 2
    assert ai.embed(["草", "推し"]).cache_hit
    assert provider_server.count("gemini.embed") == 1 and provider_server.count("openai.*") == 0


def test_an_older_ledger_learns_that_gemini_transcribes_into_segments(provider_server, monkeypatch, aiv_home,
                                                                      tmp_path):
    only_gemini(monkeypatch)
    provider_server.set_responder("gemini.generate", _transcript_when_audio)
    ai = core(aiv_home)
    # a ledger seeded by an older catalogue, where the entry had no capabilities
    ai.ledger.update_model("gemini", "gemini-2.5-flash-lite", "transcription", capabilities="[]")
    reopened = core(aiv_home)
    row = [m for m in reopened.ledger.models(kind="transcription") if m["provider"] == "gemini"][0]
    assert row["capabilities"] == ["segments", "speakers"]
    assert reopened.transcribe(_wav(tmp_path / "a.wav", 3)).provider == "gemini"


# ---- embeddings fall back like text ----------------------------------------------------------
def test_embeddings_fall_back_to_the_next_model_of_the_tier(provider_server, aiv_home, caplog):
    provider_server.fail_always("openai.embeddings", 500)
    ai = core(aiv_home, max_attempts=2)
    with caplog.at_level("WARNING", logger="aivlingual.ai"), ai.meter() as meter:
        result = ai.embed(["推し", "草"])
    assert (result.provider, result.model) == ("gemini", "gemini-embedding-001")
    assert result.vectors.shape == (2, 64)
    assert provider_server.count("openai.embeddings") == 2 and provider_server.count("gemini.embed") == 1
    rows = [r for r in usage_rows(ai) if r["kind"] == "embedding"]
    failed = [r for r in rows if not r["success"]]
    assert failed and {(r["provider"], r["model"]) for r in failed} == {("openai", "text-embedding-3-small")}
    assert all("500" in r["error"] for r in failed)
    assert [(r["provider"], r["success"]) for r in rows if r["success"]] == [("gemini", True)]
    assert "embedding falls back after openai/text-embedding-3-small failed" in caplog.text
    assert meter.failures == len(failed) and meter.api_calls == 1
    assert ai.embed(["草"]).cache_hit  # the fallback's vectors are cached under the fallback model
    assert provider_server.count("gemini.embed") == 1


def test_a_model_failing_part_way_is_dropped_as_a_whole(provider_server, aiv_home):
    # the second batch fails for good on openai: no result may mix two models' vectors
    provider_server.set_responder(
        "openai.embeddings", lambda req: Fault.status(500) if req.inputs == ["草"] else None)
    ai = core(aiv_home, max_attempts=1)
    result = ai.embed(["推し", "草"], batch_size=1)
    assert result.provider == "gemini" and result.cache_misses == 2
    assert provider_server.count("gemini.embed") == 2
    with ai.ledger.connect() as conn:
        stored = sorted(conn.execute(sa.select(embedding_cache.c.provider)).scalars())
    assert stored == ["gemini", "gemini", "openai"]  # what openai did answer stays cached for next time


def test_embeddings_with_every_provider_down_are_a_clear_error(provider_server, aiv_home):
    provider_server.fail_always("*", 500)
    ai = core(aiv_home, max_attempts=1)
    with pytest.raises(AllProvidersFailedError, match="Every candidate model failed for 'vocabulary.embed'") as err:
        ai.embed(["推し"], request_type="vocabulary.embed")
    assert len(err.value.failures) == 2


# ---- typed tasks follow the caller's tier ------------------------------------------------------
class CheapGloss(AITask[str, Gloss]):
    request_type = "test.tier.cheap_gloss"
    version = "1"
    output_schema = Gloss
    tier = "cheap"

    def prompt(self, word: str) -> str:
        return f"Gloss {word}"


class PremiumGloss(CheapGloss):
    request_type = "test.tier.premium_gloss"
    tier = "premium"


def test_run_task_lets_the_caller_raise_or_name_the_tier(provider_server, monkeypatch, aiv_home):
    only_openai(monkeypatch)
    ai = core(aiv_home)
    tier_of = {m["model"]: m["tier"] for m in ai.ledger.models(kind="text") if m["provider"] == "openai"}

    def tier(task, word, **kwargs) -> str:
        return tier_of[ai.run_task(task, word, **kwargs).model]

    assert tier(CheapGloss(), "a") == "cheap"  # the task's own tier by default
    assert tier(CheapGloss(), "b", options={"premium": True}) == "premium"
    assert tier(CheapGloss(), "c", options={"important": True}) == "normal"
    assert tier(CheapGloss(), "d", tier="normal") == "normal"
    assert tier(CheapGloss(), "e", tier="cheap", options={"premium": True}) == "cheap"  # explicit tier wins
    assert tier(PremiumGloss(), "f") == "premium"
    assert tier(PremiumGloss(), "g", options={"important": True}) == "premium"  # raises, never lowers
    sent = [r.body for r in provider_server.find("openai.chat")]
    assert all("premium" not in json.dumps(b) and "important" not in json.dumps(b) for b in sent)


# ---- malformed embeddings answers ------------------------------------------------------------
def test_an_embeddings_answer_without_vectors_is_retried_logged_and_falls_back(provider_server, aiv_home, caplog):
    # OpenAI answers 200 with no vectors: the openai SDK raises ValueError("No embedding data received")
    provider_server.fail_always("openai.embeddings", Fault.no_embeddings())
    ai = core(aiv_home)
    with caplog.at_level("WARNING", logger="aivlingual.ai"):
        result = ai.embed(["推し", "草"], channel="demo")
    assert (result.provider, result.model) == ("gemini", "gemini-embedding-001")
    assert provider_server.count("openai.embeddings") == 4  # every attempt of the first model
    failed = [r for r in usage_rows(ai) if not r["success"]]
    assert len(failed) == 4 and all(r["kind"] == "embedding" and r["provider"] == "openai" for r in failed)
    assert "No embedding data received" in failed[-1]["error"]
    assert "retrying" in caplog.text and "No embedding data received" in caplog.text


def test_no_model_answering_embeddings_is_an_ai_error_with_ledger_rows(provider_server, aiv_home, monkeypatch):
    monkeypatch.setenv("AIVLINGUAL_MONTHLY_BUDGET_USD", "1")  # a reservation is taken and must be freed
    provider_server.fail_always("*embed*", Fault.no_embeddings())
    ai = core(aiv_home, max_attempts=2)
    with pytest.raises(AllProvidersFailedError, match="could not read|No embedding data") as caught:
        ai.embed(["推し"])
    assert "openai/text-embedding-3-small" in str(caught.value) and "gemini/gemini-embedding-001" in str(caught.value)
    failed = [(r["provider"], r["success"]) for r in usage_rows(ai)]
    assert failed == [("openai", False)] * 2 + [("gemini", False)] * 2
    with ai.ledger.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM aiv_budget_reservations")).scalar_one() == 0
