"""The bundled example recording is a usable, consistent pair."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest

from aivlingual_assets.ingestion.inbox import scan_inbox
from aivlingual_assets.ingestion.media import probe_duration
from aivlingual_assets.ingestion.recording import recording_from_path
from aivlingual_assets.ingestion.segments import segments_to_frame
from aivlingual_assets.ingestion.subtitles import parse_subtitle_file
from aivlingual_tests.ingestion.conftest import EXAMPLES

SRT = EXAMPLES / "sample_stream.ja.srt"
MP4 = EXAMPLES / "sample_stream.mp4"


def test_sample_subtitles_cover_about_three_minutes():
    segments = parse_subtitle_file(SRT)
    assert 50 <= len(segments) <= 70
    assert segments[0].start < 5 and 165 <= segments[-1].end <= 185
    for current, following in zip(segments, segments[1:]):
        assert current.end <= following.start  # ordered, no overlaps
    frame = segments_to_frame(segments)
    assert frame["text"].str.len().min() > 0


def test_sample_is_full_of_learner_material():
    text = "\n".join(s.text for s in parse_subtitle_file(SRT))
    for word in ["草", "てぇてぇ", "推し", "スパチャ", "同接", "初見さん", "神回", "ガチ", "ワンチャン", "エモ",
                 "やばい", "それな", "乙", "配信", "切り抜", "ASMR", "凸待ち"]:
        assert word in text, word
    for pattern in ["ちゃう", "てみ", "なきゃ", "っぽい", "じゃん", "わけじゃない", "見れる"]:
        assert pattern in text, pattern
    assert re.search(r"@\w+", text) and "スパチャありがとう" in text


def test_sample_pair_is_one_recording(tmp_path: Path):
    from_subtitle = recording_from_path(SRT)
    assert from_subtitle == recording_from_path(MP4)
    assert from_subtitle.path == str(MP4) and from_subtitle.subtitle_path == str(SRT)
    assert from_subtitle.duration_seconds == pytest.approx(180, abs=1)
    last_end = parse_subtitle_file(SRT)[-1].end
    assert last_end <= from_subtitle.duration_seconds <= last_end + 5

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy2(SRT, inbox)
    shutil.copy2(MP4, inbox)
    first = scan_inbox(inbox, {})
    (group,) = scan_inbox(inbox, first.observed).ready
    assert group.key == "sample_stream" and group.media.name == MP4.name and group.subtitle.name == SRT.name


def test_sample_media_is_small_and_regenerates_deterministically(tmp_path: Path):
    assert MP4.stat().st_size < 300_000
    spec = importlib.util.spec_from_file_location("make_sample_media", EXAMPLES / "make_sample_media.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.sample_duration() == round(probe_duration(MP4))
    first, second = tmp_path / "a.mp4", tmp_path / "b.mp4"
    assert module.main(["--out", str(first)]) == 0
    assert module.main(["--out", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert probe_duration(first) == probe_duration(MP4)
