"""A switched-off output is skipped with its reason in the metadata, not failed; limits refuse before paying."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from aivlingual_assets.assets import analysis, ingestion, publishing
from aivlingual_assets.channels import (
    channel_store,
    output_decision,
    stock_rows_for_output,
)
from aivlingual_assets.definitions import build_resources
from aivlingual_assets.ingestion.recording import recording_from_path
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_assets.settings import database_url
from aivlingual_tests.pipeline.conftest import instance  # noqa: F401  (fixture)

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample_stream.ja.srt"


def _register(instance, channel: str) -> str:  # noqa: F811
    recording = recording_from_path(SAMPLE)
    PipelineResource().registry().register(recording, channel=channel)
    instance.add_dynamic_partitions("recordings", [recording.partition_key])
    return recording.partition_key


def test_shorts_switched_off_for_a_channel_are_skipped_with_the_reason(instance, aiv_home):  # noqa: F811
    channel_store(database_url()).add("pekora", {"outputs.shorts": False})
    key = _register(instance, "pekora")
    result = dg.materialize([ingestion.recordings, ingestion.transcripts, analysis.expressions, analysis.difficulty,
                             publishing.shorts], partition_key=key, instance=instance, resources=build_resources())
    assert result.success
    md = {k: v.value for k, v in result.asset_materializations_for_node("shorts")[0].metadata.items()}
    assert md["skipped"] is True and md["clips"] == 0
    assert "shorts is switched off for channel pekora" in md["skip_reason"]
    assert "aivlingual channels set pekora outputs.shorts on" in md["skip_reason"]


def test_a_recording_over_its_channels_length_limit_is_refused_before_anything_is_paid(instance, aiv_home):  # noqa: F811
    channel_store(database_url()).add("pekora", {"max_recording_minutes": 0.5})
    key = _register(instance, "pekora")
    result = dg.materialize([ingestion.recordings], partition_key=key, instance=instance, resources=build_resources(),
                            raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.user_failure_data
    assert "over max_recording_minutes=0.5 of channel pekora" in failure.description


def test_stock_outputs_leave_out_rows_only_switched_off_channels_said(store):
    store.add("pekora", {"outputs.notion": False})
    store.add("marine")
    owners = {"file-a": "pekora", "file-b": "marine"}
    rows = ['[{"recording": "file-a"}]', '[{"recording": "file-a"}, {"recording": "file-b"}]',
            '[{"recording": "file-c"}]']  # file-c belongs to no channel: the service default (on)
    keep, decision = stock_rows_for_output(rows, "notion", lambda key: store.get(owners.get(key)))
    assert keep == [False, True, True] and decision.run and "1 only from switched-off channels" in decision.reason
    keep, decision = stock_rows_for_output(rows[:1], "notion", lambda key: store.get(owners.get(key)))
    assert keep == [False] and not decision.run
    assert decision.metadata()["skipped"] is True and "channel pekora" in decision.metadata()["skip_reason"]


def test_the_service_default_switches_an_output_off_for_recordings_of_no_channel(monkeypatch):
    monkeypatch.setenv("AIVLINGUAL_OUTPUTS_TTS", "off")
    decision = output_decision("tts", None)
    assert not decision.run and "environment AIVLINGUAL_OUTPUTS_TTS" in decision.reason
