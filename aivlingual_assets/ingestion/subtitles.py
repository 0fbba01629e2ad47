"""Subtitle files (.srt, .vtt) -> clean, ordered transcript segments.

Timing and cue structure are parsed by the ``srt`` and ``webvtt-py`` libraries;
this module only decodes the bytes (so encoding errors can name the byte),
cleans the cue text (markup is noise for a learner) and collapses YouTube's
"rolling" auto-captions, where every cue repeats the previous line, into one
segment per spoken line.
"""

from __future__ import annotations

import codecs
import html
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import srt
import webvtt
from charset_normalizer import from_bytes
from webvtt.errors import MalformedCaptionError, MalformedFileError

from aivlingual_assets.ingestion.errors import (
    EmptyTranscriptError,
    MissingFileError,
    SubtitleError,
    SubtitleTooLargeError,
    UnsupportedFileError,
)
from aivlingual_assets.ingestion.segments import Segment

SUBTITLE_EXTENSIONS: tuple[str, ...] = (".srt", ".vtt")
# The whole transcript is one table in memory: a bound keeps every later step bounded too.  A 12-hour
# stream's subtitles are 1.5 MB (SRT) to 5 MB (YouTube's rolling auto-captions) (README: measured cost).
DEFAULT_MAX_SUBTITLE_MB = 10.0
MAX_SUBTITLE_MB_ENV = "AIVLINGUAL_MAX_SUBTITLE_MB"

# A cue this short cannot be read; YouTube emits 10 ms ones that repeat the line just shown.
FLASH_CUE_SECONDS = 0.05
# Share of cues that must roll over/grow before a file is treated as rolling auto-captions.
ROLLING_SHARE = 0.3

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# what Japanese subtitle tools write besides UTF-8 (cp932 is Windows' Shift_JIS, a superset of it)
_DETECTED_ENCODINGS: tuple[str, ...] = ("cp932", "euc_jp", "iso2022_jp", "utf_16_le", "utf_16_be")
_TIMING_ARROW = "-->"  # every SRT and WebVTT cue has one: text without it was decoded wrongly
_RUBY_TEXT = re.compile(r"<rt\b[^>]*>.*?</rt\s*>", re.IGNORECASE | re.DOTALL)
_RUBY_PAREN = re.compile(r"<rp\b[^>]*>.*?</rp\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^<>]*>")
_ASS_OVERRIDE = re.compile(r"\{\\[^{}]*\}")
_VOICE = re.compile(r"<v(?:\.[^\s>]+)*\s+([^>]+?)\s*>")
_SPACES = re.compile(r"[ \t\u3000\u00a0]+")
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


@dataclass(frozen=True, slots=True)
class _Cue:
    start: float
    end: float
    lines: tuple[str, ...]
    speaker: str | None


def parse_subtitle_file(path: str | Path) -> list[Segment]:
    """Read a .srt/.vtt file into ordered, cleaned segments (encodings: see :func:`decode_subtitle`)."""
    return read_subtitle_file(path)[0]


