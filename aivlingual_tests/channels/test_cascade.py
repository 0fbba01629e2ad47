"""Channel setting -> service default (environment) -> provider default, and where each value came from."""

from __future__ import annotations

import pytest

from aivlingual_assets.ai.budgets import Budgets
from aivlingual_assets.channels import ChannelError, ModelChoice, resolve


def test_each_level_of_the_cascade_and_its_origin(store, monkeypatch):
    pekora = store.add("pekora", {"tts_voice": "nova"})
    other = store.add("marine")
    monkeypatch.setenv("AIVLINGUAL_TTS_VOICE", "alloy")
    assert (resolve("tts_voice", pekora).value, resolve("tts_voice", pekora).origin) == ("nova", "channel pekora")
    service = resolve("tts_voice", other)
    assert (service.value, service.source, service.origin) == ("alloy", "service", "environment AIVLINGUAL_TTS_VOICE")
    monkeypatch.delenv("AIVLINGUAL_TTS_VOICE")
    assert resolve("tts_voice", other).source == "default" and resolve("tts_voice", other).value is None
    from aivlingual_assets.publishing.anki_deck import DEFAULT_DECK_NAME

    assert resolve("anki_deck_name", other).value == DEFAULT_DECK_NAME  # the deck learners have: its id is kept
    assert resolve("outputs.shorts", None).value is True


def test_unsetting_a_channel_value_makes_it_cascade_again(store, monkeypatch):
    monkeypatch.setenv("AIVLINGUAL_TIER_CHEAP", "gemini")
    store.add("pekora", {"tier.cheap": "openai/gpt-4o-mini"})
    assert resolve("tier.cheap", store.get("pekora")).value == ModelChoice("openai", "gpt-4o-mini")
    store.update_settings("pekora", {"tier.cheap": None})
    again = resolve("tier.cheap", store.get("pekora"))
    assert again.value == ModelChoice("gemini") and again.origin == "environment AIVLINGUAL_TIER_CHEAP"


def test_the_monthly_budget_cascades_from_the_channel_to_the_env_entry_to_none(store, monkeypatch, database_url):
    from aivlingual_assets.ai import AISettings
    from aivlingual_assets.ai.ledger import Ledger

    monkeypatch.setenv("AIVLINGUAL_CHANNEL_BUDGETS", "pekora=5, marine=2.5")
    settings = AISettings.from_env(database_url=database_url)
    budgets = Budgets(settings, Ledger(database_url), "owner")
    store.add("pekora", {"monthly_budget_usd": 1.25})
    store.add("marine")
    assert budgets.limits("pekora") == [("channel 'pekora'", "pekora", 1.25)]  # its own setting wins
    assert budgets.limits("marine") == [("channel 'marine'", "marine", 2.5)]  # the env form: service default
    assert budgets.limits("subaru") == []  # neither: no channel budget
    assert resolve("monthly_budget_usd", store.get("marine")).origin == "environment AIVLINGUAL_CHANNEL_BUDGETS"


@pytest.mark.parametrize("name, value", [("outputs.anki", "maybe"), ("monthly_budget_usd", "-1"),
                                         ("tier.cheap", "acme/model"), ("colour", "red")])
def test_bad_settings_are_refused_with_the_reason(name, value):
    from aivlingual_assets.channels.cascade import to_stored

    with pytest.raises(ChannelError):
        to_stored(name, value)


def test_a_bad_service_default_names_its_variable(monkeypatch):
    monkeypatch.setenv("AIVLINGUAL_OUTPUTS_SHORTS", "sometimes")
    with pytest.raises(ChannelError, match="AIVLINGUAL_OUTPUTS_SHORTS"):
        resolve("outputs.shorts", None)
