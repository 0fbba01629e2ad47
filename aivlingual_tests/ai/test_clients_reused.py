"""Provider clients and the AI core are built once per process and reused by every later call and run."""

from __future__ import annotations

import google.genai
import openai
import pytest

from aivlingual_assets.ai import AICore, AISettings
from aivlingual_assets.resources import AICoreResource


@pytest.fixture
def built(monkeypatch) -> list[str]:
    """Records every SDK client construction (the classes stay the real ones)."""
    names: list[str] = []

    class CountedOpenAI(openai.OpenAI):
        def __init__(self, *args, **kwargs):
            names.append("openai")
            super().__init__(*args, **kwargs)

    class CountedGenai(google.genai.Client):
        def __init__(self, *args, **kwargs):
            names.append("gemini")
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(openai, "OpenAI", CountedOpenAI)
    monkeypatch.setattr(google.genai, "Client", CountedGenai)
    return names


def test_a_second_call_and_a_second_resource_build_no_new_client_or_core(provider_server, built):
    first = AICoreResource()
    first.generate_text("gloss", "草", provider="openai", model="gpt-5-nano", selection_mode="manual")
    first.generate_text("gloss", "推し", provider="gemini", model="gemini-2.5-flash-lite", selection_mode="manual")
    assert sorted(built) == ["gemini", "openai"]

    second = AICoreResource()  # the next run of the same process
    assert second.core is first.core
    second.generate_text("gloss", "沼", provider="openai", model="gpt-5-nano", selection_mode="manual")
    AICore(AISettings.from_env()).generate_text("gloss", "尊い", provider="gemini", model="gemini-2.5-flash-lite",
                                                selection_mode="manual")
    assert sorted(built) == ["gemini", "openai"]
    assert provider_server.count("openai.chat") == 2 and provider_server.count("gemini.generate") == 2


def test_other_settings_get_their_own_core_and_client(provider_server, built, monkeypatch):
    first = AICoreResource()
    first.generate_text("gloss", "草", provider="openai", model="gpt-5-nano", selection_mode="manual")
    other = AICoreResource(timeout_seconds=30.0)
    assert other.core is not first.core
    other.generate_text("gloss", "沼", provider="openai", model="gpt-5-nano", selection_mode="manual")
    assert built == ["openai", "openai"]
