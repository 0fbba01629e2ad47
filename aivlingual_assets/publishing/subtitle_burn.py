"""Subtitles burned into a Short: ASS for the video, SRT for YouTube captions.

The layout targets a 1080x1920 frame whose middle holds the 16:9 stream:
the Japanese lines sit big in the bottom third (above the Shorts UI), each
taught expression is highlighted in them, and its gloss -- "推し (おし) =
favourite member" -- appears at the top while it is spoken.  libass cannot
wrap Japanese (it only breaks at spaces), so lines are wrapped here.

Japanese glyphs come from IPAexGothic, shipped on PyPI by the
``matplotlib-fontja`` wheel, so no system font is needed.
"""

from __future__ import annotations

import importlib.util
import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from aivlingual_assets.publishing.clip_planner import ClipPlan

PLAY_WIDTH = 1080
PLAY_HEIGHT = 1920
DEFAULT_FONT_NAME = "IPAexGothic"
_FONT_PACKAGE = "matplotlib_fontja"
_FONT_FILE = "ipaexg.ttf"

LINE_FONT_SIZE = 68
GLOSS_FONT_SIZE = 50
TITLE_FONT_SIZE = 60
SIDE_MARGIN = 70
LINE_MARGIN_V = 430  # bottom of the Japanese lines, clear of the Shorts caption/UI
TOP_MARGIN_V = 170  # below the Shorts top bar
GLOSS_LEAD = 0.2  # seconds a gloss appears before its expression is spoken
GLOSS_HOLD = 4.0  # seconds it stays after

# ASS colours are &HAABBGGRR
WHITE = "&H00FFFFFF"
BLACK = "&H00000000"
YELLOW = "&H0000E5FF"
SHADOW = "&H80000000"
_HIGHLIGHT_ON = "{\\c" + YELLOW + "&}"
_HIGHLIGHT_OFF = "{\\r}"

# characters that may not begin a line in Japanese typesetting (kinsoku)
_NO_LINE_START = set("、。，．,.!?！？・ー～〜ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ」』）)]｝〕〉》】ゝゞヽヾ々…‥")
_NO_LINE_END = set("「『（([｛〔〈《【")
_PHRASE_ENDS = set("、。，,！？!? 　")
PHRASE_BREAK_FILL = 0.6  # prefer breaking after punctuation once a line is this full


class SubtitleError(ValueError):
    """A subtitle could not be produced (e.g. a clip without duration)."""


class FontNotFoundError(FileNotFoundError):
    """The PyPI-shipped Japanese font is not installed."""


