"""Shared fixtures: fixture-file folders and tiny media generated with the bundled ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

DATA = Path(__file__).parent / "data"
SUBTITLES = DATA / "subtitles"
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def make_media(path: Path, *, seconds: float = 2.0, video: bool = True, audio: bool = True) -> Path:
    """A tiny real media file: lavfi test pattern and/or a sine tone."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    command = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-v", "error"]
    if video:
        command += ["-f", "lavfi", "-i", f"testsrc=size=64x36:rate=5:duration={seconds}"]
    if audio:
        command += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=22050:duration={seconds}"]
    suffix = path.suffix.lower()
    if video:
        command += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        command += {".mp3": ["-c:a", "libmp3lame"], ".flac": ["-c:a", "flac"], ".wav": ["-c:a", "pcm_s16le"]}.get(
            suffix, ["-c:a", "aac"]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([*command, str(path)], check=True, capture_output=True)
    return path


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only set of generated media shared by the whole session (generate once, 2 cores)."""
    folder = tmp_path_factory.mktemp("media")
    make_media(folder / "clip.mp4", seconds=2.0)
    make_media(folder / "silent_video.mp4", seconds=1.0, audio=False)
    make_media(folder / "tone.mp3", seconds=3.0, video=False)
    return folder


@pytest.fixture()
def clip(media_dir: Path) -> Path:
    return media_dir / "clip.mp4"
