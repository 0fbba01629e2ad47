"""Compound nouns JMdict does not list (爽快感, 契約内容, 闇バイト): one item, glossed by its parts.

Why: Japanese builds nouns freely from nouns (地元|民 "locals", 吸引|力 "suction power"), and
teachers pick such compounds as units: over a hundred items of the real-speech tuning lists are
compounds JMdict lacks. Offering only the parts loses the word the learner met. Only compounds
Sudachi's dictionary knows as one word are taken (its mode-C token): runs of nouns that merely
stand side by side (増加|傾向 but also 先週|データ, 高級|ブティック) were tried, even without
adverbial nouns, and lost more precision on the tuning sets than they gained recall.
The meaning is composed from the parts' own JMdict glosses, and the explanation names each part,
so nothing is invented; the parts are not offered again.

A noun and a one-kanji prefix or suffix that Sudachi cuts off (新|事業, 非|寛容, 流行|国, 反省|点,
映像|版) are such a compound too: the part was a fragment teachers turned down, the compound the word
they listed. The affix is glossed in its prefix or suffix sense (非 "non-", not "fault"); affixes of
time, place, order and quantity (今, 中, 内, 側, 年 …) make transparent phrases and are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

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
    return _composed(pl, tok.begin, tok.end, tok.surface, parts, entries, level)


def _composed(pl: Line, begin: int, end: int, lemma: str, parts: Sequence[Token], entries: list[DictEntry],
              level: Level) -> Found | None:
    """The compound said over [begin, end), glossed by its parts' own JMdict glosses."""
    reading = reading_of_span(pl, begin, end)
    if level == Level.N5 or not reading:
        return None
    named = " + ".join(f"{p.surface} ({'; '.join(entry.glosses[:2])})" for entry, p in zip(entries, parts))
    by_part = " / ".join(f"{p.surface}: {'; '.join(entry.glosses[:3])}" for entry, p in zip(entries, parts))
    expr = make(
        pl, begin, end, lemma=lemma, reading=reading, category=Category.vocabulary,
        meaning=f"{' '.join(_gloss(entry) for entry in entries)} ({by_part})",
        explanation=f"Compound noun, read as its parts: {named}. About {level.value}.",
    )
    return None if expr is None else Found(begin, expr, LEVELS_BY_DIFFICULTY.index(level))


_ONE_KANJI = re.compile(r"[\u3400-\u9fff]")
_TWO_KANJI = re.compile(r"[\u3400-\u9fff々]{2,}")


# Affixes of time, place, order and quantity make transparent phrases, not words (今|町内会, 演説|中,
# 救急車|内, 被害者|側, 桜花|年): their parts are what a learner looks up.
_TRANSPARENT_AFFIXES = frozenset("今前元後次毎各全本当計約第等年月日時中内外上下側別達的化性")


def _prefix(tok: Token) -> bool:
    """A one-kanji prefix of a compound noun (新|事業, 非|寛容)."""
    return bool(_ONE_KANJI.fullmatch(tok.surface)) and tok.pos1 == "接頭辞" and tok.surface not in _TRANSPARENT_AFFIXES


def _suffix(tok: Token) -> bool:
    """A one-kanji suffix of a compound noun (流行|国, 投球|数, 反省|点, 映像|版): Sudachi's suffix,
    or a one-kanji noun it marks as a possible counter."""
    return bool(_ONE_KANJI.fullmatch(tok.surface)) and tok.surface not in _TRANSPARENT_AFFIXES and (
        (tok.pos1 == "接尾辞" and tok.pos2 == "名詞的") or (tok.pos1 == "名詞" and tok.pos[2] == "助数詞可能"))


def _stem(tok: Token) -> bool:
    return tok.pos1 == "名詞" and tok.pos2 == "普通名詞" and tok.pos[2] != "副詞可能" and bool(_TWO_KANJI.fullmatch(tok.surface))


def _affixed_pair(pl: Line, k: int) -> Found | None:
    """A noun and a one-kanji prefix or suffix Sudachi cut off, as the compound said (投球数, 非寛容)."""
    a, b = pl.tokens[k], pl.tokens[k + 1]
    if a.end != b.begin or not ((_stem(a) and _suffix(b)) or (_prefix(a) and _stem(b))):
        return None
    if any(pl.names[a.begin : b.end]) or (a.begin > 0 and _ONE_KANJI.match(pl.folded[a.begin - 1]) is not None):
        return None
    if b.end < len(pl.folded) and _ONE_KANJI.match(pl.folded[b.end]) is not None:
        return None  # part of a longer kanji run
    text = a.surface + b.surface
    if dictionary.lookup(text) is not None:
        return None  # a word JMdict lists is the ordinary look-up's
    stem = a if _stem(a) else b
    entries = [dictionary.lookup(t.surface, t.reading or None, pos=None if t is stem else ("接頭辞" if t is a else "接尾辞"))
               or dictionary.lookup(t.surface) for t in (a, b)]
    if any(e is None or not e.glosses for e in entries):
        return None
    stem_entry = entries[0] if stem is a else entries[1]
    if is_basic_word(stem.surface):
        return None
    return _composed(pl, a.begin, b.end, text, (a, b), entries, vocabulary_level(stem_entry, stem.surface)[0])


def _a_name(text: str) -> bool:
    """A compound JMdict lacks and JMnedict lists is a name (甲子園 the stadium, 新東名 the
    expressway): neither it nor its parts (甲子 "Wood Rat year") are vocabulary."""
    return dictionary.lookup(text) is None and dictionary.is_name(text)


def compound_items(pl: Line, covered: list[bool]) -> list[Found]:
    """Compounds of two or three known parts that Sudachi reads as one word and JMdict lacks.
    Their parts are then covered: a teacher who picks 契約内容 does not want 契約 and 内容 again."""
    found: list[Found] = []

    def take(begin: int, end: int, name: bool, item: Callable[[], Found | None]) -> None:
        """A name covers its span and offers nothing; a compound found is offered and covers its parts."""
        found_item = None if name else item()
        if name or found_item is not None:
            covered[begin:end] = [True] * (end - begin)
        if found_item is not None:
            found.append(found_item)

    for tok in pl.tokens:
        if _compound(tok, pl) and not any(covered[tok.begin : tok.end]):
            take(tok.begin, tok.end, _a_name(tok.surface), lambda: _compound_item(pl, tok))
    for k in range(len(pl.tokens) - 1):
        a, b = pl.tokens[k], pl.tokens[k + 1]
        if not any(covered[a.begin : b.end]):
            name = a.end == b.begin and (_stem(a) or _stem(b)) and _a_name(a.surface + b.surface)
            take(a.begin, b.end, name, lambda: _affixed_pair(pl, k))
    return found
