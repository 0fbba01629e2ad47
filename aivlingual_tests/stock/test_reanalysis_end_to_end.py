"""Through Dagster: a recording analysed again (a provider key added after a first offline run) replaces its rows
in the vocabulary stock, the other recording's rows stay as they were; a title learnt later reaches the stock."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from aivlingual_assets.analysis.stock_index import StockIndex
from aivlingual_assets.assets import analysis, ingestion
from aivlingual_assets.definitions import build_resources
from aivlingual_assets.ingestion.recording import recording_from_path, recording_from_youtube
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_assets.storage.frame_store import FrameStore
from aivlingual_tests.fakes.llm_responders import pipeline_model
from aivlingual_tests.fakes.provider_server import ProviderServer

from .test_stock import table

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample_stream.ja.srt"
ANALYSIS = [ingestion.recordings, ingestion.transcripts, analysis.expressions, analysis.difficulty]


def subtitle(folder: Path, name: str, cues: slice) -> Path:
    """Some cues of the bundled sample as a recording of its own."""
    blocks = SAMPLE.read_text(encoding="utf-8").strip().split("\n\n")[cues]
    path = folder / f"{name}.ja.srt"
    path.write_text("\n\n".join(f"{i}\n" + b.split("\n", 1)[1] for i, b in enumerate(blocks, 1)) + "\n",
                    encoding="utf-8")
    return path


def analyse(instance, key: str) -> None:
    assert dg.materialize(ANALYSIS, partition_key=key, instance=instance, resources=build_resources()).success


def build_stock(instance) -> dict:
    result = dg.materialize([analysis.vocabulary], instance=instance, resources=build_resources())
    assert result.success
    (mat,) = result.asset_materializations_for_node("vocabulary")
    return {k: v.value for k, v in mat.metadata.items()}


def rows_of(stock, recording: str) -> dict[str, set]:
    """Stock key -> occurrences (recording, start) of ``recording``, for the rows it occurs in."""
    out = {}
    for key, raw in zip(stock["key"], stock["occurrences"], strict=True):
        mine = {(o["recording"], o["start"]) for o in raw if o["recording"] == recording}
        if mine:
            out[key] = mine
    return out


@pytest.mark.slow
def test_a_recording_analysed_again_replaces_its_rows_in_the_stock(tmp_path, aiv_home, monkeypatch):
    frames = FrameStore(aiv_home / "storage")
    registry = PipelineResource().registry()
    keys = []
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        for name, cues in (("first", slice(0, 30)), ("second", slice(30, 60))):
            recording = recording_from_path(subtitle(tmp_path, name, cues))
            registry.register(recording)
            instance.add_dynamic_partitions("recordings", [recording.partition_key])
            keys.append(recording.partition_key)
        first, second = keys
        for key in keys:
            analyse(instance, key)  # offline: no provider key yet
        build_stock(instance)
        before = frames.read("vocabulary")
        offline_first = rows_of(before, first)
        assert len(offline_first) > 5 and rows_of(before, second)
        untouched = before[before["key"].isin(set(rows_of(before, second)) - set(offline_first))]

        with ProviderServer() as server:  # a provider key is added; only the first recording is analysed again
            server.apply_env(monkeypatch)
            monkeypatch.delenv("GEMINI_API_KEY")
            server.set_responder("openai.chat", pipeline_model)
            analyse(instance, first)
            reanalysed = frames.read("difficulty", first)
            assert set(reanalysed["lemma"]) == {"草", "推し"}  # what the model picks, not the offline engine
            meta = build_stock(instance)
        after = frames.read("vocabulary")

    new_first = rows_of(after, first)
    expected = {(first, float(s)) for s in reanalysed["start"]}
    assert set().union(*new_first.values()) == expected  # the old analysis' occurrences are gone
    by_key = after.set_index("key")
    assert set(by_key.loc[list(new_first), "lemma"]) == {"草", "推し"}
    gone = set(offline_first) - set(after["key"])
    assert gone and sorted(gone) == sorted(meta["removed_keys"]) and meta["recordings_replaced"] == 1
    assert meta["recordings_merged"] == 0  # the second recording was not merged again
    still = after[after["key"].isin(untouched["key"])].drop(columns="theme").reset_index(drop=True)
    assert still.equals(untouched.drop(columns="theme").reset_index(drop=True))
    assert sorted(StockIndex.load(aiv_home / "vocabulary_index").keys) == sorted(after["key"])


def test_a_title_the_registry_learns_after_the_analysis_reaches_the_stock(tmp_path, aiv_home):
    """A YouTube video analysed while its title was still the placeholder; the registry learns the real title
    later (the channel feed, a re-add): the next stock shows it, without analysing the video again."""
    frames = FrameStore(aiv_home / "storage")
    registry = PipelineResource().registry()
    video = recording_from_youtube("dQw4w9WgXcQ")
    registry.register(video)
    analysed = table(video.partition_key, ("草", "草", "くさ", "lol", "internet", 1.0),
                     ("推し", "推し", "おし", "fave", "vtuber_culture", 2.0)).assign(recording_title=video.title)
    frames.write(analysed, "difficulty", video.partition_key)
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        instance.add_dynamic_partitions("recordings", [video.partition_key])
        build_stock(instance)
        assert titles_in(frames.read("vocabulary")) == {"YouTube video dQw4w9WgXcQ"}
        registry.register(recording_from_youtube("dQw4w9WgXcQ", title="【雑談】Real title"))
        meta = build_stock(instance)
    assert titles_in(frames.read("vocabulary")) == {"【雑談】Real title"}
    assert (meta["recordings_retitled"], meta["recordings_replaced"], meta["removed"]) == (1, 0, 0)


def titles_in(stock) -> set[str]:
    return {o["recording_title"] for raw in stock["occurrences"] for o in raw}
