"""A channel's calls through the real SDKs: its own key reaches the provider, its settings pick the model,
its budget holds under concurrency, and every call is metered to it."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from aivlingual_assets.ai.ledger import budget_reservations, usage_log
from aivlingual_assets.channels import KeyVault
from aivlingual_assets.resources import AICoreResource

from .channel_workers import generate_for_channel

OWN_OPENAI = "sk-pekora-OWN-1a2b3c4d5e6f7a8b9c0d"
OWN_GEMINI = "AIzaMarineOWN-9f8e7d6c5b4a3f2e1d0c"


class Gloss(BaseModel):
    word: str
    meaning: str


def _channels(resource: AICoreResource, database_url: str):
    from aivlingual_assets.channels import channel_store

    return channel_store(database_url)


def _usage(resource: AICoreResource) -> list[tuple]:
    with resource.core.ledger.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(usage_log.c.channel, usage_log.c.provider, usage_log.c.model,
                                                         usage_log.c.cache_hit).order_by(usage_log.c.id))]


def test_a_channels_own_key_reaches_the_provider_and_its_calls_are_metered_to_it(
        provider_server, database_url, master_key, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    resource = AICoreResource(database_url=database_url, retry_base_seconds=0.01)
    store = _channels(resource, database_url)
    store.add("pekora")
    store.add("marine")  # no key of its own: the service's
    KeyVault(store).set_key("pekora", "openai", OWN_OPENAI)

    resource.for_channel("pekora").generate_text("gloss", "草", schema=Gloss)
    resource.for_channel("marine").generate_text("gloss", "船長", schema=Gloss)
    resource.generate_text("gloss", "ぺこ", schema=Gloss)
    assert [r.api_key for r in provider_server.find("openai.chat")] == [OWN_OPENAI, "test", "test"]
    assert [row[0] for row in _usage(resource)] == ["pekora", "marine", None]

    # one client per key and process, reused: the channel's is built once, and is not the service's
    first, second = resource.for_channel("pekora"), resource.for_channel("pekora")
    assert first.core is second.core and first.core.provider("openai") is second.core.provider("openai")
    assert first.core.provider("openai") is not resource.core.provider("openai")


def test_a_channel_key_works_where_the_service_has_none_and_its_settings_pick_the_model(
        provider_server, database_url, master_key, monkeypatch):
    for name in ("OPENAI_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name)
    resource = AICoreResource(database_url=database_url, retry_base_seconds=0.01)
    store = _channels(resource, database_url)
    store.add("marine", {"tier.cheap": "gemini/gemini-2.5-flash-lite"})
    KeyVault(store).set_key("marine", "gemini", OWN_GEMINI)

    result = resource.for_channel("marine").generate_text("gloss", "宝鐘", schema=Gloss)
    assert (result.provider, result.model) == ("gemini", "gemini-2.5-flash-lite")
    assert [r.api_key for r in provider_server.find("gemini.generate")] == [OWN_GEMINI]
    assert resource.core.configured_providers() == []  # the service itself still has no provider
    assert _usage(resource) == [("marine", "gemini", "gemini-2.5-flash-lite", False)]


def test_the_service_default_model_applies_to_channels_that_set_none(provider_server, database_url, monkeypatch):
    monkeypatch.setenv("AIVLINGUAL_REQUEST_GLOSS", "gemini")
    resource = AICoreResource(database_url=database_url, retry_base_seconds=0.01)
    store = _channels(resource, database_url)
    store.add("pekora", {"request.gloss": "openai/gpt-4o-mini"})
    store.add("marine")
    assert resource.for_channel("pekora").generate_text("gloss", "草", schema=Gloss).provider == "openai"
    assert resource.for_channel("marine").generate_text("gloss", "草", schema=Gloss).provider == "gemini"


def _recording_of(database_url: str, channel: str, key: str = "yt-abcdefghijk") -> str:
    from aivlingual_assets.ingestion.recording import Recording
    from aivlingual_assets.storage.recording_registry import RecordingRegistry

    RecordingRegistry(database_url).register(Recording(partition_key=key, source="youtube", title="t"),
                                             channel=channel)
    return key


def test_a_call_that_would_cross_the_recordings_cost_limit_is_not_sent(provider_server, database_url, monkeypatch):
    from aivlingual_assets.channels.recording_costs import RecordingCostLimitError

    monkeypatch.delenv("GEMINI_API_KEY")
    resource = AICoreResource(database_url=database_url, retry_base_seconds=0.01)
    _channels(resource, database_url).add("pekora", {"max_cost_per_recording_usd": 1e-9})
    resource.generate_text("gloss", "草", schema=Gloss)  # the service's answer, cached
    view = resource.for_recording(_recording_of(database_url, "pekora"))
    assert view.name == "pekora"
    with pytest.raises(RecordingCostLimitError) as refused:
        view.generate_text("gloss", "ぺこ", schema=Gloss)  # its worst case alone is over the limit
    assert "max_cost_per_recording_usd=$0.0000 of channel pekora" in str(refused.value)
    assert "was not sent" in str(refused.value)
    assert provider_server.count("openai.chat") == 1  # only the service's call
    assert view.generate_text("gloss", "草", schema=Gloss).cache_hit  # an answer from the cache costs nothing


def test_concurrent_calls_of_a_recording_cannot_cross_its_cost_limit(provider_server, database_url, monkeypatch):
    """Four calls for one recording at once, with room for two worst cases: two are sent, two are refused before
    anything is sent, and the recording is charged what the two cost."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from aivlingual_assets.channels.recording_costs import (
        RecordingCostLimitError,
        RecordingCosts,
    )

    monkeypatch.delenv("GEMINI_API_KEY")
    arrived, release = threading.Semaphore(0), threading.Event()
    provider_server.set_responder("openai.chat", lambda req: (arrived.release(), release.wait(60), None)[2])
    resource = AICoreResource(database_url=database_url, retry_base_seconds=0.01)
    probe = resource.core
    cheapest = probe.candidates(kind="text", request_type="gloss", tier="cheap", provider=None, model=None,
                                selection_mode="auto")[0]
    per_call = probe._estimate(cheapest.config, "recording prompt number 0", None, Gloss, {"max_tokens": 100})
    _channels(resource, database_url).add("pekora", {"max_cost_per_recording_usd": per_call * 2.5})
    key = _recording_of(database_url, "pekora")
    costs = RecordingCosts(probe.ledger.engine)

    def call(i: int):
        try:
            return resource.for_recording(key).generate_text("gloss", f"recording prompt number {i}", schema=Gloss,
                                                             options={"max_tokens": 100})
        except RecordingCostLimitError as exc:
            return exc

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(call, i) for i in range(4)]
        first_two = [f.result() for _, f in zip(range(2), as_completed(futures, timeout=60))]
        assert all(arrived.acquire(timeout=60) for _ in range(2))  # the other two are at the provider
        assert costs.held(key) == pytest.approx(per_call * 2)
        release.set()
        results = [f.result(timeout=60) for f in futures]
    assert all(isinstance(r, RecordingCostLimitError) for r in first_two)
    refused = [r for r in results if isinstance(r, RecordingCostLimitError)]
    answered = [r for r in results if not isinstance(r, RecordingCostLimitError)]
    assert len(refused) == 2 and len(answered) == 2 and provider_server.count("openai.chat") == 2
    assert all("of channel pekora" in str(r) and "calls in flight hold" in str(r) for r in refused)
    assert costs.held(key) == 0 and costs.spent(key) == pytest.approx(sum(r.cost_usd for r in answered))


