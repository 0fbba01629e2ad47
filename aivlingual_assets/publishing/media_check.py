"""Probe media files and verify finished Shorts with the bundled ffmpeg binary.

Only ``ffmpeg`` ships with imageio-ffmpeg (no ``ffprobe``), so the facts a
pipeline needs -- duration, picture size, whether there is sound -- are read
from the stream summary that ``ffmpeg -i FILE`` prints to stderr.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

SHORTS_WIDTH = 1080
SHORTS_HEIGHT = 1920

_PROBE_TIMEOUT_S = 120.0


class MediaProbeError(RuntimeError):
    """ffmpeg could not read the file as media (corrupt, truncated, not a video)."""


@dataclass(frozen=True)
class VideoInfo:
    """What a pipeline needs to know about a media file.

    ``width``/``height`` are the *displayed* size (a rotated phone video reports
    its upright size) and are ``None`` when the file has no picture stream.
    """

    duration: float
    width: int | None
    height: int | None
    has_audio: bool
    video_codec: str | None = None
    audio_codec: str | None = None
    pix_fmt: str | None = None
    fps: float | None = None  # frames per second of the picture stream

    @property
    def has_video(self) -> bool:
        return self.width is not None and self.height is not None


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled in the imageio-ffmpeg wheel."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def stderr_tail(stderr: str, lines: int = 15) -> str:
    """The last non-empty lines of ffmpeg's stderr: where its real error is."""
    kept = [line for line in stderr.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


_DURATION_RE = re.compile(r"^\s*Duration:\s*(?P<value>N/A|\d+:\d{2}:\d{2}(?:\.\d+)?)", re.MULTILINE)
_STREAM_RE = re.compile(r"^\s*Stream #\d+:\d+.*?:\s*(?P<kind>Video|Audio):\s*(?P<rest>.*)$", re.MULTILINE)
_SIZE_RE = re.compile(r"(?:^|[\s,])(?P<w>\d{2,5})x(?P<h>\d{2,5})(?:[\s,\[]|$)")
_ROTATION_RE = re.compile(r"rotation of (?P<deg>-?\d+(?:\.\d+)?) degrees")
_FPS_RE = re.compile(r"(?P<fps>\d+(?:\.\d+)?)\s*fps\b")
_TIME_RE = re.compile(r"time=(?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2}(?:\.\d+)?)")
_PIX_FMTS = re.compile(r"\b(yuv\w+|yuvj\w+|nv12|nv21|rgb24|rgba|bgr24|bgra|gray\w*|gbrp\w*|p010\w*)\b")


def _hms_to_seconds(value: str) -> float:
    hours, minutes, seconds = value.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _codec_name(rest: str) -> str:
    return rest.split(",", 1)[0].split("(", 1)[0].strip()


def parse_ffmpeg_info(stderr: str) -> VideoInfo:
    """Parse the ``ffmpeg -i`` banner; raises MediaProbeError when there is no media in it."""
    if "Input #0" not in stderr:
        raise MediaProbeError(f"ffmpeg could not open the file:\n{stderr_tail(stderr)}")
    width = height = None
    video_codec = audio_codec = pix_fmt = None
    fps = None
    has_audio = False
    lines = stderr.splitlines()
    for match in _STREAM_RE.finditer(stderr):
        rest = match.group("rest")
        if match.group("kind") == "Audio":
            if not has_audio:
                has_audio = True
                audio_codec = _codec_name(rest)
            continue
        if width is not None or "(attached pic)" in rest:  # cover art is not the picture
            continue
        size = _SIZE_RE.search(rest)
        if not size:
            continue
        width, height = int(size.group("w")), int(size.group("h"))
        video_codec = _codec_name(rest)
        fmt = _PIX_FMTS.search(rest)
        pix_fmt = fmt.group(1) if fmt else None
        rate = _FPS_RE.search(rest)
        fps = float(rate.group("fps")) if rate else None
        # the side data following this stream line may say the picture is rotated
        start_line = stderr[: match.start()].count("\n")
        for line in lines[start_line + 1 : start_line + 12]:
            if line.lstrip().startswith("Stream #"):
                break
            rotation = _ROTATION_RE.search(line)
            if rotation and round(abs(float(rotation.group("deg")))) % 180 == 90:
                width, height = height, width
                break
    if width is None and not has_audio:
        raise MediaProbeError(f"no audio or video stream found:\n{stderr_tail(stderr)}")
    duration_match = _DURATION_RE.search(stderr)
    duration = -1.0
    if duration_match and duration_match.group("value") != "N/A":
        duration = _hms_to_seconds(duration_match.group("value"))
    return VideoInfo(
        duration=duration,
        width=width,
        height=height,
        has_audio=has_audio,
        video_codec=video_codec,
        fps=fps,
        audio_codec=audio_codec,
        pix_fmt=pix_fmt,
    )


def _decoded_duration(path: Path) -> float:
    """Duration by decoding the whole file: the fallback when the container has none."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=_PROBE_TIMEOUT_S * 10,
    )
    times = list(_TIME_RE.finditer(proc.stderr))
    if not times:
        raise MediaProbeError(f"could not determine the duration of {path}:\n{stderr_tail(proc.stderr)}")
    last = times[-1]
    return int(last.group("h")) * 3600 + int(last.group("m")) * 60 + float(last.group("s"))


def probe_video(path: str | Path) -> VideoInfo:
    """Duration, displayed size and audio presence of a media file.

    Raises FileNotFoundError for a missing file and MediaProbeError for a file
    ffmpeg cannot read.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"media file not found: {path}")
    try:
        proc = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_PROBE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise MediaProbeError(f"ffmpeg timed out probing {path}") from exc
    info = parse_ffmpeg_info(proc.stderr)  # ffmpeg -i without output always exits 1
    if info.duration < 0:
        info = VideoInfo(**{**info.__dict__, "duration": _decoded_duration(path)})
    return info


