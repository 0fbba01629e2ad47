"""The pipeline end to end on the bundled sample: offline, through a provider, and with bad input."""

from __future__ import annotations

import re

import dagster as dg
import pandas as pd
import pytest

from aivlingual_assets.assets import analysis, ingestion, publishing
from aivlingual_assets.cli import main as cli_main
from aivlingual_assets.definitions import build_resources
from aivlingual_assets.ingestion.recording import recording_from_path
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_assets.storage.frame_store import FrameStore
from aivlingual_tests.fakes.llm_responders import pipeline_model
from aivlingual_tests.fakes.provider_server import Fault

PER_RECORDING = [ingestion.recordings, ingestion.transcripts, analysis.expressions, analysis.expressions_complete,
                 analysis.difficulty, publishing.shorts]  # the other checks are evaluated in their assets' steps
CHECKS = {"transcript_not_empty", "transcript_times_valid", "transcript_mostly_japanese", "expressions_complete",
          "shorts_playable"}


def register(instance, path) -> str:
    recording = recording_from_path(path)
    PipelineResource().registry().register(recording)
    instance.add_dynamic_partitions("recordings", [recording.partition_key])
    return recording.partition_key


def run_recording(instance, key, cut=True):
    return dg.materialize(
        PER_RECORDING, partition_key=key, instance=instance, resources=build_resources(),
        run_config={"ops": {"shorts": {"config": {"cut_clips": cut}}}},
    )


def run_stock(instance):
    return dg.materialize(
        [analysis.vocabulary, publishing.anki_deck, analysis.vocabulary_rows_complete, analysis.vocabulary_keys_unique],
        instance=instance, resources=build_resources(),
        selection=[analysis.vocabulary, publishing.anki_deck],
    )


def metadata(result, asset: str) -> dict:
    mats = result.asset_materializations_for_node(asset)
    return {k: v.value for k, v in mats[-1].metadata.items()}


def ai_calls(result) -> int:
    total = 0
    for event in result.get_asset_materialization_events():
        total += int(event.event_specific_data.materialization.metadata.get("ai/api_calls", dg.IntMetadataValue(0)).value)
    return total


@pytest.mark.slow
def test_sample_stream_becomes_expressions_levels_shorts_and_a_stock_offline(instance, sample_copy, aiv_home):
    key = register(instance, sample_copy / "sample_stream.mp4")
    result = run_recording(instance, key)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert {c.check_name for c in checks} == CHECKS and all(c.passed and c.partition == key for c in checks)

    frames = FrameStore(aiv_home / "storage")
    transcript = frames.read("transcripts", key)
    assert len(transcript) >= 50 and transcript["end"].max() > 170
    expressions = frames.read("difficulty", key)
    assert len(expressions) >= 40
    assert (expressions["reading"].str.len() > 0).all() and (expressions["meaning"].str.len() > 0).all()
    assert expressions["url"].str.contains(r"#t=\d").all()
    assert set(expressions["level"]) <= {"N5", "N4", "N3", "N2", "N1", "slang", "beyond_jlpt"}
    lemmas = set(expressions["lemma"])
    assert {"推し", "草", "スパチャ"} <= lemmas
    shorts = frames.read("shorts", key)
    assert 3 <= len(shorts) <= 5
    assert ((shorts["end"] - shorts["start"]).between(15, 60)).all()

    stock_result = run_stock(instance)
    assert stock_result.success
    stock = frames.read("vocabulary")
    assert stock["key"].is_unique and len(stock) >= 40
    assert metadata(stock_result, "anki_deck")["notes"] == len(stock)

    # a rerun of the whole analysis pays for nothing and changes nothing
    rerun = run_recording(instance, key, cut=True)
    assert rerun.success and ai_calls(rerun) == 0
    pd.testing.assert_frame_equal(frames.read("difficulty", key), expressions)
    assert run_stock(instance).success and len(frames.read("vocabulary")) == len(stock)


