"""A printable worksheet per recording: expressions with furigana, exercises from the stream's lines, answer key.

Rendered with fpdf2 in IPAexGothic (the font the Shorts burn in, shipped by ``matplotlib-fontja``), A4
portrait. Pages: the header (stream title, channel, link, date) and the expressions table (furigana
drawn over each kanji run, reading, meaning, level), then the exercises -- cloze (the expression blanked
in the line it was said in), match the meaning, reading practice -- and the answer key on a page of its
own. Every page's footer credits the channel and links the stream.

Furigana: the reading is aligned with the expression by its kana (推し + おし -> 推[お]し); where the kana
do not line up, the whole reading sits over the whole expression.
"""

from __future__ import annotations

import os
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, WrapMode, XPos, YPos

from ..analysis.kana import katakana_to_hiragana
from .cards import printable
from .clip_planner import ClipExpression
from .content_source import Source, clock
from .subtitle_burn import DEFAULT_FONT_NAME, japanese_font_file

CLOZE_MAX = 10
MATCH_MAX = 8
READING_MAX = 10
BLANK = "＿＿＿＿"
ANSWER_KEY_HEADING = "Answer key / 解答"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def is_kanji(char: str) -> bool:
    return char in "々〆ヵヶ" or unicodedata.name(char, "").startswith("CJK UNIFIED IDEOGRAPH")


def has_kanji(text: str) -> bool:
    return any(is_kanji(c) for c in text)


def ruby_segments(expression: str, reading: str | None) -> list[tuple[str, str | None]]:
    """The expression in runs, each kanji run with its part of the reading (kana runs carry none).

    >>> ruby_segments("推し", "おし")
    [('推', 'お'), ('し', None)]
    """
    if not reading or not has_kanji(expression):
        return [(expression, None)]
    runs: list[tuple[str, bool]] = []
    for char in expression:
        kanji = is_kanji(char)
        if runs and runs[-1][1] == kanji:
            runs[-1] = (runs[-1][0] + char, kanji)
        else:
            runs.append((char, kanji))
    pattern = "".join("(.+?)" if kanji else f"({re.escape(katakana_to_hiragana(text))})" for text, kanji in runs)
    match = re.fullmatch(pattern, katakana_to_hiragana(reading))
    if match is None:
        return [(expression, reading)]
    return [(text, match.group(i + 1) if kanji else None) for i, (text, kanji) in enumerate(runs)]


# --- the content ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClozeItem:
    prompt: str  # the line with the expression blanked
    hint: str
    answer: str


@dataclass(frozen=True)
class ReadingItem:
    expression: str
    context: str
    answer: str


@dataclass
class WorksheetContent:
    source: Source
    date: str
    expressions: list[ClipExpression]
    private_note: str = ""  # e.g. "not cleared for publishing: for private study only"
    sources: list[Source] = field(default_factory=list)  # a worksheet over several streams: each credited

    def credit(self) -> str:
        if not self.sources:
            return self.source.credit()
        return "Sources: " + ", ".join(sorted({s.channel_label for s in self.sources})) + " (links on page 1)"
    cloze: list[ClozeItem] = field(default_factory=list)
    match_expressions: list[ClipExpression] = field(default_factory=list)
    match_meanings: list[str] = field(default_factory=list)  # shuffled; letters A, B, ...
    reading: list[ReadingItem] = field(default_factory=list)

    def match_answers(self) -> list[str]:
        return [_LETTERS[self.match_meanings.index(e.meaning or "")] for e in self.match_expressions]


def _level_rank(e: ClipExpression) -> float:
    ranks = {"N5": 1, "N4": 2, "N3": 3, "N2": 4, "N1": 5, "slang": 4.5, "beyond_jlpt": 6}
    return e.level_score if e.level_score is not None else ranks.get(e.level or "", 0)


def _worth_practising(expressions: Sequence[ClipExpression]) -> list[ClipExpression]:
    """Hardest first (ties by time), one item per expression text, those with a meaning."""
    seen: set[str] = set()
    out = []
    for e in sorted(expressions, key=lambda e: (-_level_rank(e), e.start, e.expression)):
        if e.meaning and e.expression not in seen:
            seen.add(e.expression)
            out.append(e)
    return out


