"""Cut a planned clip out of a recording as a vertical, subtitled YouTube Short.

The stream (usually 16:9) is scaled to the full 1080 px width and centred on
a blurred, darkened copy of itself filling 1080x1920; the ASS subtitles from
:mod:`subtitle_burn` are burned in by libass (the bundled ffmpeg has it).
Fonts are resolved through a private fontconfig file that lists only
``font_dir``, so rendering is identical on machines with or without system
fonts.  Output is H.264/yuv420p + AAC with ``+faststart`` and is written
atomically: a crash never leaves a half-written clip under the final name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from aivlingual_assets.publishing.clip_planner import ClipPlan
from aivlingual_assets.publishing.media_check import (
    SHORTS_HEIGHT,
    SHORTS_WIDTH,
    MediaProbeError,
    ffmpeg_exe,
    probe_video,
    stderr_tail,
)
from aivlingual_assets.publishing.subtitle_burn import DEFAULT_FONT_NAME, japanese_font_dir, write_ass

MIN_CLIP_SECONDS = 0.5
BACKGROUND_COLOUR = "0x101018"  # for audio-only recordings
AUDIO_BITRATE = "160k"
_FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")


class ClipError(RuntimeError):
    """ffmpeg could not cut a clip; ``stderr`` holds ffmpeg's last lines."""

    def __init__(self, message: str, stderr: str = ""):
        self.stderr = stderr
        super().__init__(f"{message}\n--- ffmpeg stderr (last lines) ---\n{stderr}" if stderr else message)


def run_ffmpeg(args: Sequence[str], *, what: str, timeout: float | None = None, cwd: Path | None = None,
               env: dict[str, str] | None = None) -> None:
    """Run the bundled ffmpeg with ``args``; raise ClipError (with stderr tail) on failure."""
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error", *args]
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, errors="replace", timeout=timeout, cwd=cwd, env=env
        )
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        raise ClipError(f"ffmpeg timed out after {timeout}s while {what}", stderr_tail(stderr)) from exc
    if proc.returncode != 0:
        raise ClipError(f"ffmpeg failed (exit {proc.returncode}) while {what}", stderr_tail(proc.stderr))


