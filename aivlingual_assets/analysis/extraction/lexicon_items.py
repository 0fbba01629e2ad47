"""Items from the curated lexicon: streaming, internet and everyday-modern words and phrases."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from aivlingual_assets.analysis import dictionary
from aivlingual_assets.analysis.extraction.word_items import _lookup_token
from aivlingual_assets.analysis.extraction.line import HONORIFICS, Found, Line, make
from aivlingual_assets.analysis.extraction.respellings import Respelling, kanji_spelling, respellings
from aivlingual_assets.analysis.lexicon import LexiconEntry, lexicon
from aivlingual_assets.analysis.lexicon import fold as lexicon_fold
from aivlingual_assets.analysis.schemas import Category, Expression
from aivlingual_assets.analysis.senses import casual_form_note, meaning_in_context
from aivlingual_assets.analysis.tokenizer import has_kanji, katakana_to_hiragana

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

    def take(start: int, end: int, expr: Expression | None) -> None:
        if expr is None:
            return
        covered[start:end] = [True] * (end - start)
        found.append(Found(start, expr))
        spans.append((start, end))

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
        if _another_word_here(pl, m) or not e.said_as(pl.tokens, m.start):
            continue
        take(m.start, m.end, make(pl, m.start, m.end, lemma=e.expression, reading=e.reading, meaning=e.meaning,
                                  category=e.category, explanation=e.explanation))
    # a word said drawn out or in katakana (たまあに, イコウゼ), where no entry took the span as said
    for r in respellings(pl):
        if not any(covered[r.start : r.end]) and not any(pl.names[r.start : r.end]):
            take(r.start, r.end, _respelt_item(pl, r, stream))
    found.sort(key=lambda f: f.offset)
    return found, covered, spans


_HOW_SAID = {
    "stretched": "Said drawn out for emphasis ({said}); in ordinary spelling {standard}.",
    "katakana": "Written in katakana for effect ({said}); in ordinary spelling {standard}.",
    "clipped": "An exclamation ({said}): the adjective {standard} with its い cut off, as youth speech does (うまっ, でかっ, うっま).",
}


def _respelt_item(pl: Line, r: Respelling, stream: bool) -> Expression | None:
    """The word said stretched or in katakana (たまあに, イコウゼ), as said, with its ordinary spelling:
    a lexicon entry when the ordinary spelling is one (やばーい is やばい), else the dictionary word."""
    said = pl.folded[r.start : r.end]
    boundaries = {0, len(r.standard)} | {t.begin for t in r.tokens} | {t.end for t in r.tokens}
    entry = next((m.entry for m in lexicon().find(r.standard, boundaries)
                  if (m.start, m.end) == (0, len(r.standard))), None)
    if entry is not None:
        if not stream and entry.category in _DOMAIN_CATEGORIES and _ordinary_word(entry.expression):
            return None
        note = _HOW_SAID[r.kind].format(said=said, standard=r.standard)
        return make(pl, r.start, r.end, lemma=entry.expression, reading=entry.reading, meaning=entry.meaning,
                    category=entry.category, explanation=f"{note} {entry.explanation}")
    return _respelt_word(pl, r, said)


def _respelt_word(pl: Line, r: Respelling, said: str) -> Expression | None:
    if r.kind == "clipped":
        return _clipped_adjective(pl, r, said)
    words = [t for t in r.tokens if t.pos1 in ("動詞", "形容詞", "形状詞", "副詞", "名詞")]
    if not words or (r.kind == "katakana" and not any(t.pos1 in ("動詞", "形容詞", "副詞") for t in words)):
        return None  # a katakana run of nouns only is a name or a loanword, not a respelling
    head = words[0]
    if r.kind == "stretched" and r.standard != head.surface:  # the adverb with its と (ぱっと)
        entry = dictionary.lookup(r.standard)
        if entry is None:
            return None
        return make(pl, r.start, r.end, lemma=r.standard, reading=entry.reading, meaning=meaning_in_context(entry, r.standard),
                    category=Category.slang, explanation=_HOW_SAID[r.kind].format(said=said, standard=r.standard))
    hit = _lookup_token(head)
    if hit is None or not hit[1].glosses or hit[1].all_senses_low_value:
        return None
    entry = hit[1]
    if r.kind == "katakana":
        in_kana = any("usually written using kana" in m for m in entry.misc)
        lemma = r.standard if in_kana else "".join(kanji_spelling(t) for t in r.tokens)
    else:
        lemma = head.dictionary_form
    casual = casual_form_note(head)
    note = _HOW_SAID[r.kind].format(said=said, standard=lemma)
    return make(
        pl,
        r.start,
        r.end,
        lemma=lemma,
        reading=katakana_to_hiragana("".join(t.reading or t.surface for t in r.tokens)) if r.kind == "katakana" else head.lemma_reading,
        meaning=meaning_in_context(entry, head.normalized_form, head.dictionary_form, domains=pl.domains),
        category=Category.slang,
        explanation=f"{note} {casual}".strip(),
    )


_SHORT_SPELLING = 4


def _another_word_here(pl: Line, m) -> bool:
    """A lexicon spelling that Sudachi reads as part of another word: inside one word JMdict
    lists (地元 in 地元民 "locals"); and for a short spelling, a conjugated verb or adjective (おけ
    in 流しておけば is 置く), a suffix on a verb stem (がち in 選びがち), or half of a doubled
    word (ガチャ in ガチャガチャ)."""
    if any(tok.begin <= m.start and m.end <= tok.end and (tok.begin, tok.end) != (m.start, m.end)
           and dictionary.lookup(tok.surface) is not None for tok in pl.tokens):
        return True
    if m.start > 0 and has_kanji(pl.folded[m.start]) and has_kanji(pl.folded[m.start - 1]) and any(
            tok.begin < m.start < tok.end and tok.pos1 == "名詞" and dictionary.lookup(tok.surface) is not None
            for tok in pl.tokens):
        return True  # it starts inside a kanji noun (気が重い in 空気が重い)
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


def _clipped_adjective(pl: Line, r: Respelling, said: str) -> Expression | None:
    entry = dictionary.lookup(r.standard, pos="形容詞")
    if entry is None:
        return None
    lemma = r.standard if entry.usually_kana or not entry.kanji_forms else entry.kanji_forms[0]
    return make(pl, r.start, r.end, lemma=lemma, reading=r.standard, meaning=meaning_in_context(entry, lemma, r.standard),
                category=Category.slang, explanation=_HOW_SAID[r.kind].format(said=said, standard=lemma))
