"""The recording registry: re-adding a recording never forgets what was known about it."""

from __future__ import annotations

import shutil
from pathlib import Path

from aivlingual_assets.ingestion.recording import recording_from_path, recording_from_youtube
from aivlingual_assets.storage.recording_registry import RecordingRegistry


def registry(home: Path) -> RecordingRegistry:
    return RecordingRegistry(f"sqlite:///{home / 'registry.sqlite3'}")


def test_a_bare_re_add_keeps_title_channel_and_duration(aiv_home):
    reg = registry(aiv_home)
    # the channel feed knew title and channel; the transcripts asset later learned the length
    assert reg.register(recording_from_youtube("dQw4w9WgXcQ", title="【歌枠】夜更かし", channel="ここあ Ch."))
    reg.register(recording_from_youtube("dQw4w9WgXcQ", duration_seconds=3600.0))
    # then `aivlingual process dQw4w9WgXcQ`: placeholder title, no channel, no duration
    assert reg.register(recording_from_youtube("https://youtu.be/dQw4w9WgXcQ")) is False
    kept = reg.get("yt-dQw4w9WgXcQ")
    assert (kept.title, kept.channel, kept.duration_seconds) == ("【歌枠】夜更かし", "ここあ Ch.", 3600.0)
    assert reg.keys() == ["yt-dQw4w9WgXcQ"]


def test_real_new_values_still_win(aiv_home):
    reg = registry(aiv_home)
    reg.register(recording_from_youtube("dQw4w9WgXcQ"))
    reg.register(recording_from_youtube("dQw4w9WgXcQ", title="【雑談】改題しました", channel="ここあ Ch."))
    renamed = reg.get("yt-dQw4w9WgXcQ")
    assert renamed.title == "【雑談】改題しました" and renamed.channel == "ここあ Ch."


def test_a_moved_file_updates_its_path_and_keeps_its_facts(aiv_home, tmp_path, clip):
    reg = registry(aiv_home)
    first = recording_from_path(shutil.copy(clip, tmp_path / "stream.mp4"))
    reg.register(first)
    (tmp_path / "moved").mkdir()
    moved = recording_from_path(shutil.move(tmp_path / "stream.mp4", tmp_path / "moved" / "stream.mp4"))
    reg.register(moved.model_copy(update={"duration_seconds": None}))  # e.g. the probe could not tell this time
    stored = reg.get(first.partition_key)
    assert stored.path == str(tmp_path / "moved" / "stream.mp4")
    assert stored.duration_seconds == first.duration_seconds and stored.content_hash == first.content_hash
