"""The inbox scan: stability between scans, pairing, ignored files, 10,000 files."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aivlingual_assets.ingestion.errors import InboxError
from aivlingual_assets.ingestion.inbox import InboxScan, defer, scan_inbox


@pytest.fixture()
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def write(path: Path, data: bytes = b"x", mtime: float = 1_700_000_000.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def keys(groups) -> list[str]:
    return [g.key for g in groups]


def via_json(scan: InboxScan) -> dict:
    """What the sensor cursor gives back next tick."""
    return json.loads(json.dumps(scan.observed, separators=(",", ":")))


def test_first_sight_is_pending_then_ready_once(inbox: Path):
    write(inbox / "stream.mp4", b"video")
    first = scan_inbox(inbox, {})
    assert keys(first.pending) == ["stream"] and first.ready == []
    second = scan_inbox(inbox, via_json(first))
    assert keys(second.ready) == ["stream"] and second.pending == []
    group = second.ready[0]
    assert group.media == inbox / "stream.mp4" and group.subtitle is None and group.files == ("stream.mp4",)
    third = scan_inbox(inbox, via_json(second))
    assert third.ready == [] and third.pending == [] and third.settled == ["stream"]


def test_a_growing_file_stays_pending(inbox: Path):
    path = write(inbox / "live.mkv", b"a" * 10)
    previous = via_json(scan_inbox(inbox, {}))
    with path.open("ab") as handle:  # still being copied
        handle.write(b"b" * 10)
    scan = scan_inbox(inbox, previous)
    assert keys(scan.pending) == ["live"] and scan.ready == []
    assert scan.observed["live.mkv"][0] == 20
    assert keys(scan_inbox(inbox, via_json(scan)).ready) == ["live"]


def test_touched_file_with_same_size_is_pending(inbox: Path):
    path = write(inbox / "talk.mp3")
    previous = via_json(scan_inbox(inbox, {}))
    os.utime(path, (1_700_000_500.0, 1_700_000_500.0))
    assert keys(scan_inbox(inbox, previous).pending) == ["talk"]


def test_media_and_subtitles_pair_up(inbox: Path):
    write(inbox / "sample_stream.mp4")
    write(inbox / "sample_stream.ja.srt")
    write(inbox / "sample_stream.en.srt")
    write(inbox / "only_subs.vtt")
    write(inbox / "audio_only.m4a")
    write(inbox / "live.abc.mp4")
    write(inbox / "live.abc.srt")  # full stem matches the media, not "live"
    scan = scan_inbox(inbox, via_json(scan_inbox(inbox, {})))
    groups = {g.key: g for g in scan.ready}
    assert sorted(groups) == ["audio_only", "live.abc", "only_subs", "sample_stream"]
    assert groups["sample_stream"].media == inbox / "sample_stream.mp4"
    assert groups["sample_stream"].subtitle == inbox / "sample_stream.ja.srt"  # Japanese preferred
    assert groups["only_subs"].media is None and groups["only_subs"].subtitle == inbox / "only_subs.vtt"
    assert groups["audio_only"].subtitle is None
    assert groups["live.abc"].subtitle == inbox / "live.abc.srt"
    assert "sample_stream.en.srt" in scan.ignored or "sample_stream.en.srt" in scan_inbox(inbox, {}).ignored


def test_group_waits_for_all_its_files_and_a_late_subtitle_makes_it_ready_again(inbox: Path):
    write(inbox / "night.mp4")
    scan = scan_inbox(inbox, via_json(scan_inbox(inbox, {})))
    assert keys(scan.ready) == ["night"]
    write(inbox / "night.ja.vtt")  # the subtitle arrives later
    waiting = scan_inbox(inbox, via_json(scan))
    assert keys(waiting.pending) == ["night"] and waiting.ready == []
    again = scan_inbox(inbox, via_json(waiting))
    assert keys(again.ready) == ["night"] and again.ready[0].subtitle == inbox / "night.ja.vtt"


def test_deferred_groups_are_ready_again_next_scan_and_the_others_settled(inbox: Path):
    for name in ("a.mp4", "b.mp4", "b.ja.srt", "c.srt"):
        write(inbox / name)
    ready = scan_inbox(inbox, via_json(scan_inbox(inbox, {}))).ready
    assert keys(ready) == ["a", "b", "c"]
    observed = defer(scan_inbox(inbox, via_json(scan_inbox(inbox, {}))).observed, ready[1:])  # time for "a" only
    later = scan_inbox(inbox, json.loads(json.dumps(observed)))
    assert keys(later.ready) == ["b", "c"] and later.pending == [] and later.settled == ["a"]
    assert scan_inbox(inbox, via_json(later)).settled == ["a", "b", "c"]


def test_ignored_files_are_reported_once(inbox: Path):
    write(inbox / ".DS_Store")
    write(inbox / "stream.mp4.part")
    write(inbox / "video.webm.crdownload")
    write(inbox / "copying.tmp")
    write(inbox / "notes.txt")
    write(inbox / "cover.PNG")
    write(inbox / "real.MP4")  # extensions are case-insensitive
    first = scan_inbox(inbox, {})
    assert set(first.ignored) == {".DS_Store", "stream.mp4.part", "video.webm.crdownload", "copying.tmp",
                                  "notes.txt", "cover.PNG"}
    assert "partial" in first.ignored["stream.mp4.part"] and "unsupported" in first.ignored["notes.txt"]
    assert keys(first.pending) == ["real"]
    second = scan_inbox(inbox, via_json(first))
    assert second.ignored == {} and keys(second.ready) == ["real"]
    write(inbox / "readme.md")
    assert set(scan_inbox(inbox, via_json(second)).ignored) == {"readme.md"}


def test_one_level_of_subfolders(inbox: Path):
    write(inbox / "channel_a" / "ep1.mp4")
    write(inbox / "channel_a" / "ep1.ja.srt")
    write(inbox / "channel_a" / "deeper" / "ep9.mp4")
    write(inbox / ".hidden" / "secret.mp4")
    scan = scan_inbox(inbox, via_json(scan_inbox(inbox, {})))
    assert keys(scan.ready) == ["channel_a/ep1"]
    assert scan.ready[0].subtitle == inbox / "channel_a" / "ep1.ja.srt"
    assert "channel_a/deeper/" in scan_inbox(inbox, {}).ignored


def test_deleted_files_drop_out_of_the_state(inbox: Path):
    path = write(inbox / "gone.mp4")
    previous = via_json(scan_inbox(inbox, {}))
    path.unlink()
    scan = scan_inbox(inbox, previous)
    assert scan.observed == {} and scan.ready == scan.pending == []


def test_missing_inbox_is_a_clear_error(tmp_path: Path):
    with pytest.raises(InboxError, match="does not exist"):
        scan_inbox(tmp_path / "nope", {})
    (tmp_path / "file").write_text("x")
    with pytest.raises(InboxError, match="not a folder"):
        scan_inbox(tmp_path / "file", {})


def test_previous_state_as_plain_size_mtime_pairs(inbox: Path):
    write(inbox / "a.mp4", b"12345", mtime=1_700_000_000.0)
    scan = scan_inbox(inbox, {"a.mp4": (5, 1_700_000_000.0)})
    assert keys(scan.ready) == ["a"]


def make_many(inbox: Path, pairs: int) -> None:
    """``pairs`` media + subtitle pairs, half of them in a sub-folder (raw os calls: pathlib is 10x slower)."""
    (inbox / "ch1").mkdir(exist_ok=True)
    root = str(inbox)
    for i in range(pairs):
        sub = "ch1/" if i % 2 else ""
        for name in (f"{root}/{sub}rec{i:05d}.mp4", f"{root}/{sub}rec{i:05d}.ja.srt"):
            os.close(os.open(name, os.O_CREAT | os.O_WRONLY, 0o644))


@pytest.fixture()
def big_inbox(tmp_path: Path) -> Iterator[Path]:
    """An empty folder on tmpfs when there is one: creating 10,000 files on a busy disk can take seconds."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else tmp_path
    with tempfile.TemporaryDirectory(prefix="aiv-inbox-", dir=base) as folder:
        yield Path(folder)


