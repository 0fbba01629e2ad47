"""A cover (1080x1920) and a thumbnail (1280x720) per Short, the key expression set large over a still.

Frame rule: the key expression is the Short's headline expression (the hardest, ties by time, as its
title uses). Candidate stills are taken 0.2, 0.7 and 1.2 s after it starts being said, plus the clip's
midpoint (all inside the clip); the sharpest wins (variance of the edge image: a speaker caught
mid-motion or a scene cut is blurry, a face or an on-screen caption is sharp). A recording without a
picture stream gets a plain background.

Safe areas (text, its panel and the credit stay inside):

- cover 1080x1920: x 60-880, y 250-1500 -- clear of the Shorts top bar, the action buttons down the
  right-hand side and the title/caption block at the bottom;
- thumbnail 1280x720: x 64-1216, y 48-620 -- clear of the edges and of the duration badge that YouTube
  draws in the bottom-right corner.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image, ImageFilter, ImageStat

from .cards import GREY, WHITE, YELLOW, Box, TextLine, compose, fill_background, paste_fitted, text_layer
from .clip_cutter import run_ffmpeg
from .clip_planner import ClipExpression, ClipPlan, headline_expressions
from .content_source import Source
from .media_check import probe_video

COVER_SIZE = (1080, 1920)
THUMBNAIL_SIZE = (1280, 720)
COVER_SAFE = Box(60, 250, 880, 1500)
THUMBNAIL_SAFE = Box(64, 48, 1216, 620)
COVER_PICTURE = Box(0, 330, 1080, 938)  # where the 16:9 still sits on the cover
THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024  # YouTube's limit for a custom thumbnail
CANDIDATE_OFFSETS = (0.2, 0.7, 1.2)
RENDER_VERSION = "1"


def key_expression(plan: ClipPlan) -> ClipExpression | None:
    heads = headline_expressions(plan, 1)
    return heads[0] if heads else None


def candidate_times(plan: ClipPlan, key: ClipExpression | None) -> list[float]:
    """The documented frame rule's candidates, inside the clip."""
    last = max(plan.start, plan.end - 0.05)
    times = [key.start + offset for offset in CANDIDATE_OFFSETS] if key else []
    times.append((plan.start + plan.end) / 2)
    return list(dict.fromkeys(round(min(max(t, plan.start), last), 2) for t in times))


def sharpness(image: Image.Image) -> float:
    return float(ImageStat.Stat(image.convert("L").filter(ImageFilter.FIND_EDGES)).var[0])


def grab_frame(media: str | Path, seconds: float, out: Path) -> Image.Image:
    """The displayed picture (square pixels) at ``seconds``."""
    run_ffmpeg(["-ss", f"{seconds:.3f}", "-i", str(media), "-frames:v", "1",
                "-vf", "scale='trunc(iw*sar/2)*2':'trunc(ih/2)*2',setsar=1", str(out)],
               what=f"grabbing the frame at {seconds:.2f}s", timeout=120)
    with Image.open(out) as image:
        return image.convert("RGB")


def choose_frame(media: str | Path | None, times: Sequence[float]) -> tuple[float, Image.Image | None]:
    """The sharpest candidate (the first time and no picture when the media has no video)."""
    if media is None or not probe_video(media).has_video:
        return times[0], None
    best: tuple[float, float, Image.Image] | None = None
    with tempfile.TemporaryDirectory(prefix="aivlingual-frames-") as tmp:
        for i, at in enumerate(times):
            image = grab_frame(media, at, Path(tmp) / f"{i}.png")
            score = sharpness(image)
            if best is None or score > best[0]:
                best = (score, at, image)
    assert best is not None
    return best[1], best[2]


def _lines(key: ClipExpression | None, source: Source, scale: float) -> list[TextLine]:
    credit = TextLine(f"from {source.channel_label}", int(34 * scale), GREY, min_size=18)
    if key is None:
        return [TextLine("Japanese from a live stream", int(90 * scale), YELLOW), credit]
    reading = key.reading if key.reading and key.reading != key.expression else ""
    return [
        TextLine(key.expression, int(210 * scale), YELLOW, min_size=60),
        TextLine(reading, int(84 * scale), WHITE, min_size=30),
        TextLine(key.meaning or "", int(62 * scale), WHITE, min_size=26, wrap=True),
        credit,
    ]


