"""Grammar-pattern items: the patterns of data/grammar_patterns.yaml found in a line."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from aivlingual_assets.analysis import dictionary
from aivlingual_assets.analysis.kana import is_kana, katakana_to_hiragana
from aivlingual_assets.analysis.extraction.line import Found, Line, expand, make, reading_of_span
from aivlingual_assets.analysis.lexicon import grammar_matchers, token_index
from aivlingual_assets.analysis.schemas import Category, Level
from aivlingual_assets.analysis.tokenizer import Token

def grammar_raw_matches(pl: Line) -> list[tuple[int, int, int, object]]:
    """Grammar matches ``(start, end, own_start, pattern)``; a match lying strictly inside
    another pattern's match is dropped (〜ても inside 〜てもいい, 〜たら inside 〜たらよかった)."""
    return list(_grammar_matches(tuple(pl.tokens), pl.folded))


@lru_cache(maxsize=1)
def _prefilter() -> tuple[tuple, list[int], dict[tuple[str, str], list[int]], dict[str, list[int]]]:
    """The patterns' needs (``PatternMatcher.needs``) inverted: which patterns a token key or a
    character of a line lets through, so a line meets only those instead of asking all ~400."""
    matchers = grammar_matchers()
    always: list[int] = []
    by_key: dict[tuple[str, str], list[int]] = {}
    by_char: dict[str, list[int]] = {}
    for i, m in enumerate(matchers):
        if m.needs is None:
            always.append(i)
            continue
        keys, chars = m.needs
        for k in keys:
            by_key.setdefault(k, []).append(i)
        for ch in chars:
            by_char.setdefault(ch, []).append(i)
    return matchers, always, by_key, by_char


def _candidates(index: dict[tuple[str, str], list[int]], folded: str) -> list[int]:
    matchers, always, by_key, by_char = _prefilter()
    chosen = set(always)
    for k in index.keys() & by_key.keys():
        chosen.update(by_key[k])
    for ch in set(folded) & by_char.keys():
        chosen.update(by_char[ch])
    return sorted(chosen)  # the file's order, as before


@lru_cache(maxsize=32768)
def _grammar_matches(tokens: tuple[Token, ...], folded: str) -> tuple[tuple[int, int, int, object], ...]:
    index = token_index(tokens)
    matchers = _prefilter()[0]
    raw: list[tuple[int, int, int, object]] = []
    for i in _candidates(index, folded):
        matcher = matchers[i]
        for s, e, own in matcher.find(tokens, folded, index):
            raw.append((s, e, own, matcher.pattern))

    def inside_another(own: int, e: int, p: object) -> bool:
        return any(p2 is not p and own2 <= own and e <= e2 and (own2, e2) != (own, e) for _, e2, own2, p2 in raw)

    return tuple(r for r in raw if not inside_another(r[2], r[1], r[3]))


# Patterns a beginner's first textbook teaches: an intermediate learner has them already.
# (On the real-speech tuning sets a teacher wanted N5 patterns once in 16 offers.)
BELOW_OFFERED = frozenset({Level.N5})


def _inside_a_word(pl: Line, own: int, end: int, pattern: str) -> bool:
    """The pattern matched inside one noun (〜つもり in 見積もり, 〜まみれ in 泥まみれ), or the
    noun is a common word of its own in the dictionary (考え方 "way of thinking", 見方
    "viewpoint", not 〜方 "how to"): the noun is the word said, and it is offered as
    vocabulary instead. A rarer compound (倒し方, 焼きたて) still teaches the pattern."""
    core = pattern.strip("〜")
    for t in pl.tokens:
        if t.pos1 != "名詞" or not (t.begin <= own < t.end):
            continue
        if t.begin < own and end <= t.end:
            return True
        if len(t.surface) > len(core) and core not in (t.dictionary_form, t.surface) and _common_word(t.dictionary_form):
            return True
    return False


@lru_cache(maxsize=8192)
def _common_word(form: str) -> bool:
    return any(e.is_common and (form in e.kanji_forms or form in e.kana_forms) for e in dictionary.lookup_all(form))


def _fused_noun(tokens: Sequence[Token], start: int, end: int) -> Token | None:
    """The kana noun Sudachi made of a pattern's last sounds and the word after them (代わってもう|たから,
    "treasure", for 代わってもうた|から): the pattern was matched on the text, so it ends at its own end."""
    for t in tokens:
        if start <= t.begin < end < t.end and t.pos1 == "名詞" and is_kana(t.surface):
            return t
    return None


def grammar_items(pl: Line, covered: list[bool], raw, blocked: Sequence[tuple[int, int]] = ()) -> list[Found]:
    """Grammar items.  The pattern's own words are marked covered (no しれる from
    かもしれない); a leading host word (歌い in 歌いながら) stays available as vocabulary.
    A pattern inside a set phrase (〜てみる inside 言われてみれば) is part of the phrase, not
    a separate point.  The reading is the expression's as said (聞こえてる → きこえてる)."""
    found: list[Found] = []
    for s, e, own, p in raw:
        if any(bs <= own and e <= be for bs, be in blocked) or _inside_a_word(pl, own, e, p.pattern):
            continue
        for t in pl.tokens:
            # a noun the pattern begins inside is its host (局地的 of 局地的には): still a word
            if t.end > own and t.begin < e and (t.begin >= own or t.pos1 != "名詞"):
                for c in range(t.begin, t.end):
                    covered[c] = True
        if p.level in BELOW_OFFERED:
            continue  # 〜てください, 〜ましょう: recognised (its words are no vocabulary), not offered
        s2, e2 = expand(pl.tokens, s, e)
        fused = _fused_noun(pl.tokens, s, e)
        if fused is not None:  # the pattern ends where it ends, not inside the noun Sudachi made of its tail
            e2 = e
        reading = reading_of_span(pl, s2, fused.begin) + katakana_to_hiragana(pl.folded[fused.begin : e]) if fused else reading_of_span(pl, s2, e2)
        expr = make(
            pl,
            s2,
            e2,
            lemma=p.pattern,
            reading=reading or p.reading,
            meaning=p.meaning,
            category=Category.grammar,
            explanation=p.explanation,
        )
        if expr is not None:
            found.append(Found(s, expr))
    return found