def read_subtitle_file(path: str | Path) -> tuple[list[Segment], str]:
    """:func:`parse_subtitle_file`, plus the name of the encoding the file was read in."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUBTITLE_EXTENSIONS:
        raise UnsupportedFileError(path, SUBTITLE_EXTENSIONS)
    if not path.is_file():
        raise MissingFileError(path, "subtitle file")
    check_subtitle_size(path)
    text, encoding = decode_subtitle(path.read_bytes(), path)
    return parse_subtitle_text(text, fmt=suffix.lstrip("."), source=path), encoding


def parse_subtitle_text(text: str, *, fmt: str, source: str | Path = "<text>") -> list[Segment]:
    """Parse subtitle text already in memory; ``fmt`` is ``"srt"`` or ``"vtt"``."""
    if fmt not in ("srt", "vtt"):
        raise ValueError(f"Unknown subtitle format {fmt!r}; use 'srt' or 'vtt'.")
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise EmptyTranscriptError(source, "the file is empty.")
    cues = _srt_cues(text, source) if fmt == "srt" else _vtt_cues(text, source)
    if not cues:
        raise EmptyTranscriptError(source)
    segments = _cues_to_segments(cues)
    if not segments:
        raise EmptyTranscriptError(source, "it has cues but none of them contains any text.")
    return segments


def max_subtitle_mb() -> float:
    """The largest subtitle file read, in MB: ``AIVLINGUAL_MAX_SUBTITLE_MB`` (default 10)."""
    raw = os.environ.get(MAX_SUBTITLE_MB_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_SUBTITLE_MB
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = math.nan
    if not math.isfinite(megabytes) or megabytes <= 0:
        raise ValueError(f"{MAX_SUBTITLE_MB_ENV}={raw!r} is not a positive number of megabytes; "
                         f"set it to e.g. {DEFAULT_MAX_SUBTITLE_MB:g}, or unset it for the default.")
    return megabytes


def check_subtitle_size(path: str | Path) -> None:
    """Refuse, before reading it, a subtitle file larger than :func:`max_subtitle_mb`."""
    size, limit_mb = Path(path).stat().st_size, max_subtitle_mb()
    if size > limit_mb * 2**20:
        raise SubtitleTooLargeError(path, size, limit_mb, MAX_SUBTITLE_MB_ENV)


def decode_subtitle_bytes(data: bytes, source: str | Path = "<bytes>") -> str:
    """The text of a subtitle file's bytes (see :func:`decode_subtitle`)."""
    return decode_subtitle(data, source)[0]


def decode_subtitle(data: bytes, source: str | Path = "<bytes>") -> tuple[str, str]:
    """Text and encoding name of a subtitle file's bytes.

    A BOM decides (UTF-8 or UTF-16); otherwise UTF-8, else the Japanese encodings subtitle tools
    write (Shift_JIS/cp932, EUC-JP, ISO-2022-JP, UTF-16 without BOM) as detected by
    charset-normalizer, kept only if the text has subtitle timings ("-->").  UTF-8 with a few
    damaged bytes is an error naming the first one, never silently read as another encoding.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return _strict(data, name, len(bom), source), f"{name} (BOM)"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        utf8_error = error
    if not _damaged_utf8(data):
        detected = from_bytes(data, cp_isolation=list(_DETECTED_ENCODINGS)).best()
        if detected is not None:
            text = str(detected)
            if _TIMING_ARROW in text:
                return text, detected.encoding
    raise _not_decodable(data, "utf-8", 0, utf8_error, source)


def _strict(data: bytes, encoding: str, skip: int, source: str | Path) -> str:
    try:
        return data[skip:].decode(encoding)
    except UnicodeDecodeError as error:
        raise _not_decodable(data, encoding, skip, error, source) from None


def _damaged_utf8(data: bytes) -> bool:
    """Mostly valid UTF-8 multi-byte characters with a few broken bytes: a damaged UTF-8 file."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    valid = sum(1 for ch in text if ord(ch) > 0x7F) - broken
    return valid > broken


def _not_decodable(
    data: bytes, encoding: str, skip: int, error: UnicodeDecodeError, source: str | Path
) -> SubtitleError:
    offset = skip + error.start
    line = data[:offset].count(b"\n") + 1
    hint = ""
    if encoding == "utf-8" and _decodes_as(data, "cp932"):
        hint = " It looks like Shift_JIS (cp932), common for Japanese Windows tools."
    detected = ", ".join(_DETECTED_ENCODINGS)
    return SubtitleError(
        source,
        f"it is not valid {encoding.upper()} (byte 0x{data[offset]:02x}: {error.reason}), nor readable as "
        f"{detected}.{hint}",
        line=line,
        byte_offset=offset,
        advice="Re-save the file as UTF-8 (e.g. in VS Code: 'Save with Encoding' -> UTF-8) "
        "and drop it into the inbox again.",
    )


