"""The weekly lesson video: the week's new expressions, each introduced by a card and shown in its clip.

Plan (pure, :func:`plan_lesson`): the stock rows first seen in the week whose recording is cleared for
publishing and has local media, one per spoken line, best first (said most often this week, then the
hardest), added while the video stays under ``max_seconds`` and until it reaches ``min_seconds``
(15-20 minutes by default; shorter when the week has less). They are shown from the easiest level up.

Video (:func:`render_lesson`, 1280x720, 30 fps, H.264 + AAC): a title card listing the expressions and
the channels, then per expression a card (expression, reading, meaning, level, the line and its source)
and its clip (the line with 1.5 s of context either side, the line burned in with the expression highlighted
and the stream and channel in a corner), then a credits card with every channel and
link. Segments are encoded alike by the bundled ffmpeg (:func:`clip_cutter.run_ffmpeg`) and joined
without re-encoding; chapters (title, then one per expression card) are written into the MP4, at the
segments' measured lengths.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel

from ..analysis.stock_columns import nested
from .cards import GREY, WHITE, YELLOW, Box, TextLine, compose, fill_background, text_layer
from .clip_cutter import AUDIO_BITRATE, BACKGROUND_COLOUR, atomic_output, run_ffmpeg
from .clip_cutter import _stage_fonts as stage_fonts  # the Shorts' private fontconfig: same rendering everywhere
from .content_source import Clearance, Source, clock
from .media_check import ffmpeg_exe, probe_video, verify_clip
from .subtitle_burn import DEFAULT_FONT_NAME, ass_time, escape_ass_text, japanese_font_dir, render_text

LESSON_WIDTH, LESSON_HEIGHT = 1280, 720
LESSON_SAFE = Box(80, 60, 1200, 660)
FPS = 30
TITLE_SECONDS = 10.0  # YouTube chapters last at least 10 s
CARD_SECONDS = 5.0
CREDITS_SECONDS = 6.0
CONTEXT_SECONDS = 1.5
CLIP_MIN_SECONDS = 6.0
CLIP_MAX_SECONDS = 20.0
LEVEL_ORDER = {"N5": 0, "N4": 1, "N3": 2, "N2": 3, "N1": 4, "slang": 5, "beyond_jlpt": 6}
RENDER_VERSION = "2"  # 2: clips carry their line and the credit


class LessonItem(BaseModel):
    key: str
    expression: str
    reading: str | None = None
    meaning: str | None = None
    level: str | None = None
    level_score: float | None = None
    example: str | None = None
    count: int = 1
    recording: str
    recording_title: str
    channel: str | None = None
    url: str | None = None
    media: str
    line_start: float
    line_end: float

    @property
    def source(self) -> Source:
        return Source(recording=self.recording, title=self.recording_title, channel=self.channel, url=self.url)

    def clip_span(self) -> tuple[float, float]:
        start = max(0.0, self.line_start - CONTEXT_SECONDS)
        end = max(self.line_end + CONTEXT_SECONDS, start + CLIP_MIN_SECONDS)
        return start, min(end, start + CLIP_MAX_SECONDS)


class LessonSegment(BaseModel):
    kind: str  # title | card | clip | credits
    seconds: float
    chapter: str | None = None  # a chapter starts here
    item: LessonItem | None = None


class LessonPlan(BaseModel):
    week: str
    segments: list[LessonSegment]
    skipped: list[str] = []

    @property
    def planned_seconds(self) -> float:
        return sum(s.seconds for s in self.segments)

    @property
    def items(self) -> list[LessonItem]:
        return [s.item for s in self.segments if s.kind == "card" and s.item is not None]

    def digest(self) -> str:
        return hashlib.sha256((RENDER_VERSION + self.model_dump_json()).encode()).hexdigest()[:12]


def frames(seconds: float) -> float:
    """``seconds`` on the frame grid, so planned and encoded lengths agree."""
    return math.ceil(round(seconds * FPS, 6)) / FPS


# --- choosing ---------------------------------------------------------------------------------


def _json(value: object, default: object) -> object:
    """A stock's nested value (:func:`~aivlingual_assets.analysis.stock_columns.nested`) as a
    list or dict; ``default`` when blank, malformed or of another kind."""
    value = nested(value, default, lenient=True)
    if isinstance(value, np.ndarray):  # a list read from Parquet
        return value.tolist()
    return value if isinstance(value, (list, dict)) else default


def new_in_week(stock: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """Stock rows first seen in [start, end)."""
    def first_at(value: object) -> datetime | None:
        at = (_json(value, {}) or {}).get("at") if isinstance(_json(value, {}), dict) else None
        try:
            return datetime.fromisoformat(at) if at else None
        except ValueError:
            return None

    if not len(stock):
        return stock
    seen = stock["first_seen"].map(first_at)
    return stock[seen.map(lambda at: at is not None and start <= at < end)]


@dataclass(frozen=True)
class RecordingInfo:
    source: Source
    media: str | None
    clearance: Clearance


def lesson_items(rows: pd.DataFrame, recordings: Callable[[str], RecordingInfo | None]) -> tuple[list[LessonItem],
                                                                                                   list[str]]:
    """One item per new expression that can be shown; why the others cannot."""
    items: list[LessonItem] = []
    skipped: list[str] = []
    for row in rows.to_dict("records"):
        occurrences = _json(row.get("occurrences"), []) or []
        first = (_json(row.get("first_seen"), {}) or {}).get("recording")
        occurrence = next((o for o in occurrences if o.get("recording") == first), occurrences[0] if occurrences
                          else None)
        if not occurrence or not row.get("meaning"):
            skipped.append(f"{row['expression']}: no occurrence or meaning")
            continue
        info = recordings(occurrence["recording"])
        if info is None or info.media is None:
            skipped.append(f"{row['expression']}: its recording {occurrence['recording']} has no local media")
            continue
        if not info.clearance.cleared:
            skipped.append(f"{row['expression']}: {occurrence['recording']} is {info.clearance.reason.split(':')[0]}")
            continue
        level_score = row.get("level_score")
        items.append(LessonItem(
            key=str(row["key"]), expression=str(row["expression"]), reading=row.get("reading") or None,
            meaning=str(row["meaning"]), level=row.get("level") or None,
            level_score=None if level_score is None or pd.isna(level_score) else float(level_score),
            example=row.get("example") or None, count=int(row.get("count") or 1), recording=info.source.recording,
            recording_title=info.source.title, channel=info.source.channel, url=info.source.url, media=info.media,
            line_start=float(occurrence["start"]), line_end=float(occurrence.get("end") or occurrence["start"]),
        ))
    return items, skipped


def _segment_seconds(item: LessonItem) -> float:
    start, end = item.clip_span()
    return frames(CARD_SECONDS) + frames(end - start)


def plan_lesson(items: Sequence[LessonItem], *, week: str, min_seconds: float = 15 * 60,
                max_seconds: float = 20 * 60, skipped: Sequence[str] = ()) -> LessonPlan:
    """Title, card + clip per chosen item (easiest level first), credits; empty segments when nothing fits."""
    fixed = frames(TITLE_SECONDS) + frames(CREDITS_SECONDS)
    chosen: list[LessonItem] = []
    lines: set[tuple[str, float]] = set()
    total = fixed
    ranked = sorted(items, key=lambda i: (-i.count, -(i.level_score or 0), i.recording, i.line_start, i.expression))
    for item in ranked:
        if total >= min_seconds:
            break
        line = (item.recording, item.line_start)
        if line in lines or total + _segment_seconds(item) > max_seconds:
            continue
        lines.add(line)
        chosen.append(item)
        total += _segment_seconds(item)
    if not chosen:
        return LessonPlan(week=week, segments=[], skipped=list(skipped))
    chosen.sort(key=lambda i: (LEVEL_ORDER.get(i.level or "", 7), i.recording, i.line_start))
    segments = [LessonSegment(kind="title", seconds=frames(TITLE_SECONDS), chapter="This week's expressions")]
    for item in chosen:
        start, end = item.clip_span()
        label = f"{item.expression}（{item.reading}）" if item.reading and item.reading != item.expression \
            else item.expression
        segments.append(LessonSegment(kind="card", seconds=frames(CARD_SECONDS), chapter=f"{label} — {item.meaning}",
                                      item=item))
        segments.append(LessonSegment(kind="clip", seconds=frames(end - start), item=item))
    segments.append(LessonSegment(kind="credits", seconds=frames(CREDITS_SECONDS)))
    return LessonPlan(week=week, segments=segments, skipped=list(skipped))


def planned_chapters(plan: LessonPlan) -> list[tuple[float, str]]:
    out, at = [], 0.0
    for segment in plan.segments:
        if segment.chapter:
            out.append((round(at, 3), segment.chapter))
        at += segment.seconds
    return out


def plan_to_frame(plan: LessonPlan, video_path: str | None) -> pd.DataFrame:
    rows, at = [], 0.0
    for segment in plan.segments:
        item = segment.item
        clip = item.clip_span() if item and segment.kind == "clip" else (None, None)
        rows.append({
            "week": plan.week, "kind": segment.kind, "at": round(at, 3), "seconds": segment.seconds,
            "chapter": segment.chapter, "expression": item.expression if item else None,
            "recording": item.recording if item else None, "channel": item.source.channel_label if item else None,
            "url": item.url if item else None, "clip_start": clip[0], "clip_end": clip[1], "video_path": video_path,
        })
        at += segment.seconds
    return pd.DataFrame(rows, columns=["week", "kind", "at", "seconds", "chapter", "expression", "recording",
                                       "channel", "url", "clip_start", "clip_end", "video_path"])


# --- rendering --------------------------------------------------------------------------------


def _card_lines(segment: LessonSegment, plan: LessonPlan) -> list[TextLine]:
    if segment.kind == "title":
        channels = sorted({i.source.channel_label for i in plan.items})
        names = "・".join(i.expression for i in plan.items[:12]) + ("…" if len(plan.items) > 12 else "")
        return [TextLine("今週の日本語", 96, YELLOW), TextLine(f"This week's Japanese · {plan.week}", 44, WHITE),
                TextLine(names, 40, WHITE, min_size=22, wrap=True),
                TextLine("from " + ", ".join(channels), 30, GREY, min_size=16)]
    if segment.kind == "credits":
        credits = sorted({i.source.credit() for i in plan.items})
        return [TextLine("Credits / クレジット", 60, YELLOW),
                *(TextLine(c, 26, WHITE, min_size=14) for c in credits[:8]),
                TextLine("Please support the original creators.", 30, GREY)]
    item = segment.item
    assert item is not None
    return [
        TextLine(item.expression, 150, YELLOW, min_size=48),
        TextLine(item.reading if item.reading and item.reading != item.expression else "", 56, WHITE),
        TextLine(item.meaning or "", 44, WHITE, min_size=22, wrap=True),
        TextLine(f"[{item.level}]" if item.level else "", 34, GREY),
        TextLine(f"「{item.example}」" if item.example else "", 32, WHITE, min_size=16),
        TextLine(f"from 「{item.recording_title}」 by {item.source.channel_label} at {clock(item.line_start)}", 24,
                 GREY, min_size=14),
    ]


def render_card(segment: LessonSegment, plan: LessonPlan, out: Path) -> Box:
    layer, ink = text_layer((LESSON_WIDTH, LESSON_HEIGHT), LESSON_SAFE, _card_lines(segment, plan), anchor="middle",
                            panel=False, gap=14)
    compose(fill_background(None, (LESSON_WIDTH, LESSON_HEIGHT), blur=False), layer).save(out)
    return ink


_ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-r", str(FPS),
           "-video_track_timescale", "15360", "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", "48000", "-ac", "2",
           "-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn"]
_SILENCE = ["-f", "lavfi", "-i", "anullsrc=channel_layout=stereo:sample_rate=48000"]


def _encode_card(image: Path, seconds: float, out: Path) -> None:
    run_ffmpeg(["-loop", "1", "-framerate", "1", "-i", str(image), *_SILENCE, "-map", "0:v", "-map", "1:a",
                "-vf", f"scale={LESSON_WIDTH}:{LESSON_HEIGHT},setsar=1,fps={FPS},format=yuv420p", "-tune", "stillimage",
                "-t", f"{seconds:.4f}", *_ENCODE, str(out)], what=f"encoding card {out.name}", timeout=600)


SUBTITLE_SIZE = 46
CREDIT_SIZE = 22
_ASS_STYLE = ("Style: {name},{font},{size},&H00FFFFFF,&H00FFFFFF,&H00000000,&H80000000,-1,0,0,0,100,100,0,0,1,"
              "{outline},1,{align},60,60,{margin},1")


def lesson_ass(item: LessonItem, seconds: float) -> str:
    """ASS for a lesson clip: the line while it is said, its expression highlighted as in the Shorts, and the
    credit (stream, channel) in the top-right corner throughout."""
    start, _ = item.clip_span()
    line = item.example or ""
    header = "\n".join([
        "[Script Info]", "; generated by AIVlingual", "ScriptType: v4.00+", f"PlayResX: {LESSON_WIDTH}",
        f"PlayResY: {LESSON_HEIGHT}", "WrapStyle: 0", "ScaledBorderAndShadow: yes", "", "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding",
        _ASS_STYLE.format(name="Line", font=DEFAULT_FONT_NAME, size=SUBTITLE_SIZE, outline=3, align=2, margin=40),
        _ASS_STYLE.format(name="Credit", font=DEFAULT_FONT_NAME, size=CREDIT_SIZE, outline=2, align=9, margin=16),
        "", "[Events]", "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ])
    events = [f"Dialogue: 0,{ass_time(0)},{ass_time(seconds)},Credit,,0,0,0,,"
              + escape_ass_text(f"「{item.recording_title}」 by {item.source.channel_label}")]
    if line:
        shown = (max(0.0, item.line_start - start), min(seconds, max(item.line_end, item.line_start + 1) - start))
        text = render_text(line, max_units=(LESSON_WIDTH - 120) / SUBTITLE_SIZE, highlights=[item.expression])
        events.append(f"Dialogue: 1,{ass_time(shown[0])},{ass_time(shown[1])},Line,,0,0,0,,{text}")
    return header + "\n" + "\n".join(events) + "\n"


def _encode_clip(item: LessonItem, seconds: float, out: Path, work: Path) -> None:
    """The clip at 1280x720 with its line and credit burned in (libass, the shipped font, as the Shorts)."""
    info = probe_video(item.media)
    start, _ = item.clip_span()
    subtitles = out.with_suffix(".ass")
    subtitles.write_text(lesson_ass(item, seconds), encoding="utf-8-sig")
    fonts = work / "fonts"
    if not fonts.exists():
        stage_fonts(japanese_font_dir(), work)
    burn = f"ass={subtitles.name}:fontsdir={fonts.name}"
    args = ["-ss", f"{start:.3f}", "-t", f"{seconds:.4f}", "-i", item.media]
    if info.has_video:
        video = (f"[0:v:0]scale='trunc(iw*sar/2)*2':'trunc(ih/2)*2',setsar=1,scale={LESSON_WIDTH}:{LESSON_HEIGHT}:"
                 f"force_original_aspect_ratio=decrease,pad={LESSON_WIDTH}:{LESSON_HEIGHT}:(ow-iw)/2:(oh-ih)/2:"
                 f"color={BACKGROUND_COLOUR},fps={FPS},{burn},format=yuv420p[v]")
    else:
        args += ["-f", "lavfi", "-i", f"color=c={BACKGROUND_COLOUR}:s={LESSON_WIDTH}x{LESSON_HEIGHT}:r={FPS}"]
        video = f"[1:v]{burn},format=yuv420p[v]"
    audio = "0:a:0"
    if not info.has_audio:
        args += _SILENCE
        audio = f"{1 if info.has_video else 2}:a"
    run_ffmpeg([*args, "-filter_complex", video, "-map", "[v]", "-map", audio, "-t", f"{seconds:.4f}", *_ENCODE,
                out.name], what=f"cutting {item.expression} from {Path(item.media).name}", timeout=1200, cwd=work,
               env={**os.environ, "FONTCONFIG_FILE": str(work / "fonts.conf")})


def _ffmeta(text: str) -> str:
    return re.sub(r"([=;#\\\n])", r"\\\1", text)


def chapters_metadata(chapters: Sequence[tuple[float, str]], total: float, *, title: str, comment: str) -> str:
    lines = [";FFMETADATA1", f"title={_ffmeta(title)}", f"comment={_ffmeta(comment)}", ""]
    for i, (start, name) in enumerate(chapters):
        end = chapters[i + 1][0] if i + 1 < len(chapters) else total
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={int(round(start * 1000))}",
                  f"END={int(round(end * 1000))}", f"title={_ffmeta(name)}", ""]
    return "\n".join(lines)


def render_lesson(plan: LessonPlan, out_path: str | Path) -> Path:
    """Encode every segment alike, join them without re-encoding, write chapters at measured starts."""
    out_path = Path(out_path)
    with tempfile.TemporaryDirectory(prefix="aivlingual-lesson-") as tmp:
        work = Path(tmp)
        parts: list[Path] = []
        measured: list[float] = []
        for n, segment in enumerate(plan.segments):
            part = work / f"{n:04d}.mp4"
            if segment.kind == "clip":
                assert segment.item is not None
                _encode_clip(segment.item, segment.seconds, part, work)
            else:
                render_card(segment, plan, work / f"{n:04d}.png")
                _encode_card(work / f"{n:04d}.png", segment.seconds, part)
            parts.append(part)
            measured.append(probe_video(part).duration)
        chapters, at = [], 0.0
        for segment, seconds in zip(plan.segments, measured):
            if segment.chapter:
                chapters.append((at, segment.chapter))
            at += seconds
        (work / "list.txt").write_text("".join(f"file '{p.name}'\n" for p in parts), encoding="utf-8")
        channels = sorted({i.source.credit() for i in plan.items})
        (work / "chapters.txt").write_text(chapters_metadata(
            chapters, at, title=f"This week's Japanese · {plan.week}", comment="\n".join(channels)), encoding="utf-8")
        with atomic_output(out_path) as partial:
            run_ffmpeg(["-f", "concat", "-safe", "0", "-i", "list.txt", "-f", "ffmetadata", "-i", "chapters.txt",
                        "-map", "0", "-map_metadata", "1", "-map_chapters", "1", "-c", "copy",
                        "-movflags", "+faststart", "-f", "mp4", str(partial.resolve())],
                       what=f"joining the lesson of {plan.week}", cwd=work, timeout=1800)
    return out_path


_CHAPTER = re.compile(r"Chapter #\d+[:.]\d+: start (?P<start>[\d.]+), end (?P<end>[\d.]+)")


def read_chapters(path: str | Path) -> list[tuple[float, str]]:
    """Chapters (start, title) of a media file, as ffmpeg reads them."""
    import subprocess

    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True,
                          text=True, errors="replace", timeout=60)
    chapters: list[tuple[float, str]] = []
    lines = proc.stderr.splitlines()
    for i, line in enumerate(lines):
        match = _CHAPTER.search(line)
        if not match:
            continue
        title = ""
        for follow in lines[i + 1: i + 4]:
            if follow.strip().startswith("title"):
                title = follow.split(":", 1)[1].strip()
                break
        chapters.append((float(match["start"]), title))
    return chapters


def lesson_problems(path: str | Path, *, planned_seconds: float, chapters: Sequence[tuple[float, str]],
                    segments: int) -> list[str]:
    """The video must play back with the planned length (within a frame per segment) and chapters."""
    tolerance = 0.5 + segments / FPS
    problems = verify_clip(path, planned_seconds, tolerance, width=LESSON_WIDTH, height=LESSON_HEIGHT, decode=False)
    found = read_chapters(path)
    if len(found) != len(chapters):
        problems.append(f"{len(found)} chapters, planned {len(chapters)}")
    else:
        for (start, title), (got, got_title) in zip(chapters, found):
            if abs(start - got) > tolerance or title.split(" — ")[0] not in got_title:
                problems.append(f"chapter '{title}' at {start:.2f}s, found '{got_title}' at {got:.2f}s")
    return problems


def recording_info(get: Callable[[str], object], clearance: Callable[[object], Clearance]
                   ) -> Callable[[str], RecordingInfo | None]:
    """Registry look-up (cached) turning a recording key into its source, media and clearance."""
    cache: dict[str, RecordingInfo | None] = {}

    def look_up(key: str) -> RecordingInfo | None:
        if key not in cache:
            recording = get(key)
            cache[key] = None if recording is None else RecordingInfo(
                source=Source.of(recording),  # type: ignore[arg-type]
                media=recording.path if recording.source == "file" and recording.path else None,  # type: ignore
                clearance=clearance(recording),
            )
        return cache[key]

    return look_up

