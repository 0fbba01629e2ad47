"""ffmpeg wrappers against tiny media generated in temporary folders."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from aivlingual_assets.ingestion.errors import MediaError, MissingFileError, UnsupportedFileError
from aivlingual_assets.ingestion.media import (
    extract_audio,
    ffmpeg_exe,
    file_sha256,
    probe_duration,
    split_audio,
)


def stream_info(path: Path) -> str:
    """ffmpeg's own description of a file's streams (independent of the code under test)."""
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return result.stderr


def test_ffmpeg_exe_is_runnable():
    assert Path(ffmpeg_exe()).is_file()
    assert os.access(ffmpeg_exe(), os.X_OK)


def test_probe_duration(media_dir: Path):
    assert probe_duration(media_dir / "clip.mp4") == pytest.approx(2.0, abs=0.05)
    assert probe_duration(media_dir / "tone.mp3") == pytest.approx(3.0, abs=0.1)


@pytest.mark.parametrize("suffix, codec", [(".mp3", "mp3"), (".flac", "flac"), (".wav", "pcm_s16le")])
def test_extract_audio_is_mono_16k(tmp_path: Path, clip: Path, suffix: str, codec: str):
    out = extract_audio(clip, tmp_path / "nested" / f"speech{suffix}")
    assert out == tmp_path / "nested" / f"speech{suffix}" and out.stat().st_size > 0
    info = stream_info(out)
    assert f"Audio: {codec}" in info and "16000 Hz, mono" in info
    assert "Video:" not in info
    assert probe_duration(out) == pytest.approx(2.0, abs=0.15)
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no partial file left behind


def test_extract_audio_rejects_video_without_audio(tmp_path: Path, media_dir: Path):
    out = tmp_path / "out" / "speech.mp3"
    with pytest.raises(MediaError, match="no audio stream") as caught:
        extract_audio(media_dir / "silent_video.mp4", out)
    assert caught.value.stderr_tail  # ffmpeg's own words are included
    assert list(out.parent.iterdir()) == []  # neither the output nor a partial file


def test_extract_audio_output_format_must_be_supported(tmp_path: Path, clip: Path):
    with pytest.raises(UnsupportedFileError, match=r"\.ogg"):
        extract_audio(clip, tmp_path / "speech.ogg")


def test_corrupt_and_truncated_media(tmp_path: Path, clip: Path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(MediaError) as caught:
        probe_duration(garbage)
    assert "garbage.mp4" in str(caught.value) and "ffmpeg said" in str(caught.value)
    assert caught.value.stderr_tail

    data = clip.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])  # the moov atom (index) sits at the end
    with pytest.raises(MediaError, match="truncated|corrupt"):
        probe_duration(truncated)
    with pytest.raises(MediaError):
        extract_audio(truncated, tmp_path / "speech.mp3")


def test_missing_and_unsupported_inputs(tmp_path: Path):
    with pytest.raises(MissingFileError):
        probe_duration(tmp_path / "absent.mkv")
    with pytest.raises(UnsupportedFileError):
        probe_duration(tmp_path / "notes.txt")
    with pytest.raises(MissingFileError):
        file_sha256(tmp_path / "absent.mkv")


def test_split_audio_keeps_offsets(tmp_path: Path, media_dir: Path):
    audio = extract_audio(media_dir / "tone.mp3", tmp_path / "speech.mp3")
    chunks = split_audio(audio, tmp_path / "chunks", max_seconds=1.0)
    assert len(chunks) >= 3
    assert chunks[0].offset_seconds == 0.0
    for current, following in zip(chunks, chunks[1:]):
        assert following.offset_seconds == pytest.approx(current.offset_seconds + current.duration_seconds, abs=1e-3)
        assert current.duration_seconds <= 1.1
    assert sum(c.duration_seconds for c in chunks) == pytest.approx(probe_duration(audio), abs=0.2)
    assert all(c.path.is_file() and c.path.parent == tmp_path / "chunks" for c in chunks)
    assert not list((tmp_path / "chunks").glob("*.csv"))


def test_split_audio_by_size_and_small_files_stay_whole(tmp_path: Path, media_dir: Path):
    audio = extract_audio(media_dir / "tone.mp3", tmp_path / "speech.flac")
    whole = split_audio(audio, tmp_path / "chunks")
    assert len(whole) == 1 and whole[0].path == audio and whole[0].offset_seconds == 0.0
    size = audio.stat().st_size
    parts = split_audio(audio, tmp_path / "chunks", max_bytes=size // 2)
    assert len(parts) >= 2
    assert all(p.path.stat().st_size <= size // 2 for p in parts)


def test_file_sha256_streams_the_whole_file(tmp_path: Path):
    path = tmp_path / "big.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)  # several read buffers
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