def clean_cue_text(raw: str) -> tuple[list[str], str | None]:
    """Strip markup from one cue's text; returns its non-empty lines and the ``<v>`` speaker.

    HTML/WebVTT tags (<i>, <font>, <c.colorE5E5E5>, inline timestamps), ruby
    readings, ASS overrides such as ``{\\an8}`` and entities are removed; text
    such as （笑） is content and stays.
    """
    voice = _VOICE.search(raw)
    speaker = voice.group(1).strip() if voice else None
    text = _RUBY_TEXT.sub("", raw)
    text = _RUBY_PAREN.sub("", text)
    text = _TAG.sub("", text)
    text = _ASS_OVERRIDE.sub("", text)
    text = html.unescape(text).replace("\\N", "\n")  # ASS hard line break
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return [line for line in lines if line], speaker or None


def join_lines(lines: list[str] | tuple[str, ...]) -> str:
    """Join caption lines: no space between Japanese text, one space otherwise."""
    out = ""
    for line in lines:
        if out and not (_CJK.match(out[-1]) and _CJK.match(line[0])):
            out += " "
        out += line
    return out


def _cues_to_segments(cues: list[_Cue]) -> list[Segment]:
    """Order cues, drop flashes and duplicates, and collapse rolling auto-captions."""
    ordered = sorted((c for c in cues if c.lines), key=lambda c: (c.start, c.end))
    if _is_rolling(ordered):
        return _collapse_rolling(ordered)
    segments: list[Segment] = []
    previous: _Cue | None = None
    for cue in ordered:
        if previous is not None and _is_flash_repeat(cue, previous):
            continue
        text = join_lines(cue.lines)
        last = segments[-1] if segments else None
        if last is not None and last.text == text and cue.start <= last.end + FLASH_CUE_SECONDS:
            # the same line split over two back-to-back cues is one utterance
            segments[-1] = Segment(last.start, max(last.end, cue.end), text, last.speaker)
        else:
            segments.append(Segment(cue.start, cue.end, text, cue.speaker))
        previous = cue
    return segments


