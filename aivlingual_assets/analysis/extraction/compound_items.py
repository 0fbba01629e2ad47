"""Compound nouns JMdict does not list (爽快感, 契約内容, 闇バイト): one item, glossed by its parts.

Why: Japanese builds nouns freely from nouns (地元|民 "locals", 吸引|力 "suction power"), and
teachers pick such compounds as units: over a hundred items of the real-speech tuning lists are
compounds JMdict lacks. Offering only the parts loses the word the learner met. Only compounds
Sudachi's dictionary knows as one word are taken (its mode-C token): runs of nouns that merely
stand side by side (増加|傾向 but also 先週|データ, 高級|ブティック) were tried, even without
adverbial nouns, and lost more precision on the tuning sets than they gained recall.
The meaning is composed from the parts' own JMdict glosses, and the explanation names each part,
so nothing is invented; the parts are not offered again.
"""

from __future__ import annotations

import re

from aivlingual_assets.analysis import dictionary
from aivlingual_assets.analysis.dictionary import DictEntry
from aivlingual_assets.analysis.extraction.line import Found, Line, make, reading_of_span
from aivlingual_assets.analysis.levels import LEVELS_BY_DIFFICULTY, is_basic_word, vocabulary_level
from aivlingual_assets.analysis.schemas import LEVEL_ORDER, Category, Level
from aivlingual_assets.analysis.tokenizer import Token, split_token

__all__ = ["compound_items", "MAX_PARTS"]

MAX_PARTS = 3
_WRITTEN = re.compile(r"[\u3400-\u9fff々〆ヶァ-ヺー]{3,}")  # kanji and katakana: no kana endings, no digits
_PARENS = re.compile(r"\s*\([^)]*\)")


def _compound(tok: Token, pl: Line) -> bool:
    return (
        tok.pos1 == "名詞" and tok.pos2 == "普通名詞" and bool(_WRITTEN.fullmatch(tok.surface))
        and not any(pl.names[tok.begin : tok.end])
    )


def _gloss(entry: DictEntry) -> str:
    first = _PARENS.sub("", entry.glosses[0]).strip()
    return first.removeprefix("to ") or entry.glosses[0]


def _compound_item(pl: Line, tok: Token) -> Found | None:
    if dictionary.lookup(tok.surface) is not None:
        return None  # a word JMdict lists is the ordinary look-up's
    parts = split_token(tok, pl.folded)
    if not 2 <= len(parts) <= MAX_PARTS:
        return None
    entries = [dictionary.lookup(p.surface, p.reading or None) or dictionary.lookup(p.surface) for p in parts]
    if any(entry is None or not entry.glosses for entry in entries) or all(is_basic_word(p.surface) for p in parts):
        return None
    level = max((vocabulary_level(entry, p.surface)[0] for entry, p in zip(entries, parts)), key=LEVEL_ORDER.get)
    reading = reading_of_span(pl, tok.begin, tok.end)
    if level == Level.N5 or not reading:
        return None
    named = " + ".join(f"{p.surface} ({'; '.join(entry.glosses[:2])})" for entry, p in zip(entries, parts))
    by_part = " / ".join(f"{p.surface}: {'; '.join(entry.glosses[:3])}" for entry, p in zip(entries, parts))
    expr = make(
        pl, tok.begin, tok.end, lemma=tok.surface, reading=reading, category=Category.vocabulary,
        meaning=f"{' '.join(_gloss(entry) for entry in entries)} ({by_part})",
        explanation=f"Compound noun, read as its parts: {named}. About {level.value}.",
    )
    return None if expr is None else Found(tok.begin, expr, LEVELS_BY_DIFFICULTY.index(level))


def compound_items(pl: Line, covered: list[bool]) -> list[Found]:
    """Compounds of two or three known parts that Sudachi reads as one word and JMdict lacks.
    Their parts are then covered: a teacher who picks 契約内容 does not want 契約 and 内容 again."""
    found: list[Found] = []
    for tok in pl.tokens:
        if _compound(tok, pl) and not any(covered[tok.begin : tok.end]):
            item = _compound_item(pl, tok)
            if item is not None:
                found.append(item)
                covered[tok.begin : tok.end] = [True] * (tok.end - tok.begin)
    return found
