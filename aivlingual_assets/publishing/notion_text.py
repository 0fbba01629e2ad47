"""Text for Notion's API: UTF-16 lengths, grapheme-safe cutting, rich_text arrays.

Notion allows 2,000 characters per text object, 100 text objects per rich_text array and
100 characters per select option name.  Lengths are measured in UTF-16 code units (what
JavaScript's length counts), which is never less than the number of code points, so we stay
inside either reading; text is cut only between user-perceived characters.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any, Iterator

import numpy as np
import pandas as pd

__all__ = [
    "ELLIPSIS",
    "MAX_TEXT_OBJECTS",
    "OPTION_NAME_LIMIT",
    "TEXT_OBJECT_LIMIT",
    "URL_LIMIT",
    "clean_option_name",
    "clean_text",
    "grapheme_clusters",
    "has_forbidden_characters",
    "is_cluster_boundary",
    "is_missing",
    "iter_grapheme_clusters",
    "split_rich_text",
    "split_text",
    "truncate_text",
    "utf16_len",
]

TEXT_OBJECT_LIMIT = 2000
MAX_TEXT_OBJECTS = 100
OPTION_NAME_LIMIT = 100
URL_LIMIT = 2000
ELLIPSIS = "…"


def is_missing(value: Any) -> bool:
    """None, NaN, NA or NaT (but not an empty string or container)."""
    if value is None:
        return True
    if isinstance(value, (str, bytes, list, tuple, dict, set)):
        return False
    try:
        result = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return bool(result) if isinstance(result, (bool, np.bool_)) else False



def utf16_len(text: str) -> int:
    """Length as Notion's JavaScript backend counts it (astral characters count 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


_ZWJ = "\u200d"

