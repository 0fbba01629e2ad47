"""Cached input tokens: read from both SDKs' usage, logged, priced at the cached-input price, reported.

The fake servers report cached prompt tokens as the real APIs do when a request repeats the
prefix of an earlier one (see ``aivlingual_tests.fakes.prompt_cache``), so every figure here
comes through the real openai and google-genai SDKs.
"""

from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from aivlingual_assets.ai import AICore, AISettings
from aivlingual_assets.ai.ledger import Ledger, provider_configs, usage_log
from aivlingual_assets.ai.usage_report import format_report, usage_report
from aivlingual_assets.analysis.schemas import Category, Expression, TranscriptLine
from aivlingual_assets.analysis.tasks import AssessLevels, ExtractExpressions
from aivlingual_assets.publishing.clip_planner import ClipExpression
from aivlingual_assets.publishing.upload_metadata import UploadSubject, WriteUploadCopy

# a shared instruction block long enough for the providers' prompt caches (1,024 tokens and more)
GLOSSARY = "You explain Japanese stream slang to learners. Glossary of the channel:\n" + "\n".join(
    f"- 用語{i}: 配信でよく使われる表現その{i}。意味と使い方を短く説明すること。" for i in range(60))


class Gloss(BaseModel):
    word: str
    meaning: str


def core() -> AICore:
    return AICore(AISettings.from_env(retry_base_seconds=0.01, retry_max_seconds=0.2))


def usage_rows(ai: AICore) -> list[dict]:
    with ai.ledger.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(usage_log).order_by(usage_log.c.id))]


@pytest.mark.parametrize(
    ("only", "model", "input_price", "cached_price", "output_price"),
    [("openai", "gpt-5-nano", 0.05, 0.005, 0.40), ("gemini", "gemini-2.5-flash-lite", 0.10, 0.025, 0.40)],
)
def test_cached_prompt_tokens_are_logged_priced_and_reported(provider_server, monkeypatch, only, model,
                                                             input_price, cached_price, output_price):
    monkeypatch.delenv("GEMINI_API_KEY" if only == "openai" else "OPENAI_API_KEY")
    ai = core()
    with ai.meter() as meter:
        first = ai.generate_text("gloss", "草 とは?", system=GLOSSARY, schema=Gloss)
        second = ai.generate_text("gloss", "てぇてぇ とは?", system=GLOSSARY, schema=Gloss)
    assert (first.provider, first.model) == (only, model)
    # the second request repeats the first one's system prompt: the provider read it from its cache
    assert provider_server.cached_prompt_tokens[0] == 0
    cached = provider_server.cached_prompt_tokens[1]
    assert 1024 <= cached < second.input_tokens
    rows = usage_rows(ai)
    assert [r["cached_input_tokens"] for r in rows] == [0, cached]
    expected = ((second.input_tokens - cached) * input_price + cached * cached_price
                + second.output_tokens * output_price) / 1e6
    assert second.cost_usd == pytest.approx(expected) and rows[1]["cost_usd"] == pytest.approx(expected)
    saved = cached * (input_price - cached_price) / 1e6
    assert rows[1]["prompt_cache_saved_usd"] == pytest.approx(saved) and rows[0]["prompt_cache_saved_usd"] == 0
    assert first.cost_usd == pytest.approx((first.input_tokens * input_price + first.output_tokens * output_price) / 1e6)

    assert meter.cached_input_tokens == cached
    assert meter.metadata()["ai/prompt_cache_saved_usd"] == pytest.approx(round(saved, 6))
    report = usage_report(ai.ledger, days=1)
    assert report.cached_input_tokens == cached and report.prompt_cache_saved_usd == pytest.approx(round(saved, 6))
    assert f"saved by prompt caching  ${saved:.4f}" in format_report(report)
    # a cache hit of our own pays nothing and reads nothing from the provider's cache
    assert ai.generate_text("gloss", "草 とは?", system=GLOSSARY, schema=Gloss).cache_hit
    assert usage_rows(ai)[-1]["cached_input_tokens"] == 0