def japanese_font_file() -> Path:
    """IPAexGothic from the ``matplotlib-fontja`` wheel (located without importing it)."""
    spec = importlib.util.find_spec(_FONT_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / "fonts" / _FONT_FILE
        if candidate.is_file():
            return candidate
    raise FontNotFoundError(
        "the Japanese subtitle font is missing: install the PyPI package 'matplotlib-fontja' "
        "(it ships IPAexGothic) or pass font_dir/font_name explicitly"
    )


def japanese_font_dir() -> Path:
    """Folder to hand to libass as ``fontsdir``."""
    return japanese_font_file().parent


# --- text helpers ----------------------------------------------------------


def escape_ass_text(text: str) -> str:
    """Make arbitrary text literal in an ASS Dialogue line.

    ``{``/``}`` would open override blocks and ``\\`` starts escapes such as
    ``\\N``, so they become their full-width forms (identical in Japanese
    text); newlines become ASS line breaks and other control characters go.
    """
    out: list[str] = []
    for char in str(text).replace("\r\n", "\n").replace("\r", "\n"):
        if char == "\n":
            out.append("\\N")
        else:
            out.append(_escape_char(char))
    return "".join(out)


def _escape_char(char: str) -> str:
    if char == "\\":
        return "＼"
    if char == "{":
        return "｛"
    if char == "}":
        return "｝"
    if char in "\n\t":
        return " "
    if unicodedata.category(char) == "Cc":
        return ""
    return char


def _width(char: str) -> float:
    """Approximate advance in em: CJK is square, Latin about half."""
    return 1.0 if unicodedata.east_asian_width(char) in ("W", "F") else 0.55


def _is_cjk(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _find_spans(text: str, needles: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping occurrences of the expressions, longest match first."""
    taken = [False] * len(text)
    spans: list[tuple[int, int]] = []
    for needle in sorted({n for n in needles if n}, key=lambda n: (-len(n), n)):
        position = text.find(needle)
        while position != -1:
            end = position + len(needle)
            if not any(taken[position:end]):
                spans.append((position, end))
                for i in range(position, end):
                    taken[i] = True
            position = text.find(needle, position + 1)
    return sorted(spans)


def wrap_breaks(text: str, max_units: float, protected: Sequence[tuple[int, int]] = ()) -> list[int]:
    """Indices where new lines start so no line is wider than ``max_units`` em.

    Breaks go after spaces or between CJK characters, never inside a
    protected span (a highlighted expression), and respect kinsoku.
    """
    inside = [False] * (len(text) + 1)
    for start, end in protected:
        for i in range(start + 1, end):
            inside[i] = True

    def can_break_before(i: int) -> bool:
        if i <= 0 or i >= len(text) or inside[i]:
            return False
        prev, nxt = text[i - 1], text[i]
        if nxt in _NO_LINE_START or prev in _NO_LINE_END:
            return False
        if prev.isspace():
            return True
        return _is_cjk(prev) or _is_cjk(nxt)

    breaks: list[int] = []
    line_start, used = 0, 0.0
    last_opportunity = last_phrase_end = -1
    for i, char in enumerate(text):
        if i > line_start and can_break_before(i):
            last_opportunity = i
            if text[i - 1] in _PHRASE_ENDS and used >= PHRASE_BREAK_FILL * max_units:
                last_phrase_end = i  # after 、。 or a space, if the line is already well filled
        used += _width(char)
        if used > max_units and i > line_start:
            cut = last_phrase_end if last_phrase_end > line_start else last_opportunity
            if cut > line_start:
                breaks.append(cut)
                line_start, last_opportunity, last_phrase_end = cut, -1, -1
                used = sum(_width(c) for c in text[cut : i + 1])
    return breaks


def render_text(text: str, *, max_units: float, highlights: Sequence[str] = ()) -> str:
    """Escaped, wrapped ASS text with ``highlights`` coloured."""
    text = " ".join(str(text).split())
    spans = _find_spans(text, list(highlights))
    breaks = set(wrap_breaks(text, max_units, spans))
    starts = {start for start, _ in spans}
    ends = {end for _, end in spans}
    out: list[str] = []
    for i, char in enumerate(text):
        if i in ends:
            out.append(_HIGHLIGHT_OFF)
        if i in breaks:
            while out and out[-1] == " ":
                out.pop()
            out.append("\\N")
            if char == " ":
                continue
        if i in starts:
            out.append(_HIGHLIGHT_ON)
        out.append(_escape_char(char))
    if len(text) in ends:
        out.append(_HIGHLIGHT_OFF)
    return "".join(out)


def ass_time(seconds: float) -> str:
    """``h:mm:ss.cc`` as ASS wants it."""
    centis = max(0, int(round(seconds * 100)))
    hours, rest = divmod(centis, 360000)
    minutes, rest = divmod(rest, 6000)
    secs, cs = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{cs:02d}"


def srt_time(seconds: float) -> str:
    millis = max(0, int(round(seconds * 1000)))
    hours, rest = divmod(millis, 3600000)
    minutes, rest = divmod(rest, 60000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{ms:03d}"


def gloss_text(expression: str, reading: str | None, meaning: str | None) -> str:
    """"推し (おし) = favourite member" (reading omitted when it is the expression itself)."""
    head = expression if not reading or reading == expression else f"{expression} ({reading})"
    return f"{head} = {meaning}" if meaning else head


def _field(value: str) -> str:
    """A non-text Dialogue field (Name): commas would shift the columns."""
    return "".join(c for c in str(value) if c not in ",\n\r" and unicodedata.category(c) != "Cc").strip()


# --- ASS / SRT --------------------------------------------------------------


def _style(name: str, size: int, primary: str, bold: bool, alignment: int, margin_v: int, outline: float) -> str:
    return (
        f"Style: {name},{{font}},{size},{primary},{primary},{BLACK},{SHADOW},"
        f"{-1 if bold else 0},0,0,0,100,100,0,0,1,{outline},2,{alignment},"
        f"{SIDE_MARGIN},{SIDE_MARGIN},{margin_v},1"
    )


def build_ass(plan: ClipPlan, *, font_name: str = DEFAULT_FONT_NAME, show_title: bool = True) -> str:
    """ASS script for ``plan`` with times relative to the clip start."""
    duration = plan.end - plan.start
    if not duration > 0:
        raise SubtitleError(f"clip {plan.index} has no duration ({plan.start}-{plan.end})")
    font = _field(font_name) or DEFAULT_FONT_NAME
    styles = [
        _style("Line", LINE_FONT_SIZE, WHITE, True, 2, LINE_MARGIN_V, 5),
        _style("Gloss", GLOSS_FONT_SIZE, YELLOW, True, 8, TOP_MARGIN_V, 4),
        _style("Title", TITLE_FONT_SIZE, WHITE, True, 8, TOP_MARGIN_V, 5),
    ]
    header = "\n".join(
        [
            "[Script Info]",
            "; generated by AIVlingual",
            "ScriptType: v4.00+",
            f"PlayResX: {PLAY_WIDTH}",
            f"PlayResY: {PLAY_HEIGHT}",
            "WrapStyle: 0",
            "ScaledBorderAndShadow: yes",
            "YCbCr Matrix: TV.709",
            "",
            "[V4+ Styles]",
            "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
            "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
            "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
            *(style.replace("{font}", font) for style in styles),
            "",
            "[Events]",
            "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
        ]
    )
    usable = PLAY_WIDTH - 2 * SIDE_MARGIN
    events: list[str] = []

    def event(layer: int, start: float, end: float, style: str, name: str, text: str) -> None:
        start, end = max(0.0, start), min(duration, end)
        if end - start >= 0.01 and text:
            events.append(f"Dialogue: {layer},{ass_time(start)},{ass_time(end)},{style},{_field(name)},0,0,0,,{text}")

    # title and glosses share layer 0 so libass stacks them instead of overlapping
    title = plan.title_ja.strip()
    if show_title and title:
        event(0, 0.0, duration, "Title", "", render_text(title, max_units=usable / TITLE_FONT_SIZE))
    for expr in sorted(plan.expressions, key=lambda e: (e.start, e.expression)):
        spoken_end = expr.end if expr.end is not None else expr.start
        text = render_text(
            gloss_text(expr.expression, expr.reading, expr.meaning), max_units=usable / GLOSS_FONT_SIZE
        )
        event(0, expr.start - plan.start - GLOSS_LEAD, spoken_end - plan.start + GLOSS_HOLD, "Gloss", "", text)
    needles = [e.expression for e in plan.expressions]
    for line in plan.lines:
        text = render_text(speaker_label(line.speaker) + line.text, max_units=usable / LINE_FONT_SIZE,
                           highlights=needles)
        event(1, line.start - plan.start, line.end - plan.start, "Line", line.speaker or "", text)
    return header + "\n" + "\n".join(events) + "\n"


def speaker_label(speaker: str | None) -> str:
    """``【Name】`` before a line, so a collab Short shows who said it; nothing for an unknown speaker."""
    name = " ".join(str(speaker or "").split())
    return f"【{name}】" if name else ""


def write_ass(plan: ClipPlan, path: str | Path, *, font_name: str = DEFAULT_FONT_NAME, show_title: bool = True) -> Path:
    """Write :func:`build_ass` output (UTF-8 with BOM, which every ASS reader accepts)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(build_ass(plan, font_name=font_name, show_title=show_title), encoding="utf-8-sig")
    os.replace(tmp, path)
    return path


def build_srt(plan: ClipPlan) -> str:
    """Plain SRT of the clip's Japanese lines (clip-relative), for YouTube captions."""
    duration = plan.end - plan.start
    blocks: list[str] = []
    for line in plan.lines:
        start = max(0.0, line.start - plan.start)
        end = min(duration, line.end - plan.start)
        text = " ".join(line.text.split())
        if end - start < 0.001 or not text:
            continue
        blocks.append(f"{len(blocks) + 1}\n{srt_time(start)} --> {srt_time(end)}\n{text}\n")
    return "\n".join(blocks)