def test_a_repair_attempt_is_held_to_what_the_first_attempt_really_cost(provider_server, aiv_home, monkeypatch):
    """Attempts of one call run one after another: when the repair attempt reserves, the broken first answer is
    charged at what it cost, not at its worst case, so the repair fits where both worst cases would not."""
    from aivlingual_assets.channels.recording_costs import RecordingCosts
    from aivlingual_tests.fakes.provider_server import Fault

    monkeypatch.delenv("GEMINI_API_KEY")
    url = f"sqlite:///{aiv_home / 'ledger.sqlite3'}"
    resource = AICoreResource(database_url=url, retry_base_seconds=0.01)
    store = _channels(resource, url)
    store.add("pekora", {"max_cost_per_recording_usd": 1.0})
    reserved: list[float] = []
    real_reserve = RecordingCosts.reserve
    monkeypatch.setattr(RecordingCosts, "reserve", lambda self, recording, amount, *a, **k: (
        reserved.append(amount), real_reserve(self, recording, amount, *a, **k))[1])

    def broken_then_repaired(key: str, prompt: str):
        provider_server.inject("openai.chat", Fault.invalid_content('{"word": "cut off'))
        return resource.for_recording(_recording_of(url, "pekora", key)).generate_text(
            "gloss", prompt, schema=Gloss, options={"max_tokens": 100})

    first = broken_then_repaired("yt-aaaaaaaaaaa", "ぺこらの質問その一")  # measures both attempts' worst cases
    first_attempt, repair = reserved
    costs = RecordingCosts(resource.core.ledger.engine)
    assert costs.spent("yt-aaaaaaaaaaa") == pytest.approx(first.cost_usd) and costs.held("yt-aaaaaaaaaaa") == 0
    limit = repair + first_attempt / 2  # room for the repair's worst case and half the first attempt's
    store.update_settings("pekora", {"max_cost_per_recording_usd": limit})
    second = broken_then_repaired("yt-bbbbbbbbbbb", "ぺこらの質問その二")  # same sizes, so the same worst cases
    assert second.parsed is not None and reserved[2:] == pytest.approx([first_attempt, repair])
    assert costs.spent("yt-bbbbbbbbbbb") == pytest.approx(second.cost_usd) and costs.held("yt-bbbbbbbbbbb") == 0
    assert limit < first_attempt + repair  # holding the first attempt's worst case would have refused the repair


