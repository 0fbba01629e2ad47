"""Items from the curated lexicon: streaming, internet and everyday-modern words and phrases."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from aivlingual_assets.analysis import dictionary
from aivlingual_assets.analysis.extraction.line import HONORIFICS, Found, Line, make
from aivlingual_assets.analysis.lexicon import fold as lexicon_fold
from aivlingual_assets.analysis.lexicon import lexicon
from aivlingual_assets.analysis.schemas import Category

# Lexicon categories whose sense belongs to streaming and the internet, not to Japanese at large.
_DOMAIN_CATEGORIES = frozenset({Category.vtuber_culture, Category.internet})
_DOMAIN_EVIDENCE = 2  # unmistakable stream/net words needed before 卒業 may mean a Vtuber's retirement


@lru_cache(maxsize=4096)
def _ordinary_word(expression: str) -> bool:
    """The lexicon word is also an everyday dictionary word (卒業, ママ, 箱, 草), so its
    stream sense needs a stream around it."""
    entry = dictionary.lookup(expression)
    return entry is not None and entry.is_common


def stream_context(prepared: Sequence[Line]) -> bool:
    """Whether the recording sounds like a stream or a net forum: it uses stream or net
    words that are nothing else (スパチャ, 同接, 切り抜き, ｗｗ)."""
    hits = 0
    for pl in prepared:
        for m in lexicon().find(pl.folded, pl.boundaries):
            if m.entry.category in _DOMAIN_CATEGORIES and not _ordinary_word(m.entry.expression):
                hits += 1
                if hits >= _DOMAIN_EVIDENCE:
                    return True
    return False


def lexicon_items(pl: Line, stream: bool = True) -> tuple[list[Found], list[bool], list[tuple[int, int]]]:
    """Curated lexicon items, the characters they cover, and their spans (a grammar
    pattern inside a curated expression, 〜てみる in 言われてみれば, is the expression's).
    Outside a stream (``stream`` false: a talk, a podcast) an everyday word keeps its
    everyday sense: 卒業 is graduation, ママ is mum."""
    covered = [False] * len(pl.folded)
    found: list[Found] = []
    spans: list[tuple[int, int]] = []
    for m in lexicon().find(pl.folded, pl.boundaries):
        if not stream and m.entry.category in _DOMAIN_CATEGORIES and _ordinary_word(m.entry.expression):
            continue
        # A name before an honorific is not slang, unless the entry itself ends in the
        # honorific (初見さん) or is the whole nickname (後輩ちゃん, ママさん).
        if (
            any(pl.honorific_names[m.start : m.end])
            and (m.start, m.end) not in pl.name_spans
            and not any(pl.folded.startswith(h, m.end - len(h)) for h in HONORIFICS)
        ):
            continue
        e = m.entry
        if _another_word_here(pl, m):
            continue
        expr = make(
            pl,
            m.start,
            m.end,
            lemma=e.expression,
            reading=e.reading,
            meaning=e.meaning,
            category=e.category,
            explanation=e.explanation,
        )
        if expr is None:
            continue
        for c in range(m.start, m.end):
            covered[c] = True
        found.append(Found(m.start, expr))
        spans.append((m.start, m.end))
    return found, covered, spans


_SHORT_SPELLING = 4


def _another_word_here(pl: Line, m) -> bool:
    """A lexicon spelling that Sudachi reads as part of another word: inside one word JMdict
    lists (地元 in 地元民 "locals"); and for a short spelling, a conjugated verb or adjective (おけ
    in 流しておけば is 置く), a suffix on a verb stem (がち in 選びがち), or half of a doubled
    word (ガチャ in ガチャガチャ)."""
    if any(tok.begin <= m.start and m.end <= tok.end and (tok.begin, tok.end) != (m.start, m.end)
           and dictionary.lookup(tok.surface) is not None for tok in pl.tokens):
        return True
    if m.end - m.start >= _SHORT_SPELLING:
        return False
    spellings = set(m.entry.spellings())
    for k, tok in enumerate(pl.tokens):
        if tok.end <= m.start or tok.begin >= m.end:
            continue
        half = len(tok.surface) // 2
        if len(tok.surface) >= 4 and tok.surface[:half] == tok.surface[half:] and (tok.begin, tok.end) != (m.start, m.end):
            return True
        if (tok.begin, tok.end) != (m.start, m.end):
            continue
        prev = pl.tokens[k - 1] if k > 0 else None
        nxt = pl.tokens[k + 1] if k + 1 < len(pl.tokens) else None
        inflecting = (prev is not None and prev.pos2 == "接続助詞") or (
            nxt is not None and (nxt.pos1 == "助動詞" or nxt.pos2 == "接続助詞")
        )
        if tok.pos1 in ("動詞", "形容詞") and tok.surface != tok.dictionary_form and inflecting:
            if not {lexicon_fold(tok.dictionary_form), lexicon_fold(tok.normalized_form)} & spellings:
                return True
        if tok.pos1 == "接尾辞" and prev is not None and prev.pos1 == "動詞":
            return True
    return False
