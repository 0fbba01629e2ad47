"""Cutting vertical Shorts with ffmpeg, and probing / verifying the result."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from aivlingual_assets.publishing.clip_cutter import ClipError, cut_clip
from aivlingual_assets.publishing.clip_planner import ClipExpression, ClipPlan, TranscriptLine
from aivlingual_assets.publishing.media_check import (
    MediaProbeError,
    ffmpeg_exe,
    parse_ffmpeg_info,
    probe_video,
    verify_clip,
)


def make_media(path: Path, *, seconds: float = 20, video: bool = True, audio: bool = True) -> Path:
    """A tiny generated recording: 64x36 testsrc at 10 fps and/or a sine tone."""
    args = [ffmpeg_exe(), "-v", "error", "-y"]
    if video:
        args += ["-f", "lavfi", "-i", f"testsrc=size=64x36:rate=10:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    if video:
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac"]
    subprocess.run([*args, str(path)], check=True, timeout=60)
    return path


def frame(path: Path, at: float) -> np.ndarray:
    """One decoded frame, grey, downscaled to 108x192."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-ss", str(at), "-i", str(path), "-frames:v", "1",
         "-vf", "scale=108:192", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        check=True, capture_output=True, timeout=60,
    ).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(192, 108).astype(int)


def make_plan(start: float = 5.0, end: float = 9.0) -> ClipPlan:
    return ClipPlan(
        index=1,
        start=start,
        end=end,
        score=1.0,
        expressions=[ClipExpression(expression="推し", reading="おし", meaning="favourite member", start=start + 0.5)],
        lines=[TranscriptLine(start=start, end=end, text="今日も推しが可愛い！")],
        title_ja="「推し」ってどういう意味？",
    )


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def recording(media_dir) -> Path:
    return make_media(media_dir / "stream.mp4")


@pytest.fixture(scope="module")
def short(recording, media_dir) -> Path:
    return cut_clip(recording, make_plan(), media_dir / "out" / "short_01.mp4")


def test_probe_reads_the_generated_recording(recording):
    info = probe_video(recording)
    assert (info.width, info.height) == (64, 36)
    assert info.has_audio and info.has_video
    assert info.duration == pytest.approx(20.0, abs=0.2)


def test_cut_clip_is_a_vertical_h264_short_with_audio(short):
    info = probe_video(short)
    assert (info.width, info.height) == (1080, 1920)
    assert info.duration == pytest.approx(4.0, abs=0.5)
    assert info.has_audio and info.video_codec == "h264" and info.pix_fmt.startswith("yuv420p")
    assert verify_clip(short, 4.0) == []
    assert [p.name for p in short.parent.iterdir()] == ["short_01.mp4"]  # no temp files left


def test_subtitles_are_burned_in(short, recording, media_dir):
    bare = cut_clip(recording, make_plan(), media_dir / "bare.mp4", burn_subtitles=False)
    with_subs, without = frame(short, 1.0), frame(bare, 1.0)
    # the title/gloss band at the top and the Japanese line at the bottom differ ...
    assert np.abs(with_subs[:60] - without[:60]).mean() > 2
    assert np.abs(with_subs[125:160] - without[125:160]).mean() > 2
    # ... while the stream in the middle is untouched
    assert np.abs(with_subs[75:110] - without[75:110]).mean() < 2


def test_media_without_audio_gets_a_silent_track(media_dir):
    silent = make_media(media_dir / "silent.mp4", seconds=6, audio=False)
    out = cut_clip(silent, make_plan(1.0, 3.0), media_dir / "silent_short.mp4")
    assert verify_clip(out, 2.0) == []


def test_audio_only_recording_gets_a_plain_background(media_dir):
    podcast = make_media(media_dir / "radio.m4a", seconds=6, video=False)
    out = cut_clip(podcast, make_plan(1.0, 3.0), media_dir / "radio_short.mp4")
    assert verify_clip(out, 2.0) == []


def test_corrupt_input_raises_clip_error_and_leaves_nothing(media_dir):
    corrupt = media_dir / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    out_dir = media_dir / "corrupt_out"
    with pytest.raises(ClipError) as excinfo:
        cut_clip(corrupt, make_plan(), out_dir / "short.mp4")
    assert "ffmpeg" in str(excinfo.value) and excinfo.value.stderr
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_truncated_recording_fails_with_ffmpeg_stderr(recording, media_dir):
    truncated = media_dir / "truncated.mp4"
    truncated.write_bytes(recording.read_bytes()[: recording.stat().st_size // 3])
    with pytest.raises(ClipError):
        cut_clip(truncated, make_plan(), media_dir / "truncated_short.mp4")
    assert not (media_dir / "truncated_short.mp4").exists()


def test_clip_outside_the_recording_is_rejected(recording, media_dir):
    with pytest.raises(ClipError, match="after the recording ends"):
        cut_clip(recording, make_plan(30.0, 40.0), media_dir / "late.mp4")
    with pytest.raises(FileNotFoundError):
        cut_clip(media_dir / "missing.mp4", make_plan(), media_dir / "x.mp4")


def test_verify_clip_reports_problems(recording, short, media_dir):
    problems = verify_clip(recording, 20.0, decode=False)
    assert any("64x36" in p for p in problems)
    assert any("expected 10.00s" in p for p in verify_clip(short, 10.0))
    assert verify_clip(media_dir / "nope.mp4", 4.0) == [f"clip file is missing: {media_dir / 'nope.mp4'}"]
    junk = media_dir / "junk.mp4"
    junk.write_bytes(b"not a video")
    assert "not readable" in verify_clip(junk, 4.0)[0]
    with pytest.raises(MediaProbeError):
        probe_video(junk)


def test_parse_handles_rotation_and_cover_art():
    stderr = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'phone.mp4':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 900 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 1920x1080, 30 fps (default)
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 128 kb/s (default)
  Stream #0:2: Video: mjpeg (Baseline), yuvj420p(pc), 600x600 [SAR 1:1 DAR 1:1], 90k tbr (attached pic)
"""
    info = parse_ffmpeg_info(stderr)
    assert (info.width, info.height, info.duration, info.has_audio) == (1080, 1920, 62.5, True)
    assert info.audio_codec == "aac" and info.pix_fmt == "yuv420p"