def plan_worksheet(source: Source, expressions: Sequence[ClipExpression], examples: dict[str, str], *,
                   date: str, private_note: str = "", sources: Sequence[Source] = ()) -> WorksheetContent:
    """Choose the exercises (deterministically: the same stream always gives the same worksheet)."""
    ranked = _worth_practising(expressions)
    content = WorksheetContent(source=source, date=date, expressions=list(expressions), private_note=private_note,
                               sources=list(sources))
    used_lines: set[str] = set()
    for e in ranked:
        line = " ".join(examples.get(e.expression, "").split())
        if e.expression in line and line not in used_lines and len(line) <= 90 and line.strip() != e.expression:
            used_lines.add(line)
            content.cloze.append(ClozeItem(prompt=line.replace(e.expression, BLANK, 1), hint=_first(e.meaning),
                                           answer=e.expression))
        if len(content.cloze) >= CLOZE_MAX:
            break
    distinct_meanings: dict[str, ClipExpression] = {}
    for e in ranked:
        distinct_meanings.setdefault(e.meaning or "", e)
    content.match_expressions = sorted(list(distinct_meanings.values())[:MATCH_MAX], key=lambda e: e.start)
    content.match_meanings = [e.meaning or "" for e in content.match_expressions]
    random.Random(source.recording).shuffle(content.match_meanings)
    for e in ranked:
        if has_kanji(e.expression) and e.reading and e.reading != e.expression:
            content.reading.append(ReadingItem(expression=e.expression, context=examples.get(e.expression, ""),
                                               answer=katakana_to_hiragana(e.reading)))
        if len(content.reading) >= READING_MAX:
            break
    content.reading.sort(key=lambda item: item.expression)
    return content


def _first(meaning: str | None) -> str:
    return re.split(r"\s*[/;]\s*", meaning or "")[0]


# --- the PDF ----------------------------------------------------------------------------------


class _Sheet(FPDF):
    def __init__(self, credit: str):
        super().__init__(format="A4")
        self.credit = credit
        self.add_font(DEFAULT_FONT_NAME, "", str(japanese_font_file()))
        self.set_auto_page_break(True, margin=18)
        self.set_margins(14, 14, 14)

    def normalize_text(self, text: str) -> str:  # every text fpdf2 draws or measures passes here
        return super().normalize_text(printable(text))

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(DEFAULT_FONT_NAME, size=7)
        self.set_text_color(90)
        credit = f"{self.credit}  ·  {self.page_no()}/{{nb}}"
        self.multi_cell(0, 3.5, credit, wrapmode=WrapMode.CHAR, align="C")
        self.set_text_color(0)


@dataclass(frozen=True)
class WorksheetReport:
    path: Path
    pages: int
    answer_key_page: int
    expressions: int
    cloze: int
    match: int
    reading: int


COLUMNS = (("#", 9), ("Expression / 表現", 44), ("Reading", 34), ("Meaning", 75), ("Level", 20))
LINE_H = 5.2
RUBY_H = 3.2
BASE_SIZE = 10
RUBY_SIZE = 5.5


_BREAKS = re.compile("[\n\r\f\u00ad]")  # what fpdf2's line breaker treats apart from its width


def _one_line(pdf: FPDF, width: float, text: str) -> bool:
    """Whether ``text`` fits a cell of ``width`` on one line with room to spare, as fpdf2's line breaker would
    find: it adds a line's characters one by one, measuring the line again each time, and breaks only once the
    width passes the cell's (a third of a one-hour stream's worksheet went in dry runs of it, #14)."""
    return not _BREAKS.search(text) and pdf.get_string_width(text) <= width - 2 - 2 * pdf.c_margin - 0.01


def _lines(pdf: FPDF, width: float, text: str) -> int:
    if _one_line(pdf, width, text):
        return 1
    return len(pdf.multi_cell(width - 2, LINE_H, text, dry_run=True, output=MethodReturnValue.LINES,
                              wrapmode=_wrap(text))) or 1