# extenders besides combining marks (General_Category Mn / Me / Mc)
_EXTRA_EXTENDERS = (
    (0x200C, 0x200C),  # ZWNJ
    (0xFE00, 0xFE0F),  # variation selectors (emoji / text presentation)
    (0xFF9E, 0xFF9F),  # half-width katakana (semi-)voiced marks
    (0x1160, 0x11FF),  # Hangul medial / final jamo
    (0xD7B0, 0xD7FF),
    (0x1F3FB, 0x1F3FF),  # emoji skin-tone modifiers
    (0xE0020, 0xE007F),  # tag characters (subdivision flags)
    (0xE0100, 0xE01EF),  # ideographic variation selectors (異体字セレクタ)
)
# blocks without any combining mark, skipped when scanning (CJK, Hangul syllables, surrogates, PUA)
_NO_MARKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xD800, 0xF8FF))


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Regexes for one grapheme cluster and for one extender; built once (scans ~70k code points)."""
    ranges: list[tuple[int, int]] = list(_EXTRA_EXTENDERS)
    run_start: int | None = None
    cp = 0x300
    while cp <= 0x1FFFF:
        skip = next((hi for lo, hi in _NO_MARKS if lo <= cp <= hi), None)
        if skip is not None:
            if run_start is not None:
                ranges.append((run_start, cp - 1))
                run_start = None
            cp = skip + 1
            continue
        is_mark = unicodedata.category(chr(cp)) in ("Mn", "Me", "Mc")
        if is_mark and run_start is None:
            run_start = cp
        elif not is_mark and run_start is not None:
            ranges.append((run_start, cp - 1))
            run_start = None
        cp += 1
    if run_start is not None:
        ranges.append((run_start, 0x1FFFF))
    ext = "".join(re.escape(chr(lo)) + ("-" + re.escape(chr(hi)) if hi > lo else "") for lo, hi in sorted(ranges))
    ri = "\U0001F1E6-\U0001F1FF"
    cluster = re.compile(rf"\r\n|[\r\n]|[{ri}][{ri}](?:[{ext}])*|[^\r\n](?:[{ext}]|{_ZWJ}[^\r\n]?)*")
    return cluster, re.compile(rf"[{ext}{_ZWJ}]")


def iter_grapheme_clusters(text: str) -> Iterator[str]:
    """User-perceived characters (simplified UAX #29), lazily."""
    return (m.group() for m in _patterns()[0].finditer(text))


def grapheme_clusters(text: str) -> list[str]:
    """User-perceived characters (simplified UAX #29): never cut inside one of these.

    Keeps together CR LF, base + combining marks (か + ゚), emoji with variation
    selectors, skin tones and ZWJ sequences, keycaps, and regional-indicator flags.
    """
    return list(iter_grapheme_clusters(text))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(value: Any) -> str:
    """Text safe to send: str, NFC, unified newlines, no control chars or lone surrogates."""
    if is_missing(value):
        return ""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    text = _LONE_SURROGATE.sub("\ufffd", text)
    text = _CONTROL.sub("", text)
    return unicodedata.normalize("NFC", text).strip()



def has_forbidden_characters(text: str) -> bool:
    """Control characters or lone surrogates (which :func:`clean_text` would replace)."""
    return bool(_CONTROL.search(text) or _LONE_SURROGATE.search(text))


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def is_cluster_boundary(text: str, index: int) -> bool:
    """May ``text`` be cut before ``text[index]`` without splitting a grapheme cluster?"""
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if before == "\r" and after == "\n":
        return False
    if before in "\r\n" or after in "\r\n":
        return True
    if before == _ZWJ or _patterns()[1].match(after):
        return False
    if _is_regional_indicator(before) and _is_regional_indicator(after):
        run = 0
        while index - run - 1 >= 0 and _is_regional_indicator(text[index - run - 1]):
            run += 1
        return run % 2 == 0  # flags are pairs counted from the start of the run
    return True


def _fit(text: str, start: int, limit: int) -> int:
    """An end index so that text[start:end] is at most ``limit`` UTF-16 units (near-maximal)."""
    end = min(len(text), start + limit)
    units = utf16_len(text[start:end])
    while units > limit:  # astral characters count twice
        end -= max(1, (units - limit + 1) // 2)
        units = utf16_len(text[start:end])
    return end


def _cut(text: str, start: int, limit: int) -> int:
    """End of the longest chunk from ``start`` within ``limit`` that ends on a cluster boundary."""
    end = _fit(text, start, limit)
    if end >= len(text):
        return len(text)
    boundary = end
    while boundary > start and not is_cluster_boundary(text, boundary):
        boundary -= 1
    # one cluster longer than the limit (stacked marks): cut between code points, which in
    # Python never splits a surrogate pair
    return boundary if boundary > start else max(end, start + 1)


def truncate_text(text: str, max_units: int, *, marker: str = ELLIPSIS) -> str:
    """Cut ``text`` to ``max_units`` UTF-16 units at a grapheme boundary, marking the cut."""
    if utf16_len(text) <= max_units:
        return text
    budget = max(0, max_units - utf16_len(marker))
    end = _cut(text, 0, budget) if budget else 0
    return text[:end] + marker


def split_text(text: str, limit: int = TEXT_OBJECT_LIMIT) -> list[str]:
    """Chunks of at most ``limit`` UTF-16 units, cut only between grapheme clusters."""
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = _cut(text, start, limit)
        chunks.append(text[start:end])
        start = end
    return chunks


def split_rich_text(
    text: str, *, limit: int = TEXT_OBJECT_LIMIT, max_objects: int = MAX_TEXT_OBJECTS
) -> list[dict[str, Any]]:
    """A Notion rich_text array for ``text``: several text objects if it is long."""
    if not text:
        return []
    if utf16_len(text) > limit * max_objects:
        text = truncate_text(text, limit * max_objects)
    chunks = split_text(text, limit)
    if len(chunks) > max_objects:  # clusters left gaps at chunk ends: make room
        chunks = split_text(truncate_text(text, limit * (max_objects - 1)), limit)[:max_objects]
    return [{"type": "text", "text": {"content": chunk}} for chunk in chunks]


def clean_option_name(value: Any) -> str:
    """A select / multi_select option name: no commas (Notion forbids them), ≤ 100 units."""
    text = clean_text(value).replace(",", " ")
    text = " ".join(text.split())
    return truncate_text(text, OPTION_NAME_LIMIT, marker="")