def _decode_errors(path: Path) -> str:
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=_PROBE_TIMEOUT_S * 5,
    )
    if proc.returncode != 0 or proc.stderr.strip():
        return stderr_tail(proc.stderr, 5) or f"ffmpeg exited with {proc.returncode}"
    return ""


def verify_clip(
    path: str | Path,
    expected_duration: float,
    tolerance: float = 0.5,
    *,
    width: int = SHORTS_WIDTH,
    height: int = SHORTS_HEIGHT,
    require_audio: bool = True,
    decode: bool = True,
) -> list[str]:
    """Problems that would make a cut Short unfit to publish; empty when it is fine.

    Checks existence, that ffmpeg reads it, the vertical size, the duration
    (within ``tolerance`` seconds), H.264/yuv420p, an audio track, and -- with
    ``decode`` -- that every frame decodes without error.
    """
    path = Path(path)
    if not path.is_file():
        return [f"clip file is missing: {path}"]
    if path.stat().st_size == 0:
        return [f"clip file is empty: {path}"]
    try:
        info = probe_video(path)
    except MediaProbeError as exc:
        return [f"clip is not readable media: {exc}"]
    problems: list[str] = []
    if not info.has_video:
        problems.append("clip has no video stream")
    elif (info.width, info.height) != (width, height):
        problems.append(f"clip is {info.width}x{info.height}, expected {width}x{height}")
    if info.has_video and info.video_codec != "h264":
        problems.append(f"video codec is {info.video_codec}, expected h264")
    if info.has_video and info.pix_fmt is not None and not info.pix_fmt.startswith("yuv420p"):
        problems.append(f"pixel format is {info.pix_fmt}, expected yuv420p")
    if info.fps:  # a clip can only end on a frame boundary
        tolerance = max(tolerance, 1.0 / info.fps + 0.05)
    if abs(info.duration - expected_duration) > tolerance:
        problems.append(
            f"clip lasts {info.duration:.2f}s, expected {expected_duration:.2f}s (±{tolerance:.2f}s)"
        )
    if require_audio and not info.has_audio:
        problems.append("clip has no audio stream")
    if decode and not problems:
        errors = _decode_errors(path)
        if errors:
            problems.append(f"clip does not decode cleanly: {errors}")
    return problems