def _wrap(text: str) -> WrapMode:
    return WrapMode.CHAR if any(unicodedata.east_asian_width(c) in "WF" for c in text) else WrapMode.WORD


def _cell(pdf: FPDF, x: float, y: float, width: float, height: float, text: str) -> None:
    pdf.rect(x, y, width, height)
    pdf.set_xy(x + 1, y + 1)
    if _one_line(pdf, width, text):  # drawn as multi_cell draws its last line (left-aligned), without breaking it
        pdf.cell(width - 2, LINE_H, text)
    else:
        pdf.multi_cell(width - 2, LINE_H, text, wrapmode=_wrap(text))


def _ruby_cell(pdf: FPDF, x: float, y: float, width: float, height: float, expression: str,
               reading: str | None) -> None:
    """The expression on one baseline (one text run, so it extracts whole), furigana above each kanji run."""
    pdf.rect(x, y, width, height)
    size = BASE_SIZE + 2
    pdf.set_font(DEFAULT_FONT_NAME, size=size)
    while size > 6 and pdf.get_string_width(expression) > width - 2:
        size -= 1
        pdf.set_font(DEFAULT_FONT_NAME, size=size)
    baseline = y + 1 + RUBY_H + size * 0.3528  # points -> mm
    left = x + 1
    pdf.text(left, baseline, expression)
    offset = 0.0
    segments = ruby_segments(expression, reading)
    widths = [pdf.get_string_width(text) for text, _ in segments]
    pdf.set_font(DEFAULT_FONT_NAME, size=RUBY_SIZE)
    for (text, ruby), seg_width in zip(segments, widths):
        if ruby:
            ruby_width = pdf.get_string_width(ruby)
            pdf.text(left + offset + (seg_width - ruby_width) / 2, y + 1 + RUBY_H - 0.6, ruby)
        offset += seg_width
    pdf.set_font(DEFAULT_FONT_NAME, size=BASE_SIZE)