def _decodes_as(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _srt_cues(text: str, source: str | Path) -> list[_Cue]:
    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as error:
        unmatched = error.unmatched_content
        offset = error.expected_start + (len(unmatched) - len(unmatched.lstrip()))
        excerpt = " / ".join(unmatched.strip().splitlines()[:3])
        raise SubtitleError(
            source,
            f"this is not a valid SRT cue: {excerpt!r}",
            line=text.count("\n", 0, offset) + 1,
            advice="Each cue needs a number line, a 'HH:MM:SS,mmm --> HH:MM:SS,mmm' line and text; "
            "fix the timing line or delete the cue.",
        ) from None
    except srt.TimestampParseError as error:
        raise SubtitleError(source, f"unparseable timestamp ({error}).",
                            advice="Fix the timestamp to the form HH:MM:SS,mmm.") from None
    return [
        _cue(source, sub.start.total_seconds(), sub.end.total_seconds(), sub.content, None, f"cue {sub.index}")
        for sub in subtitles
    ]


def _vtt_cues(text: str, source: str | Path) -> list[_Cue]:
    try:
        captions = webvtt.from_string(text).captions
    except MalformedFileError:
        raise SubtitleError(
            source,
            "it does not start with the 'WEBVTT' header line.",
            line=1,
            advice="Add a first line reading WEBVTT, or rename the file to .srt if it is SubRip.",
        ) from None
    except MalformedCaptionError as error:  # pragma: no cover - only raised in strict mode
        raise SubtitleError(source, str(error)) from None
    _raise_for_dropped_vtt_cues(text, len(captions), source)
    return [
        _cue(
            source,
            caption.start_time.in_milliseconds() / 1000,
            caption.end_time.in_milliseconds() / 1000,
            caption.raw_text,
            caption.voice,
            f"cue {caption.identifier or caption.start}",
        )
        for caption in captions
    ]


def _cue(source: str | Path, start: float, end: float, raw: str, voice: str | None, label: str) -> _Cue:
    if end < start:
        raise SubtitleError(
            source,
            f"{label} ends ({end:.3f} s) before it starts ({start:.3f} s).",
            advice="Fix that cue's timing line (start --> end) or delete the cue.",
        )
    lines, speaker = clean_cue_text(raw)
    return _Cue(start, end, tuple(lines), voice or speaker)


def _raise_for_dropped_vtt_cues(text: str, parsed: int, source: str | Path) -> None:
    """webvtt-py silently skips cues whose timing it cannot read; we refuse to lose lines.

    The spec forbids "-->" outside timing lines, so more arrow lines than
    parsed captions means a cue was dropped; each arrow line is then re-parsed
    on its own by the library to find (and explain) the bad one.
    """
    lines = text.splitlines()
    arrows = [i for i, line in enumerate(lines) if "-->" in line]
    if len(arrows) <= parsed:
        return
    for index in arrows:
        probe = f"WEBVTT\n\n{lines[index]}\nx\n"
        if len(webvtt.from_string(probe)) == 1:
            continue
        try:
            webvtt.from_string(probe, strict=True)
            detail = "the library could not read this cue"
        except (MalformedCaptionError, MalformedFileError) as error:
            detail = str(error)
        raise SubtitleError(
            source,
            f"unparseable cue timing {lines[index].strip()!r} ({detail}).",
            line=index + 1,
            advice="Timings look like '00:01:02.345 --> 00:01:04.000'; fix or delete the cue.",
        )


def _overlap(previous: tuple[str, ...], current: tuple[str, ...]) -> int:
    """How many leading lines of ``current`` repeat the trailing lines of ``previous``."""
    for size in range(min(len(previous), len(current)), 0, -1):
        if current[:size] == previous[-size:]:
            return size
    return 0


def _is_flash_repeat(cue: _Cue, previous: _Cue) -> bool:
    return cue.end - cue.start <= FLASH_CUE_SECONDS and all(line in previous.lines for line in cue.lines)


def _is_rolling(cues: list[_Cue]) -> bool:
    """Rolling captions: many cues repeat the previous cue's last line, grow it, or flash it."""
    if len(cues) < 3:
        return False
    rolls = 0
    for previous, cue in zip(cues, cues[1:]):
        if _is_flash_repeat(cue, previous):
            rolls += 1
        elif len(cue.lines) >= 2 and _overlap(previous.lines, cue.lines):
            rolls += 1
        elif cue.lines[0] != previous.lines[-1] and cue.lines[0].startswith(previous.lines[-1]):
            rolls += 1
    return rolls >= max(2, ROLLING_SHARE * (len(cues) - 1))


def _collapse_rolling(cues: list[_Cue]) -> list[Segment]:
    """One segment per newly shown line, timed from when it appeared, never overlapping."""
    segments: list[Segment] = []
    previous: tuple[str, ...] = ()
    for cue in cues:
        if segments and cue.end - cue.start <= FLASH_CUE_SECONDS and all(line in previous for line in cue.lines):
            continue
        new_lines = cue.lines[_overlap(previous, cue.lines):]
        previous = cue.lines
        if not new_lines:
            continue
        text = join_lines(new_lines)
        last = segments[-1] if segments else None
        if (
            last is not None
            and len(new_lines) == 1
            and text != last.text
            and text.startswith(last.text)
            and cue.start <= last.end + FLASH_CUE_SECONDS
        ):
            # word-by-word captions: the line grew, so it is the same utterance
            segments[-1] = Segment(last.start, max(last.end, cue.end), text, last.speaker)
            continue
        segments.append(Segment(cue.start, cue.end, text, cue.speaker))
    for i in range(len(segments) - 1):
        current, following = segments[i], segments[i + 1]
        if current.end > following.start:
            segments[i] = Segment(current.start, max(current.start, following.start), current.text, current.speaker)
    return segments