def render_cover(frame: Image.Image | None, key: ClipExpression | None, source: Source) -> tuple[Image.Image, Box]:
    canvas = fill_background(frame, COVER_SIZE, blur=True)
    if frame is not None:
        paste_fitted(canvas, frame, COVER_PICTURE)
    layer, ink = text_layer(COVER_SIZE, COVER_SAFE, _lines(key, source, 1.0), anchor="bottom")
    return compose(canvas, layer), ink


def render_thumbnail(frame: Image.Image | None, key: ClipExpression | None, source: Source
                     ) -> tuple[Image.Image, Box]:
    canvas = fill_background(frame, THUMBNAIL_SIZE, blur=False)
    layer, ink = text_layer(THUMBNAIL_SIZE, THUMBNAIL_SAFE, _lines(key, source, 0.62), anchor="bottom", gap=10)
    return compose(canvas, layer), ink


@dataclass
class ThumbnailPlan:
    recording: str
    index: int
    expression: str | None
    reading: str | None
    meaning: str | None
    frame_seconds: float
    cover_path: str | None = None
    thumbnail_path: str | None = None
    cover_text_box: str = "[]"
    thumbnail_text_box: str = "[]"


def _save(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.part.jpg")
    image.save(tmp, "JPEG", quality=90, optimize=True)
    os.replace(tmp, path)


def build_thumbnails(plans: Sequence[ClipPlan], *, source: Source, media: str | Path | None, out_dir: Path,
                     render: bool) -> list[ThumbnailPlan]:
    """A plan per Short; with ``render`` (media present and cleared) its cover and thumbnail files too."""
    out = []
    for plan in plans:
        key = key_expression(plan)
        times = candidate_times(plan, key)
        row = ThumbnailPlan(recording=source.recording, index=plan.index, expression=key.expression if key else None,
                            reading=key.reading if key else None, meaning=key.meaning if key else None,
                            frame_seconds=times[0])
        if render:
            digest = hashlib.sha256(json.dumps([RENDER_VERSION, plan.model_dump(mode="json"), asdict(source)],
                                               ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:12]
            row.frame_seconds, frame = choose_frame(media, times)
            for kind, render_one in (("cover", render_cover), ("thumbnail", render_thumbnail)):
                image, ink = render_one(frame, key, source)
                path = out_dir / f"{source.recording}-{plan.index:02d}-{digest}-{kind}.jpg"
                _save(image, path)
                setattr(row, f"{kind}_path", str(path))
                setattr(row, f"{kind}_text_box", json.dumps(ink.as_list()))
        out.append(row)
    return out


def thumbnail_problems(row: ThumbnailPlan) -> list[str]:
    """Wrong size, too big a file, or text outside the safe area."""
    problems = []
    for kind, size, safe in (("cover", COVER_SIZE, COVER_SAFE), ("thumbnail", THUMBNAIL_SIZE, THUMBNAIL_SAFE)):
        path = getattr(row, f"{kind}_path")
        if not path:
            continue
        if not Path(path).is_file():
            problems.append(f"Short {row.index}: {kind} {path} is missing")
            continue
        with Image.open(path) as image:
            if image.size != size:
                problems.append(f"Short {row.index}: {kind} is {image.size[0]}x{image.size[1]}, expected "
                                f"{size[0]}x{size[1]}")
        if kind == "thumbnail" and Path(path).stat().st_size > THUMBNAIL_MAX_BYTES:
            problems.append(f"Short {row.index}: thumbnail is over 2 MB")
        box = Box(*json.loads(getattr(row, f"{kind}_text_box")))
        if not safe.contains(box):
            problems.append(f"Short {row.index}: {kind} text {box.as_list()} leaves the safe area {safe.as_list()}")
    return problems
