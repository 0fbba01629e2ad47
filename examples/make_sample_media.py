"""Regenerate examples/sample_stream.mp4, the tiny stand-in recording for sample_stream.ja.srt.

The video is a flat pastel frame at 1 fps and the audio a quiet 440 Hz tone:
the point is a real, playable file whose duration matches the subtitles (so
the whole pipeline can run offline), not the picture.  Output is
deterministic for a given ffmpeg build: bit-exact flags, one encoder thread,
strict interleaving, no metadata, and x264's version SEI stripped.

Usage: python examples/make_sample_media.py [--out PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import srt

HERE = Path(__file__).resolve().parent
SUBTITLES = HERE / "sample_stream.ja.srt"
OUTPUT = HERE / "sample_stream.mp4"
TAIL_SECONDS = 2  # a little silence after the last line, as in a real recording


def sample_duration(subtitles: Path = SUBTITLES) -> int:
    """Whole seconds covering the last cue plus a short tail."""
    cues = list(srt.parse(subtitles.read_text(encoding="utf-8")))
    last_end = max(cue.end.total_seconds() for cue in cues)
    return math.ceil(last_end) + TAIL_SECONDS


def ffmpeg_command(out: Path, seconds: int) -> list[str]:
    return [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error",
        "-f", "lavfi", "-i", f"color=c=0xF7D6E0:s=160x90:r=1:d={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=16000:duration={seconds}",
        "-filter:a", "volume=0.05",
        "-map", "0:v", "-map", "1:a",
        "-c:v", "libx264", "-preset", "veryslow", "-tune", "stillimage", "-crf", "30", "-g", "60",
        "-pix_fmt", "yuv420p", "-threads", "1", "-bsf:v", "filter_units=remove_types=6",
        "-c:a", "aac", "-b:a", "8k", "-ac", "1",
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
        # wait for both streams before interleaving: at 1 fps x264's look-ahead outlasts the
        # default 10 s delta, and the packet order would then depend on thread timing
        "-movflags", "+faststart", "-max_interleave_delta", "0", "-t", str(seconds),
        str(out),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    seconds = sample_duration()
    result = subprocess.run(ffmpeg_command(args.out, seconds), capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return result.returncode
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"{args.out}: {seconds} s, {args.out.stat().st_size} bytes, sha256 {digest[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