def test_ten_thousand_files(big_inbox: Path):
    inbox = big_inbox
    make_many(inbox, 5000)  # 10,000 files, half of them in a sub-folder
    first = scan_inbox(inbox, {})
    assert len(first.pending) == 5000 and first.ready == [] and first.ignored == {}
    assert len(first.observed) == 10_000
    second = scan_inbox(inbox, via_json(first))
    assert len(second.ready) == 5000 and second.pending == []
    assert all(g.media is not None and g.subtitle is not None for g in second.ready)
    assert {g.key for g in second.ready} == {f"{'ch1/' if i % 2 else ''}rec{i:05d}" for i in range(5000)}
    third = scan_inbox(inbox, via_json(second))
    assert third.ready == [] and len(third.settled) == 5000
    assert len(json.dumps(third.observed, separators=(",", ":"))) < 60 * 10_000  # compact cursor


def bench_scan_ten_thousand(tmp_path: Path) -> None:
    """Not collected by pytest; run by hand: python -c '...bench_scan_ten_thousand(Path(...))'."""
    inbox = tmp_path / "inbox"
    inbox.mkdir(parents=True)
    make_many(inbox, 5000)
    previous = via_json(scan_inbox(inbox, {}))
    wall, cpu = time.perf_counter(), time.process_time()
    scan_inbox(inbox, previous)
    print(f"scan of 10,000 files: {time.perf_counter() - wall:.3f} s wall, {time.process_time() - cpu:.3f} s CPU")