@contextlib.contextmanager
def atomic_output(out_path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``out_path``; move it into place only on success."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.stem}.{uuid.uuid4().hex[:8]}.part{out_path.suffix}")
    try:
        yield tmp
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise ClipError(f"nothing was written for {out_path}")
        os.replace(tmp, out_path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _stage_fonts(font_dir: Path, workdir: Path) -> Path:
    """Link the font files into ``workdir/fonts`` and write a fontconfig file for just them."""
    fonts = workdir / "fonts"
    fonts.mkdir()
    found = sorted(p for p in font_dir.iterdir() if p.suffix.lower() in _FONT_SUFFIXES and p.is_file())
    if not found:
        raise FileNotFoundError(f"no font files ({', '.join(_FONT_SUFFIXES)}) in {font_dir}")
    for font in found:
        try:
            (fonts / font.name).symlink_to(font.resolve())
        except OSError:
            shutil.copy2(font, fonts / font.name)
    (workdir / "fonts.conf").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        f"  <dir>{fonts.resolve()}</dir>\n  <cachedir>{(workdir / 'fontcache').resolve()}</cachedir>\n"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    return fonts


SHORTS_FPS = 30


def vertical_filter(*, has_video: bool, subtitles: str | None, fonts: str | None,
                    source_fps: float | None = None) -> str:
    """Filter graph producing ``[v]``: a 1080x1920 frame, source fitted to the width over a blur."""
    w, h = SHORTS_WIDTH, SHORTS_HEIGHT
    if has_video:
        graph = (
            # square pixels first, so anamorphic sources keep their display aspect
            "[0:v:0]scale='trunc(iw*sar/2)*2':'trunc(ih/2)*2',setsar=1,split=2[bgsrc][fgsrc];"
            # blur a quarter-size copy: same look, a fraction of the cost
            f"[bgsrc]scale={w // 4}:{h // 4}:force_original_aspect_ratio=increase,crop={w // 4}:{h // 4},"
            f"boxblur=10:2,eq=brightness=-0.12:saturation=0.8,scale={w}:{h},setsar=1[bg];"
            f"[fgsrc]scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1[fg];"
            "[bg][fg]overlay=(W-w)/2:(H-h)/2"
        )
    else:
        graph = "[1:v]setsar=1"
    # at most 30 fps (a 60 fps stream would double the encoding work for no visible gain);
    # a slower source keeps its rate, so a slideshow-like recording stays cheap to cut
    graph += f",fps={min(source_fps or SHORTS_FPS, SHORTS_FPS):g}"
    if subtitles:
        graph += f",ass={subtitles}" + (f":fontsdir={fonts}" if fonts else "")
    return graph + ",format=yuv420p[v]"


def cut_clip(
    media_path: str | Path,
    plan: ClipPlan,
    out_path: str | Path,
    *,
    font_dir: str | Path | None = None,
    font_name: str = DEFAULT_FONT_NAME,
    burn_subtitles: bool = True,
    crf: int = 23,
    preset: str = "veryfast",
    timeout: float | None = 1800,
) -> Path:
    """Cut ``plan`` from ``media_path`` into a vertical Short at ``out_path``.

    ``font_dir`` defaults to the PyPI-shipped IPAexGothic (``font_name`` must
    be a family in it).  A recording without audio gets a silent AAC track and
    one without video a plain background, so every Short has both streams.
    Raises FileNotFoundError for a missing input and ClipError when the input
    is unreadable, the clip lies outside it, or ffmpeg fails.
    """
    media_path = Path(media_path).resolve()
    out_path = Path(out_path).resolve()
    if not media_path.is_file():
        raise FileNotFoundError(f"recording not found: {media_path}")
    try:
        info = probe_video(media_path)
    except MediaProbeError as exc:
        raise ClipError(f"cannot read recording {media_path}", str(exc)) from exc

    start = max(0.0, float(plan.start))
    end = float(plan.end)
    if info.duration > 0:
        if start >= info.duration:
            raise ClipError(f"clip {plan.index} starts at {start:.2f}s, after the recording ends ({info.duration:.2f}s)")
        end = min(end, info.duration)
    length = end - start
    if length < MIN_CLIP_SECONDS:
        raise ClipError(f"clip {plan.index} is {length:.2f}s long ({start:.2f}-{end:.2f}s); nothing to cut")

    with tempfile.TemporaryDirectory(prefix="aivlingual-clip-") as tmp:
        workdir = Path(tmp)
        env = dict(os.environ)
        subtitles = fonts = None
        if burn_subtitles:
            staged = _stage_fonts(Path(font_dir) if font_dir is not None else japanese_font_dir(), workdir)
            write_ass(plan, workdir / "subs.ass", font_name=font_name)
            subtitles, fonts = "subs.ass", staged.name  # relative: no filtergraph escaping needed
            env["FONTCONFIG_FILE"] = str(workdir / "fonts.conf")

        args: list[str] = ["-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", str(media_path)]
        if not info.has_video:
            args += ["-f", "lavfi", "-i", f"color=c={BACKGROUND_COLOUR}:s={SHORTS_WIDTH}x{SHORTS_HEIGHT}:r=30"]
        audio_input = "0:a:0"
        if not info.has_audio:
            args += ["-f", "lavfi", "-i", "anullsrc=channel_layout=stereo:sample_rate=48000"]
            audio_input = f"{2 if not info.has_video else 1}:a"
        args += [
            "-filter_complex", vertical_filter(has_video=info.has_video, subtitles=subtitles, fonts=fonts,
                                               source_fps=info.fps),
            "-map", "[v]", "-map", audio_input,
            "-t", f"{length:.3f}",
            "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
            "-profile:v", "high",
            "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", "48000", "-ac", "2",
            "-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn",
            "-movflags", "+faststart",
            "-f", "mp4",
        ]
        with atomic_output(out_path) as partial:
            run_ffmpeg(
                [*args, str(partial)],
                what=f"cutting clip {plan.index} ({start:.2f}-{end:.2f}s) from {media_path.name}",
                timeout=timeout,
                cwd=workdir,
                env=env,
            )
    return out_path
