"""Media files through ffmpeg: duration, speech-ready audio, chunks, content hashes.

The ffmpeg binary comes from ``imageio-ffmpeg`` so nothing has to be
installed on the host.  Audio for transcription is mono 16 kHz (what speech
models resample to anyway); as 32 kbit/s MP3 an hour is ~14 MB, well under the
25 MB upload limit of hosted transcription APIs.  Longer audio is split with
ffmpeg's segment muxer, and each chunk keeps its offset so results can be
re-timed onto the recording.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg

from aivlingual_assets.ingestion.errors import MediaError, MissingFileError, UnsupportedFileError

MEDIA_EXTENSIONS: tuple[str, ...] = (".mp4", ".mkv", ".webm", ".mov", ".wav", ".mp3", ".m4a", ".flac")
AUDIO_OUTPUT_EXTENSIONS: tuple[str, ...] = (".mp3", ".flac", ".wav")
TRANSCRIPTION_UPLOAD_LIMIT_BYTES = 25 * 1024 * 1024
DEFAULT_MP3_BITRATE = "32k"
STDERR_TAIL_LINES = 8

_DURATION = re.compile(r"Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """A piece of a longer audio file; add ``offset_seconds`` to times found in it."""

    path: Path
    offset_seconds: float
    duration_seconds: float


def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg binary (or ``IMAGEIO_FFMPEG_EXE`` if set)."""
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as error:
        raise MediaError(
            "ffmpeg",
            f"no ffmpeg binary is available ({error}). "
            "Reinstall imageio-ffmpeg or set IMAGEIO_FFMPEG_EXE to an ffmpeg binary.",
        ) from None


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, streamed so multi-GB recordings never sit in memory."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()  # reads 256 KiB at a time
    except (FileNotFoundError, IsADirectoryError):
        raise MissingFileError(path) from None


def probe_duration(path: str | Path) -> float:
    """Container duration in seconds, read from ffmpeg's header probe (no decoding)."""
    path = _existing_media(path)
    result = _run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)])
    # ffmpeg exits 1 here ("At least one output file must be specified"); the header is still printed
    match = _DURATION.search(result.stderr)
    if not match:
        raise MediaError(
            path,
            "ffmpeg could not read a duration; the file is probably truncated, corrupt or not media.",
            _tail(result.stderr),
        )
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def extract_audio(
    media_path: str | Path,
    out_path: str | Path,
    *,
    sample_rate: int = 16000,
    bitrate: str = DEFAULT_MP3_BITRATE,
    start: float | None = None,
    seconds: float | None = None,
) -> Path:
    """Write the first audio stream as mono ``sample_rate`` Hz .mp3 / .flac / .wav.

    ``start``/``seconds`` cut a piece (e.g. a voice sample), written bit-exactly so the same piece
    is the same bytes every time. The output is written to a temporary name and renamed, so a crash
    never leaves a half-written file that looks finished.
    """
    media_path = _existing_media(media_path)
    out_path = Path(out_path)
    suffix = out_path.suffix.lower()
    if suffix not in AUDIO_OUTPUT_EXTENSIONS:
        raise UnsupportedFileError(out_path, AUDIO_OUTPUT_EXTENSIONS)
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    codec = {".mp3": ["-c:a", "libmp3lame", "-b:a", bitrate], ".flac": ["-c:a", "flac"],
             ".wav": ["-c:a", "pcm_s16le"]}[suffix]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(f".{out_path.name}.partial{suffix}")
    piece = ([] if start is None else ["-ss", f"{max(0.0, start):.3f}"]) + (
        [] if seconds is None else ["-t", f"{seconds:.3f}"])
    exact = ["-fflags", "+bitexact", "-flags:a", "+bitexact"] if piece else []
    command = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error", *piece,
        "-i", str(media_path), "-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "-1",
        "-ac", "1", "-ar", str(sample_rate), *codec, *exact, str(partial),
    ]
    result = _run(command)
    if result.returncode != 0 or not partial.is_file() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        problem = "ffmpeg could not extract its audio"
        if "matches no streams" in result.stderr:
            problem = "it has no audio stream"
        raise MediaError(media_path, f"{problem} (exit code {result.returncode}).", _tail(result.stderr))
    os.replace(partial, out_path)
    return out_path


def split_audio(
    audio_path: str | Path,
    out_dir: str | Path,
    *,
    max_bytes: int = TRANSCRIPTION_UPLOAD_LIMIT_BYTES,
    max_seconds: float | None = None,
) -> list[AudioChunk]:
    """Split audio into chunks below ``max_bytes`` (and ``max_seconds``), with their offsets.

    Audio already within the limits is returned as a single chunk (the file
    itself).  Chunks are cut without re-encoding, at frame boundaries; their
    real start times come from ffmpeg's segment list, not from arithmetic.
    """
    audio_path = _existing_media(audio_path)
    suffix = audio_path.suffix.lower()
    if suffix not in AUDIO_OUTPUT_EXTENSIONS:
        raise UnsupportedFileError(audio_path, AUDIO_OUTPUT_EXTENSIONS)
    if max_bytes <= 0 or (max_seconds is not None and max_seconds <= 0):
        raise ValueError("max_bytes and max_seconds must be positive")
    duration = probe_duration(audio_path)
    size = audio_path.stat().st_size
    if size <= max_bytes and (max_seconds is None or duration <= max_seconds):
        return [AudioChunk(audio_path, 0.0, duration)]
    # 10 % head-room: bitrate is not perfectly even over time
    chunk_seconds = duration * (max_bytes * 0.9) / size
    if max_seconds is not None:
        chunk_seconds = min(chunk_seconds, max_seconds)
    chunk_seconds = max(chunk_seconds, 1.0)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    listing = out_dir / f"{audio_path.stem}.chunks.csv"
    pattern = out_dir / f"{audio_path.stem}.%04d{suffix}"
    command = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error", "-i", str(audio_path),
        "-map", "0:a:0", "-c", "copy", "-f", "segment", "-segment_time", f"{chunk_seconds:.3f}",
        "-reset_timestamps", "1", "-segment_list", str(listing), "-segment_list_type", "csv",
        str(pattern),
    ]
    result = _run(command)
    if result.returncode != 0 or not listing.is_file():
        raise MediaError(audio_path, f"ffmpeg could not split it (exit code {result.returncode}).",
                         _tail(result.stderr))
    chunks = []
    with listing.open(newline="", encoding="utf-8") as handle:
        for name, start, end in csv.reader(handle):
            chunks.append(AudioChunk(out_dir / name, float(start), round(float(end) - float(start), 6)))
    listing.unlink()
    return chunks


def _existing_media(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in MEDIA_EXTENSIONS:
        raise UnsupportedFileError(path, MEDIA_EXTENSIONS)
    if not path.is_file():
        raise MissingFileError(path, "media file")
    return path


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, errors="replace", check=False)
    except OSError as error:
        raise MediaError(command[0], f"ffmpeg could not be started ({error}).") from None


def _tail(stderr: str, lines: int = STDERR_TAIL_LINES) -> str:
    return "\n".join(line for line in stderr.strip().splitlines()[-lines:])
