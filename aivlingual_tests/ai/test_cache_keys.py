"""Everything that changes a model's output changes the cache key; nothing else does."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from aivlingual_assets.ai import AICore, AISettings, AITask
from aivlingual_assets.ai.cache_key import text_cache_key, text_cache_keys


class Word(BaseModel):
    word: str
    reading: str


class DescribedWord(BaseModel):
    """Same fields, another schema: the model is told something different."""

    word: str = Field(description="the word as written")
    reading: str


BASE = dict(request_type="gloss", prompt="草 とは?", system="Be brief.", schema=Word, provider="openai",
            model="gpt-5-nano", options={"temperature": 0.2, "max_tokens": 100, "task_version": "1"})

CHANGES = {
    "request type": {"request_type": "gloss.v2"},
    "prompt": {"prompt": "草 とは？"},
    "system prompt": {"system": "Be very brief."},
    "no system prompt": {"system": None},
    "schema": {"schema": DescribedWord},
    "dict schema": {"schema": {**Word.model_json_schema(), "required": ["word"]}},
    "no schema": {"schema": None},
    "temperature": {"options": {**BASE["options"], "temperature": 0.3}},
    "max tokens": {"options": {**BASE["options"], "max_tokens": 200}},
    "another option": {"options": {**BASE["options"], "seed": 7}},
    "task version": {"options": {**BASE["options"], "task_version": "2"}},
    "model": {"model": "gpt-4o-mini"},
    "provider": {"provider": "local"},
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_each_output_relevant_field_changes_the_key(change):
    assert text_cache_key(**{**BASE, **CHANGES[change]}) != text_cache_key(**BASE)


def test_option_order_routing_options_and_whitespace_keep_the_key():
    reordered = dict(reversed(list(BASE["options"].items())))
    assert list(reordered) != list(BASE["options"])
    same = [
        {"options": reordered},
        {"options": {**BASE["options"], "premium": True, "important": True}},  # routing only: the model is keyed
        {"prompt": "草 とは?  \r\n", "system": "\nBe brief.\n"},
        {"offline_fingerprint": "engine-2"},  # ignored for a language model
    ]
    for change in same:
        assert text_cache_key(**{**BASE, **change}) == text_cache_key(**BASE), change


def test_the_offline_fingerprint_keys_offline_answers_only():
    offline = {**BASE, "provider": "offline", "model": "aivlingual-offline-1"}
    assert text_cache_key(**offline, offline_fingerprint="a") != text_cache_key(**offline, offline_fingerprint="b")
    assert text_cache_key(**offline, offline_fingerprint="a") != text_cache_key(**offline)
    assert text_cache_key(**BASE, offline_fingerprint="a") == text_cache_key(**BASE, offline_fingerprint="b")


class Define(AITask[str, Word]):
    request_type = "test.cachekey.define"
    version = "1"
    output_schema = Word
    system = "Give the word and its reading."

    def prompt(self, word: str) -> str:
        return f"Define {word}"

    def offline(self, word: str) -> Word:
        return Word(word=word, reading="くさ")


class DefineV2(Define):
    version = "2"


def test_the_core_misses_on_each_change_and_hits_on_reordered_options(aiv_home):
    ai = AICore(AISettings.from_env(database_url=f"sqlite:///{aiv_home / 'l.db'}", home=aiv_home))
    answer = lambda: Word(word="草", reading="くさ")  # noqa: E731
    base = dict(system="Be brief.", schema=Word, options={"temperature": 0.2, "max_tokens": 100}, offline=answer)
    assert not ai.generate_text("gloss", "草", **base).cache_hit
    variants = {
        "system prompt": {**base, "system": "Be very brief."},
        "schema": {**base, "schema": DescribedWord},
        "temperature": {**base, "options": {"temperature": 0.3, "max_tokens": 100}},
        "other option": {**base, "options": {"temperature": 0.2, "max_tokens": 100, "top_p": 0.9}},
    }
    for name, kwargs in variants.items():
        assert not ai.generate_text("gloss", "草", **kwargs).cache_hit, name
    reordered = {**base, "options": {"max_tokens": 100, "temperature": 0.2}}
    assert ai.generate_text("gloss", "草", **reordered).cache_hit
    assert not ai.run_task(Define(), "草").cache_hit
    assert ai.run_task(Define(), "草").cache_hit
    assert not ai.run_task(DefineV2(), "草").cache_hit  # a new task version is a new question


def test_the_core_misses_on_another_model_or_provider(provider_server, aiv_home):
    ai = AICore(AISettings.from_env(retry_base_seconds=0.01))

    def ask(provider: str, model: str):
        return ai.generate_text("gloss", "草", schema=Word, provider=provider, model=model, selection_mode="manual")

    first = ask("openai", "gpt-5-nano")
    other_model = ask("openai", "gpt-4o-mini")
    other_provider = ask("gemini", "gemini-2.5-flash-lite")
    assert [r.cache_hit for r in (first, other_model, other_provider)] == [False, False, False]
    assert len({first.cache_key, other_model.cache_key, other_provider.cache_key}) == 3
    assert all(ask(*pair).cache_hit for pair in [("openai", "gpt-5-nano"), ("openai", "gpt-4o-mini"),
                                                 ("gemini", "gemini-2.5-flash-lite")])
    assert provider_server.count("openai.chat") == 2 and provider_server.count("gemini.generate") == 1


def _spec_key(*, request_type, prompt, system, schema, provider, model, options, offline_fingerprint=""):
    """The key as the ledger has always stored it: SHA-256 of the canonical JSON of the request."""
    import hashlib
    import json
    import unicodedata

    from aivlingual_assets.ai.cache_key import output_options, schema_fingerprint

    def normalised(text):
        text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
        return "\n".join(line.rstrip() for line in text.split("\n")).strip()

    payload = {"request_type": request_type, "prompt": normalised(prompt), "system": normalised(system),
               "schema": schema_fingerprint(schema), "provider": provider, "model": model,
               "options": output_options(options)}
    if offline_fingerprint and provider == "offline":
        payload["offline_engine"] = offline_fingerprint
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


ODD_TEXTS = ["", "草 とは?", "  a\u3000\n\n b \t\r\nc\x0b\x1c\n\u2028 \n", "e\u0301\u00e9 \"quoted\" \\ \x00 \U0001f600",
             "\n\n  only blank lines  \n \n", "line\x85\nnext\u00a0"]


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_keys_of_all_candidates_at_once_equal_the_stored_keys(text):
    models = [("openai", "gpt-5-nano"), ("gemini", "gemini-2.5-flash-lite"), ("offline", "aivlingual-offline-1")]
    for schema in (Word, {"type": "object", "é": [1, 2.5, None]}, None):
        request = dict(request_type="gloss", prompt=text, system=text or None, schema=schema,
                       options={"b": {"z": 1, "a": [text]}, "a": 0.5, "premium": True, "when": object.__class__},
                       offline_fingerprint="engine-7")
        keys = text_cache_keys(models=models, **request)
        assert keys == [_spec_key(provider=p, model=m, **request) for p, m in models]
        assert keys == [text_cache_key(provider=p, model=m, **request) for p, m in models]