def test_a_short_prompt_is_never_cached_by_the_provider(provider_server, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    ai = core()
    ai.generate_text("gloss", "草 とは?", system="Explain slang.", schema=Gloss)
    ai.generate_text("gloss", "てぇてぇ とは?", system="Explain slang.", schema=Gloss)
    assert provider_server.cached_prompt_tokens == [0, 0]
    assert [r["prompt_cache_saved_usd"] for r in usage_rows(ai)] == [0, 0]


def _lines(texts: list[str], start: float = 0.0) -> list[TranscriptLine]:
    return [TranscriptLine(start=start + 5 * i, end=start + 5 * i + 4, text=t) for i, t in enumerate(texts)]


def _request_text(body: dict) -> str:
    """A chat request as the provider lays it out for its prompt cache: schema, then the messages in order."""
    return json.dumps(body.get("response_format"), ensure_ascii=False) + "".join(
        f"\n{m['role']}: {m['content']}" for m in body["messages"])


@pytest.mark.parametrize("task, inputs", [
    (ExtractExpressions(), (_lines(["今日のスパチャ読みます", "マジで草"]), _lines(["おつぺこ", "ガチで神回"], 600.0))),
    (AssessLevels(), tuple(
        [Expression(expression=w, lemma=w, reading="くさ", meaning="lol", category=Category.slang, explanation="-",
                    example=w, start=0.0, end=1.0)] for w in ("草", "てぇてぇ"))),
    (WriteUploadCopy(), tuple(
        UploadSubject(kind="short", index=i, recording="file-abc", title="コラボ配信", channel="ch", url=None, link=None,
                      start=10.0 * i, end=10.0 * i + 30, expressions=[ClipExpression(expression=w, start=10.0 * i)],
                      lines=[f"{w}って言った"]) for i, w in ((1, "草"), (2, "てぇてぇ")))),
])
def test_prompts_put_the_shared_part_first_and_the_recording_last(provider_server, monkeypatch, task, inputs):
    """Two requests of a task share everything up to the recording's own text, which comes last."""
    monkeypatch.delenv("GEMINI_API_KEY")
    ai = core()
    for task_input in inputs:
        ai.run_task(task, task_input)
    first, second = (_request_text(r.body) for r in provider_server.find("openai.chat"))
    shared = os.path.commonprefix([first, second])
    own = [task.prompt(i) for i in inputs]
    # the schema, the system prompt and the task's own instructions are all in the shared prefix ...
    assert len(shared) >= len(first) - len(own[0]) + len(os.path.commonprefix(own))
    assert len(shared) > 0.8 * len(first)
    # ... and the recording's text ends the request
    assert first.endswith(own[0]) and second.endswith(own[1])


def test_an_older_ledger_gets_the_prompt_cache_columns_and_the_catalogue_prices(database_url):
    """On SQLite and PostgreSQL."""
    url = database_url
    ai = AICore(AISettings.from_env(database_url=url))
    ledger = ai.ledger
    ledger.update_model("openai", "gpt-4.1", "text", input_per_1m=1.5)  # a price the user set
    with ledger.engine.begin() as conn:  # back to the version-1 schema
        conn.execute(sa.text("ALTER TABLE aiv_usage_log DROP COLUMN cached_input_tokens"))
        conn.execute(sa.text("ALTER TABLE aiv_usage_log DROP COLUMN prompt_cache_saved_usd"))
        conn.execute(sa.text("ALTER TABLE aiv_provider_configs DROP COLUMN cached_input_per_1m"))
        conn.execute(sa.text("UPDATE aiv_schema_info SET version = 1"))
        conn.execute(sa.text("INSERT INTO aiv_usage_log (ts, request_type, kind, input_tokens, output_tokens, "
                             "cost_usd, saved_usd, latency_ms, cache_hit, selection_mode, success) "
                             "VALUES (1, 'old', 'text', 10, 5, 0.1, 0, 1, false, 'auto', true)"))
    upgraded = AICore(AISettings.from_env(database_url=url)).ledger
    assert upgraded.schema_version() == 2
    prices = {(m["provider"], m["model"], m["kind"]): m["cached_input_per_1m"] for m in upgraded.models()}
    assert prices[("openai", "gpt-4o-mini", "text")] == 0.075
    assert prices[("gemini", "gemini-2.5-flash", "text")] == 0.075
    assert prices[("openai", "gpt-4.1", "text")] is None  # its input price is the user's: no discount is guessed
    with upgraded.connect() as conn:
        old = conn.execute(sa.select(usage_log.c.cached_input_tokens, usage_log.c.prompt_cache_saved_usd)).one()
    assert tuple(old) == (0, 0.0)
    assert usage_report(upgraded, days=100000).prompt_cache_saved_usd == 0.0


def test_set_price_sets_the_cached_input_price(aiv_home, capsys):
    from aivlingual_assets.cli import main

    assert main(["providers", "set-price", "openai", "gpt-4o-mini", "--kind", "text",
                 "--cached-input-per-1m", "0.05"]) == 0
    ledger = Ledger(f"sqlite:///{aiv_home / 'ledger.sqlite3'}")
    with ledger.connect() as conn:
        price = conn.execute(sa.select(provider_configs.c.cached_input_per_1m).where(
            provider_configs.c.model == "gpt-4o-mini", provider_configs.c.kind == "text")).scalar_one()
    assert price == 0.05
    assert main(["providers", "list"]) == 0
    listing = capsys.readouterr().out
    assert "0.05/1M cached" in listing
    diarising = [line for line in listing.splitlines() if "diarises" in line]
    assert {line.split()[1] for line in diarising} == {"gpt-4o-transcribe-diarize", "gemini-2.5-flash-lite"}
