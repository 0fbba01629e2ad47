"""The AI core with no provider configured: offline engine, cache, ledger and metering."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from aivlingual_assets.ai import AICore, AISettings, OfflineUnsupportedError
from aivlingual_assets.ai.ledger import SCHEMA_VERSION, ai_memory, usage_log
from aivlingual_assets.resources import AICoreResource


class Word(BaseModel):
    word: str
    reading: str


def make_core(database_url, home, **overrides) -> AICore:
    return AICore(AISettings.from_env(database_url=database_url, home=home, **overrides))


def test_resource_works_with_no_arguments_and_no_keys(aiv_home):
    ai = AICoreResource()
    result = ai.generate_text("demo.word", "推し", schema=Word, offline=lambda: Word(word="推し", reading="おし"))
    assert result.provider == "offline" and result.cost_usd == 0.0
    assert result.parsed == Word(word="推し", reading="おし")
    assert (aiv_home / "ledger.sqlite3").exists()


def test_second_identical_request_is_a_free_logged_cache_hit(database_url, aiv_home):
    core = make_core(database_url, aiv_home)
    calls = []

    def offline():
        calls.append(1)
        return Word(word="草", reading="くさ")

    first = core.generate_text("demo.word", "草", schema=Word, offline=offline)
    second = core.generate_text("demo.word", "草", schema=Word, offline=offline)
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert len(calls) == 1
    assert second.parsed == first.parsed and second.cost_usd == 0.0
    with core.ledger.connect() as conn:
        hits = conn.execute(sa.select(usage_log.c.cache_hit).order_by(usage_log.c.id)).scalars().all()
        usage = conn.execute(sa.select(ai_memory.c.usage_count)).scalar_one()
    assert hits == [False, True]
    assert usage == 2


def test_prompt_changes_miss_the_cache_but_whitespace_does_not(aiv_home):
    core = make_core(f"sqlite:///{aiv_home / 'l.db'}", aiv_home)
    core.generate_text("demo", "line one\nline two", schema=Word, offline=lambda: Word(word="a", reading="a"))
    same = core.generate_text("demo", "line one  \r\nline two\n", schema=Word, offline=lambda: Word(word="b", reading="b"))
    other = core.generate_text("demo", "line one\nline 2", schema=Word, offline=lambda: Word(word="c", reading="c"))
    assert same.cache_hit and same.parsed.word == "a"
    assert not other.cache_hit and other.parsed.word == "c"


def test_force_refresh_bypasses_the_cache(aiv_home):
    core = make_core(f"sqlite:///{aiv_home / 'l.db'}", aiv_home)
    core.generate_text("demo", "x", schema=Word, offline=lambda: Word(word="old", reading="o"))
    fresh = core.generate_text("demo", "x", schema=Word, offline=lambda: Word(word="new", reading="n"),
                               force_refresh=True)
    again = core.generate_text("demo", "x", schema=Word, offline=lambda: Word(word="never", reading="n"))
    assert not fresh.cache_hit and fresh.parsed.word == "new"
    assert again.cache_hit and again.parsed.word == "new"


def test_offline_engine_refuses_arbitrary_prompts_naming_the_keys_to_set(aiv_home):
    core = make_core(f"sqlite:///{aiv_home / 'l.db'}", aiv_home)
    with pytest.raises(OfflineUnsupportedError, match="OPENAI_API_KEY") as err:
        core.generate_text("free.chat", "Tell me a joke")
    assert "GEMINI_API_KEY" in str(err.value)
    with pytest.raises(OfflineUnsupportedError, match="transcription"):
        (aiv_home / "a.wav").write_bytes(b"RIFF")
        core.transcribe(aiv_home / "a.wav")


def test_invalid_offline_output_is_never_cached(aiv_home):
    core = make_core(f"sqlite:///{aiv_home / 'l.db'}", aiv_home)
    with pytest.raises(Exception):
        core.generate_text("demo", "bad", schema=Word, offline=lambda: {"word": "missing reading"})
    with core.ledger.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ai_memory)).scalar_one() == 0


def test_offline_embeddings_are_cached_and_metered(aiv_home):
    core = make_core(f"sqlite:///{aiv_home / 'l.db'}", aiv_home)
    with core.meter() as meter:
        first = core.embed(["てぇてぇ", "てえてえ", "配信"])
        second = core.embed(["てぇてぇ", "配信", "新しい"])
    assert first.vectors.shape[0] == 3 and first.cache_misses == 3
    assert second.cache_hits == 2 and second.cache_misses == 1
    assert (second.vectors[0] == first.vectors[0]).all()
    assert meter.cache_hits == 2 and meter.requests == 2
    md = meter.metadata()
    for key in ("ai/api_calls", "ai/cache_hits", "ai/input_tokens", "ai/output_tokens", "ai/cost_usd"):
        assert key in md


def test_meter_turns_calls_into_asset_metadata(aiv_home):
    ai = AICoreResource()
    with ai.meter() as meter:
        ai.generate_text("demo", "a", schema=Word, offline=lambda: Word(word="a", reading="a"))
        ai.generate_text("demo", "a", schema=Word, offline=lambda: Word(word="a", reading="a"))
        ai.generate_text("demo", "b", schema=Word, offline=lambda: Word(word="b", reading="b"))
    md = meter.metadata()
    assert md["ai/api_calls"] == 2 and md["ai/cache_hits"] == 1 and md["ai/requests"] == 3
    assert md["ai/cost_usd"] == 0.0


def test_ledger_is_created_with_a_schema_version(database_url, aiv_home):
    core = make_core(database_url, aiv_home)
    assert core.ledger.schema_version() == SCHEMA_VERSION
    tables = set(sa.inspect(core.ledger.engine).get_table_names())
    assert {"aiv_provider_configs", "aiv_ai_memory", "aiv_usage_log", "aiv_training_data",
            "aiv_training_runs"} <= tables
    # the default catalogue is seeded once, with prices and their sources
    models = core.ledger.models()
    assert any(m["provider"] == "openai" and m["kind"] == "text" for m in models)
    assert all(m["price_source"] for m in models)
    make_core(database_url, aiv_home)  # opening again neither fails nor duplicates
    assert len(core.ledger.models()) == len(models)


def test_migrations_upgrade_an_older_ledger(aiv_home, monkeypatch):
    from aivlingual_assets.ai import ledger as ledger_module

    url = f"sqlite:///{aiv_home / 'old.db'}"
    ledger_module.Ledger(url)
    applied = []

    def add_note_column(conn):
        applied.append(True)
        conn.execute(sa.text("ALTER TABLE aiv_usage_log ADD COLUMN note TEXT"))

    monkeypatch.setattr(ledger_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(ledger_module.MIGRATIONS, SCHEMA_VERSION + 1, add_note_column)
    upgraded = ledger_module.Ledger(url)
    assert applied == [True]
    assert upgraded.schema_version() == SCHEMA_VERSION + 1
    assert "note" in {c["name"] for c in sa.inspect(upgraded.engine).get_columns("aiv_usage_log")}