@pytest.mark.slow
def test_concurrent_calls_of_a_channel_cannot_overshoot_its_budget(provider_server, database_url, aiv_home,
                                                                  master_key, monkeypatch, tmp_path):
    """Four processes of channel pekora (its own key, its budget from the registry) ask at once: room for two."""
    monkeypatch.delenv("GEMINI_API_KEY")
    release = threading.Event()
    provider_server.set_responder("openai.chat", lambda req: (release.wait(60), None)[1])
    resource = AICoreResource(database_url=database_url)
    probe = resource.core
    cheapest = probe.candidates(kind="text", request_type="gloss", tier="cheap", provider=None, model=None,
                                selection_mode="auto")[0]
    per_call = probe._estimate(cheapest.config, "channel prompt number 0", None, Gloss, {"max_tokens": 100})
    store = _channels(resource, database_url)
    store.add("pekora", {"monthly_budget_usd": per_call * 2.5})
    KeyVault(store).set_key("pekora", "openai", OWN_OPENAI)
    env = {k: v for k, v in provider_server.env().items() if not k.startswith(("GEMINI", "GOOGLE"))}
    env.update({"AIVLINGUAL_DATABASE_URL": database_url, "AIVLINGUAL_HOME": str(aiv_home), "AIV_TEST_WORKERS": "4",
                "AIVLINGUAL_MASTER_KEY": master_key})
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pending = [pool.apply_async(generate_for_channel, (env, "pekora", f"channel prompt number {i}",
                                                           str(tmp_path / "barrier"))) for i in range(4)]
        deadline = time.monotonic() + 60
        while (sum(p.ready() for p in pending) + provider_server.count("openai.chat") < 4
               and time.monotonic() < deadline):
            time.sleep(0.02)
        with probe.ledger.connect() as conn:
            held = conn.execute(sa.select(budget_reservations.c.channel, budget_reservations.c.amount)).all()
        release.set()
        results = [p.get(timeout=120) for p in pending]
    assert sorted(held) == [("pekora", pytest.approx(per_call))] * 2
    refused = [r for r in results if r.get("error") == "budget"]
    assert len(refused) == 2 and all("budget for channel 'pekora'" in r["message"] for r in refused)
    assert {r.api_key for r in provider_server.find("openai.chat")} == {OWN_OPENAI}
    with probe.ledger.connect() as conn:
        spent = conn.execute(sa.select(usage_log.c.channel, sa.func.sum(usage_log.c.cost_usd))
                             .group_by(usage_log.c.channel)).all()
    assert len(spent) == 1 and spent[0][0] == "pekora" and 0 < spent[0][1] <= per_call * 2.5
    # the service (no channel) is not bound by pekora's budget
    assert resource.generate_text("gloss", "another question", schema=Gloss).provider == "openai"


def test_usage_and_the_dashboard_break_spend_down_per_channel(provider_server, database_url, master_key, monkeypatch,
                                                              capsys):
    from aivlingual_assets.ai.usage_report import format_report, usage_report
    from aivlingual_assets.learning.usage_chart import (
        dashboard_markdown,
        dashboard_metadata,
    )

    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("AIVLINGUAL_DATABASE_URL", database_url)
    resource = AICoreResource(database_url=database_url, retry_base_seconds=0.01)
    _channels(resource, database_url).add("pekora")
    paid = resource.for_channel("pekora").generate_text("gloss", "草", schema=Gloss)
    resource.for_channel("pekora").generate_text("gloss", "草", schema=Gloss)  # a hit: $0, saved
    resource.generate_text("gloss", "ぺこ", schema=Gloss)
    report = usage_report(resource.core.ledger, days=7)
    by_name = {r["channel"]: r for r in report.channels}
    assert by_name["pekora"]["requests"] == 2 and by_name["pekora"]["provider_calls"] == 1
    assert by_name["pekora"]["cost_usd"] == pytest.approx(paid.cost_usd, abs=1e-6)
    assert by_name["pekora"]["saved_usd"] == pytest.approx(paid.cost_usd, abs=1e-6)
    assert by_name["(no channel)"]["requests"] == 1
    assert "per channel" in format_report(report) and "pekora" in format_report(report)
    assert "### Per channel (last 7 days)" in dashboard_markdown({7: report})
    assert dashboard_metadata({7: report})["cost_usd_7d/channel/pekora"] == pytest.approx(paid.cost_usd, abs=1e-6)

    from aivlingual_assets.cli import main

    assert main(["usage", "--days", "7", "--json"]) == 0
    assert {r["channel"] for r in json.loads(capsys.readouterr().out)["channels"]} == {"pekora", "(no channel)"}
