"""The nightly catch-up through Dagster: expressions wait for a half-price batch, batch_results_sensor re-runs them."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from aivlingual_assets.assets import analysis, ingestion
from aivlingual_assets.batch_sensor import RERUN_ASSETS, batch_results_sensor
from aivlingual_assets.definitions import build_resources
from aivlingual_assets.ingestion.recording import recording_from_path
from aivlingual_assets.resources import AICoreResource
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_tests.fakes.llm_responders import pipeline_model

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample_stream.ja.srt"
ANALYSIS = [ingestion.recordings, ingestion.transcripts, analysis.expressions, analysis.difficulty]
NIGHTLY = {"aivlingual/trigger": "nightly"}


@pytest.fixture
def recording(instance, provider_server, monkeypatch) -> str:
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("AIVLINGUAL_BATCH", "1")
    provider_server.set_responder("openai.chat", pipeline_model)
    found = recording_from_path(SAMPLE)
    PipelineResource().registry().register(found)
    instance.add_dynamic_partitions("recordings", [found.partition_key])
    return found.partition_key


def run(instance, key: str, tags: dict[str, str]) -> dg.ExecuteInProcessResult:
    result = dg.materialize(ANALYSIS, partition_key=key, instance=instance, resources=build_resources(), tags=tags)
    assert result.success  # waiting for a batch is not a failure
    return result


def tick(instance):
    return batch_results_sensor(dg.build_sensor_context(instance=instance, resources={"ai": AICoreResource()}))


def observed(result, asset: str) -> dict:
    [event] = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"
               and e.asset_key == dg.AssetKey(asset)]
    return {k: v.value for k, v in event.event_specific_data.asset_observation.metadata.items()}


@pytest.mark.slow
def test_the_nightly_catch_up_waits_for_half_price_batches_and_the_sensor_reruns_it_from_the_cache(
        instance, recording, provider_server):
    server = provider_server
    night = run(instance, recording, NIGHTLY)
    assert night.asset_materializations_for_node("expressions") == []  # nothing written while waiting
    assert night.asset_materializations_for_node("difficulty") == []
    waiting = observed(night, "expressions")
    assert waiting["status"] == "waiting for batch" and waiting["batch/requests"] >= 1
    [batch] = server.batches()
    assert waiting["batch/batches"] == batch["id"]
    extraction = waiting["batch/requests"]

    run(instance, recording, NIGHTLY)  # a rerun before the answers: waits again, sends nothing again
    assert len(server.batches()) == 1
    assert isinstance(tick(instance), dg.SkipReason)  # still running

    server.complete_batch(batch["id"])
    [request] = tick(instance).run_requests
    assert request.partition_key == recording and request.tags["aivlingual/trigger"] == "batch"
    assert request.asset_selection == [dg.AssetKey(a) for a in RERUN_ASSETS]
    assert isinstance(tick(instance), dg.SkipReason)  # collected once, re-run requested once

    rerun = run(instance, recording, request.tags)  # expressions from the cache; difficulty batches its own
    [mat] = rerun.asset_materializations_for_node("expressions")
    assert mat.metadata["ai/cache_hits"].value == extraction and mat.metadata["ai/api_calls"].value == 0
    assert rerun.asset_materializations_for_node("difficulty") == []
    levels = observed(rerun, "difficulty")["batch/requests"]
    second = next(b for b in server.batches() if b["id"] != batch["id"])

    server.complete_batch(second["id"])
    [again] = tick(instance).run_requests
    assert again.run_key != request.run_key
    last = run(instance, recording, again.tags)
    [mat] = last.asset_materializations_for_node("difficulty")
    assert mat.metadata["ai/cache_hits"].value == levels and mat.metadata["ai/api_calls"].value == 0
    assert set(PipelineResource().frames().read("difficulty", recording)["lemma"]) == {"草", "推し"}
    assert server.count("openai.chat") == 0  # every answer of the night came from a batch
    assert server.batch_lines_answered == extraction + levels and len(server.batches()) == 2


@pytest.mark.slow
def test_without_the_setting_the_nightly_catch_up_calls_at_once(instance, recording, provider_server, monkeypatch):
    monkeypatch.delenv("AIVLINGUAL_BATCH")
    night = run(instance, recording, NIGHTLY)
    assert night.asset_materializations_for_node("expressions") and night.asset_materializations_for_node("difficulty")
    assert provider_server.batches() == [] and provider_server.count("openai.chat") >= 2


@pytest.mark.slow
def test_an_expired_batch_reruns_the_recording_with_normal_calls(instance, recording, provider_server):
    server = provider_server
    run(instance, recording, NIGHTLY)
    [batch] = server.batches()
    server.expire_batch(batch["id"])
    [request] = tick(instance).run_requests
    rerun = run(instance, recording, request.tags)
    [mat] = rerun.asset_materializations_for_node("expressions")
    assert mat.metadata["ai/api_calls"].value == server.count("openai.chat") >= 1  # asked at once, not re-batched
    assert server.batches()[0]["id"] == batch["id"]


@pytest.mark.slow
def test_a_batch_the_budget_refuses_fails_the_step_with_the_budget_message_and_sends_nothing(
        instance, recording, provider_server, monkeypatch):
    monkeypatch.setenv("AIVLINGUAL_MONTHLY_BUDGET_USD", "0.0000001")
    night = dg.materialize(ANALYSIS, partition_key=recording, instance=instance, resources=build_resources(),
                           tags=NIGHTLY, raise_on_error=False)
    assert not night.success
    [failure] = [e for e in night.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "expressions" and "Monthly AI budget" in failure.step_failure_data.error.message
    assert provider_server.files() == [] and provider_server.count("openai.chat") == 0