def _table_header(pdf: FPDF) -> None:
    pdf.set_font(DEFAULT_FONT_NAME, size=BASE_SIZE)
    pdf.set_fill_color(230, 236, 245)
    for name, width in COLUMNS:
        pdf.cell(width, 7, name, border=1, fill=True, new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.ln(7)


def _heading(pdf: FPDF, text: str, size: int = 14) -> None:
    pdf.set_font(DEFAULT_FONT_NAME, size=size)
    pdf.multi_cell(0, size * 0.5, text, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1.5)
    pdf.set_font(DEFAULT_FONT_NAME, size=BASE_SIZE)


def _para(pdf: FPDF, text: str, *, indent: float = 0, size: float = BASE_SIZE, link: str = "") -> None:
    pdf.set_font(DEFAULT_FONT_NAME, size=size)
    pdf.set_x(pdf.l_margin + indent)
    pdf.multi_cell(pdf.epw - indent, LINE_H + 0.6, text, wrapmode=WrapMode.CHAR, link=link,
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_worksheet(content: WorksheetContent, out_path: str | Path) -> WorksheetReport:
    """Write the worksheet PDF atomically; report its pages (the answer key's page is the last)."""
    source = content.source
    pdf = _Sheet(content.credit())
    pdf.set_title(f"Worksheet: {source.title}")
    pdf.set_author(source.channel_label)
    pdf.set_subject(source.url or source.title)
    pdf.set_creator("AIVlingual")
    pdf.add_page()
    _para(pdf, "AIVlingual worksheet · Japanese from a live stream", size=8)
    _heading(pdf, source.title, 16)
    _para(pdf, f"Channel: {source.channel_label}")
    if content.sources:
        _para(pdf, "Streams:")
        for stream in content.sources:
            _para(pdf, f"「{stream.title}」 by {stream.channel_label}  {stream.url or ''}", indent=3, size=8,
                  link=stream.url or "")
    else:
        _para(pdf, f"Link: {source.url or '(no public link)'}", link=source.url or "")
    _para(pdf, f"Date: {content.date}    Expressions: {len(content.expressions)}")
    if content.private_note:
        _para(pdf, content.private_note, size=8)
    pdf.ln(3)
    _table_header(pdf)
    widths = [w for _, w in COLUMNS]
    for number, e in enumerate(content.expressions, start=1):
        level = e.level or ""
        texts = [str(number), "", e.reading or "", f"{e.meaning or '—'}  ({clock(e.start)})", level]
        height = max(RUBY_H + 8, *(_lines(pdf, w, t) * LINE_H + 2 for w, t in zip(widths, texts)))
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            _table_header(pdf)
        y, x = pdf.get_y(), pdf.l_margin
        for i, (width, text) in enumerate(zip(widths, texts)):
            if i == 1:
                _ruby_cell(pdf, x, y, width, height, e.expression, e.reading)
            else:
                _cell(pdf, x, y, width, height, text)
            x += width
        pdf.set_xy(pdf.l_margin, y + height)

    pdf.add_page()
    _heading(pdf, "Exercises / 練習")
    if content.cloze:
        _heading(pdf, "1. Fill in the blank with the expression from the stream / 穴埋め", 11)
        for i, item in enumerate(content.cloze, start=1):
            _para(pdf, f"({i}) {item.prompt}", indent=3)
            _para(pdf, f"hint: {item.hint}", indent=9, size=8)
        pdf.ln(3)
    if content.match_expressions:
        _heading(pdf, "2. Match each expression with its meaning / 意味を選ぼう", 11)
        for i, e in enumerate(content.match_expressions, start=1):
            _para(pdf, f"({i}) {e.expression}   ____", indent=3)
        pdf.ln(1)
        for letter, meaning in zip(_LETTERS, content.match_meanings):
            _para(pdf, f"{letter}. {meaning}", indent=3)
        pdf.ln(3)
    if content.reading:
        _heading(pdf, "3. Write the reading in hiragana / 読み方", 11)
        for i, item in enumerate(content.reading, start=1):
            _para(pdf, f"({i}) {item.expression}  →  ＿＿＿＿＿＿", indent=3)
            if item.context:
                _para(pdf, f"「{item.context}」", indent=9, size=8)

    pdf.add_page()
    answer_key_page = pdf.page_no()
    _heading(pdf, ANSWER_KEY_HEADING)
    if content.cloze:
        _para(pdf, "1. " + "   ".join(f"({i}) {item.answer}" for i, item in enumerate(content.cloze, start=1)))
    if content.match_expressions:
        _para(pdf, "2. " + "   ".join(f"({i}) {letter}" for i, letter in enumerate(content.match_answers(), start=1)))
    if content.reading:
        _para(pdf, "3. " + "   ".join(f"({i}) {item.answer}" for i, item in enumerate(content.reading, start=1)))

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.part")
    pdf.output(str(tmp))
    os.replace(tmp, out_path)
    return WorksheetReport(path=out_path, pages=pdf.page_no(), answer_key_page=answer_key_page,
                           expressions=len(content.expressions), cloze=len(content.cloze),
                           match=len(content.match_expressions), reading=len(content.reading))


def worksheet_problems(path: str | Path, *, pages: int, answer_key_page: int, expressions: Sequence[str],
                       channel: str) -> list[str]:
    """What is wrong with a worksheet PDF: unreadable, wrong pages, or text missing when extracted."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        texts = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # noqa: BLE001 - any parser error means the PDF does not open
        return [f"{path}: does not open as a PDF ({type(exc).__name__}: {exc})"]
    problems = []
    if len(texts) != pages:
        problems.append(f"{path}: {len(texts)} pages, expected {pages}")
    if answer_key_page > len(texts) or ANSWER_KEY_HEADING not in texts[answer_key_page - 1]:
        problems.append(f"{path}: the answer key is not on page {answer_key_page}")
    before_key = _squash("".join(texts[: answer_key_page - 1]))
    missing = [e for e in dict.fromkeys(expressions) if _squash(printable(e)) not in before_key]
    if missing:
        problems.append(f"{path}: extracted text lacks {len(missing)} expression(s): {', '.join(missing[:10])}")
    if _squash(channel) not in _squash("".join(texts)):
        problems.append(f"{path}: does not credit {channel}")
    return problems


def _squash(text: str) -> str:
    return unicodedata.normalize("NFKC", "".join(str(text).split()))
