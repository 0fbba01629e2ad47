"""A collab stream through the assets: the subtitle file's voices reach expressions, Shorts plans and their subtitles."""

from __future__ import annotations

import re
import shutil

import dagster as dg

from aivlingual_assets.assets import analysis, ingestion, publishing
from aivlingual_assets.definitions import build_resources
from aivlingual_assets.ingestion.recording import recording_from_path
from aivlingual_assets.publishing.clip_planner import clip_plans_from_frame
from aivlingual_assets.publishing.subtitle_burn import build_ass
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_assets.storage.frame_store import FrameStore

from .conftest import EXAMPLES

VOICES = ("Coco", "Pekora")
_CUE = re.compile(r"(\d\d:\d\d:\d\d),(\d{3}) --> (\d\d:\d\d:\d\d),(\d{3})\n(.+?)(?:\n\n|\Z)", re.S)


def collab_vtt(srt: str) -> str:
    """The sample's subtitles as WebVTT, two streamers taking turns every two cues."""
    cues = [f"{a}.{b} --> {c}.{d}\n<v {VOICES[(i // 2) % 2]}>{text.strip()}"
            for i, (a, b, c, d, text) in enumerate(_CUE.findall(srt))]
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"


def test_speakers_reach_expressions_and_shorts(instance, aiv_home, tmp_path):
    folder = tmp_path / "collab"
    folder.mkdir()
    shutil.copy(EXAMPLES / "sample_stream.mp4", folder / "collab.mp4")
    (folder / "collab.ja.vtt").write_text(
        collab_vtt((EXAMPLES / "sample_stream.ja.srt").read_text(encoding="utf-8")), encoding="utf-8")
    recording = recording_from_path(folder / "collab.mp4")
    PipelineResource().registry().register(recording)
    key = recording.partition_key
    instance.add_dynamic_partitions("recordings", [key])

    result = dg.materialize(
        [ingestion.recordings, ingestion.transcripts, analysis.expressions, analysis.difficulty, publishing.shorts],
        partition_key=key, instance=instance, resources=build_resources(),
        run_config={"ops": {"shorts": {"config": {"cut_clips": False}}}},
    )
    assert result.success
    store = FrameStore(aiv_home / "storage")
    transcript = store.read("transcripts", key)
    assert set(transcript["speaker"]) == set(VOICES)
    metadata = result.asset_materializations_for_node("transcripts")[0].metadata
    assert metadata["speakers"].value == "Coco, Pekora"

    expressions = store.read("expressions", key)
    assert len(expressions) and set(expressions["speaker"]) <= set(VOICES)
    for row in expressions.itertuples():  # each one is its line's speaker
        line = transcript[(transcript["start"] <= row.start) & (transcript["end"] >= row.start)].iloc[0]
        assert row.speaker == line.speaker

    plans = clip_plans_from_frame(store.read("shorts", key))
    assert plans and all(e.speaker in VOICES for p in plans for e in p.expressions)
    burned = build_ass(plans[0])
    assert any(f"【{name}】" in burned for name in plans[0].speakers)