@pytest.mark.slow
def test_llm_path_is_anchored_to_the_transcript_and_a_rerun_makes_no_provider_call(
        instance, sample_copy, provider_server, monkeypatch, aiv_home):
    monkeypatch.delenv("GEMINI_API_KEY")

    provider_server.set_responder("openai.chat", pipeline_model)
    key = register(instance, sample_copy / "sample_stream.ja.srt")
    assert run_recording(instance, key, cut=False).success
    calls = provider_server.count("openai.chat")
    assert calls >= 3
    frame = FrameStore(aiv_home / "storage").read("difficulty", key)
    assert set(frame["lemma"]) == {"草", "推し"}  # the made-up item was dropped
    transcript = FrameStore(aiv_home / "storage").read("transcripts", key)
    for row in frame.itertuples():  # times come from the line, not from what the model claimed
        line = transcript[transcript["text"] == row.example].iloc[0]
        assert (row.start, row.end) == (line.start, line.end)
    assert set(frame["level_method"]) == {"llm:openai/gpt-5-nano"}

    rerun = run_recording(instance, key, cut=False)
    assert rerun.success and provider_server.count("openai.chat") == calls


def test_bad_input_fails_only_that_recording_with_a_clear_message(sample_copy, tmp_path, aiv_home, capsys,
                                                                   monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    broken = tmp_path / "broken.srt"
    broken.write_text("1\n00:00:01,000 --> garbage\nこんにちは\n\n", encoding="utf-8")
    empty = tmp_path / "empty.srt"
    empty.write_text("", encoding="utf-8")
    code = cli_main(["process", str(broken), str(empty), str(tmp_path / "missing.mp4"), str(tmp_path / "x.docx"),
                     str(sample_copy / "sample_stream.ja.srt"), "--skip-stock"])
    out = capsys.readouterr().out
    assert code == 1
    assert "1 recording(s) processed, 4 failed" in out
    assert "broken.srt" in out and "empty.srt" in out and "missing.mp4" in out and "x.docx" in out
    assert re.search(r"Summary: .* \d+ segments, \d+ expressions", out)


@pytest.mark.slow
def test_llm_answer_that_is_not_valid_json_is_repaired_once_and_then_cached(
        instance, sample_copy, provider_server, monkeypatch, aiv_home):
    monkeypatch.delenv("GEMINI_API_KEY")
    provider_server.set_responder("openai.chat", pipeline_model)
    provider_server.inject("openai.chat", Fault.invalid_content('{"items": [{"expression": "草"'))  # cut off
    key = register(instance, sample_copy / "sample_stream.ja.srt")
    result = run_recording(instance, key, cut=False)
    assert result.success
    extraction = [r for r in provider_server.find("openai.chat") if "Transcript lines" in r.user]
    assert len(extraction) == 2 and extraction[0].fault is not None  # the broken answer, then the repair
    assert set(FrameStore(aiv_home / "storage").read("expressions", key)["lemma"]) == {"草", "推し"}
    calls = provider_server.count("openai.chat")
    assert run_recording(instance, key, cut=False).success and provider_server.count("openai.chat") == calls


@pytest.mark.slow
def test_llm_that_never_answers_valid_json_fails_the_recording_clearly_and_stores_nothing(
        instance, sample_copy, provider_server, monkeypatch, aiv_home):
    monkeypatch.delenv("GEMINI_API_KEY")

    def garbage_for_extraction(request):
        if "Transcript lines" in request.user:
            return Fault.invalid_content("Sure! Here are the expressions: 草, 推し")
        return pipeline_model(request)

    provider_server.set_responder("openai.chat", garbage_for_extraction)
    key = register(instance, sample_copy / "sample_stream.ja.srt")
    result = dg.materialize(PER_RECORDING, partition_key=key, instance=instance, resources=build_resources(),
                            raise_on_error=False, run_config={"ops": {"shorts": {"config": {"cut_clips": False}}}})
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "expressions"
    message = failure.event_specific_data.error_display_string
    assert "expressions.extract" in message
    frames = FrameStore(aiv_home / "storage")
    assert frames.exists("transcripts", key)
    assert not frames.exists("expressions", key) and not frames.exists("difficulty", key)
    kept = list((aiv_home / "failed_outputs" / "expressions.extract").glob("*.txt"))
    assert kept and "Here are the expressions" in kept[0].read_text(encoding="utf-8")

    provider_server.set_responder("openai.chat", pipeline_model)  # the provider recovers: a rerun completes
    assert run_recording(instance, key, cut=False).success
