"""Offline expression extraction: no network, no language model.

Used when no LLM is configured (or as its cheap twin).  Per line it finds, in
this order of trust (each family in its own module under ``extraction/``):

1. curated lexicon expressions (any spelling variant, longest first, whole words only;
   stream senses of everyday words only in a stream);
2. JMdict set phrases and idioms across inflection and particle drift, as one item;
3. grammar patterns and common mistakes (ら抜き, い抜き, さ入れ, ...), read as said;
4. notable vocabulary in the sense used: content words JMdict knows above the basic level,
   at most ``VOCAB_PER_LINE`` (+1 per ``CHARS_PER_EXTRA_WORD`` characters) per line, hardest first.

URLs, @handles, timestamps and emote codes are blanked before analysis, and the
words in front of an honorific (〇〇さん, 〇〇ちゃん) are treated as a name, so
viewer names never become "vocabulary".  Items are de-duplicated per recording
by (lemma, reading, category), keeping the first occurrence; another spelling of a word already
offered (奴 after やつ) is that word.
"""


from __future__ import annotations

from collections.abc import Callable, Sequence

from aivlingual_assets.analysis import dictionary
from aivlingual_assets.analysis.extraction.compound_items import compound_items
from aivlingual_assets.analysis.extraction.domains import recording_domains
from aivlingual_assets.analysis.extraction.grammar_items import grammar_items, grammar_raw_matches
from aivlingual_assets.analysis.extraction.lexicon_items import lexicon_items, stream_context
from aivlingual_assets.analysis.extraction.line import KANJI_RUN_RE, Found, mask_noise, prepare
from aivlingual_assets.analysis.extraction.mistake_items import mistake_items
from aivlingual_assets.analysis.extraction.phrase_items import phrase_items
from aivlingual_assets.analysis.extraction.word_items import (
    adverbial_pairs,
    dictionary_words,
    split_word_candidates,
    vocab_items,
)
from aivlingual_assets.analysis.kana import katakana_to_hiragana, spellings_of_one_word
from aivlingual_assets.analysis.schemas import Category, Expression, TranscriptLine

__all__ = ["extract_expressions", "extract_with_counts", "VOCAB_PER_LINE", "CHARS_PER_EXTRA_WORD", "mask_noise"]

VOCAB_PER_LINE = 4
CHARS_PER_EXTRA_WORD = 20


def extract_with_counts(
    lines: Sequence[TranscriptLine], *, url_for: Callable[[float], str | None] | None = None
) -> list[tuple[Expression, int]]:
    """Like :func:`extract_expressions`, with how many times each item occurred."""
    ordered = sorted(enumerate(lines), key=lambda p: (p[1].start, p[0]))
    prepared = [prepare(line) for _, line in ordered]
    words: set[str] = set()
    for pl in prepared:
        words |= dictionary_words(pl.tokens)
        words.update(KANJI_RUN_RE.findall(pl.folded))
        words.update(m.phrase.written for m in pl.phrases)
        words.update(text for _, text in adverbial_pairs(pl.tokens))
        words.update(text for *_, text in split_word_candidates(pl.tokens))
    dictionary.prefetch(words)  # one batched query instead of thousands of small ones
    stream = stream_context(prepared)
    domains = recording_domains(prepared)
    for pl in prepared:
        pl.domains = domains

    first: dict[str, Expression] = {}
    counts: dict[str, int] = {}
    order: list[str] = []
    spellings = _Spellings()
    for pl in prepared:
        lex, covered, lex_spans = lexicon_items(pl, stream)
        grammar_raw = grammar_raw_matches(pl)
        phrases, phrase_spans = phrase_items(pl, covered, grammar_raw)
        for ps, pe in phrase_spans:
            covered[ps:pe] = [True] * (pe - ps)
        items = lex + phrases + grammar_items(pl, covered, grammar_raw, phrase_spans + lex_spans) + mistake_items(pl)
        vocab: list[Found] = []
        for v in compound_items(pl, covered) + vocab_items(pl, covered):
            key = spellings.key(v.expression)
            if key in first:
                counts[key] += 1  # seen before: counts, but takes no room in this line
            else:
                vocab.append(v)
        vocab.sort(key=lambda f: (-f.difficulty, f.offset))
        cap = VOCAB_PER_LINE + len(pl.folded) // CHARS_PER_EXTRA_WORD  # a long talk line holds more words
        seen_here: set[str] = set()
        kept_vocab: list[Found] = []
        for v in vocab:
            key = spellings.key(v.expression)  # two spellings of one word in a line take one place
            if key not in seen_here and len(kept_vocab) < cap:
                kept_vocab.append(v)
                seen_here.add(key)
        items.extend(kept_vocab)
        items.sort(key=lambda f: f.offset)
        for f in items:
            key = spellings.key(f.expression)
            counts[key] = counts.get(key, 0) + 1
            if key in first:
                continue
            expr = f.expression
            if url_for is not None:
                expr = expr.model_copy(update={"source_url": url_for(expr.start)})
            first[key] = expr
            order.append(key)
    return [(first[k], counts[k]) for k in order]


class _Spellings:
    """One item per word and recording whatever its spelling: 奴 after やつ, すでに after 既に are
    the word already offered (a learner would get the same card twice). Same reading and category,
    and one spelling writes in kana what the other writes in kanji (感心/関心 stay two words)."""

    def __init__(self) -> None:
        self._alias: dict[str, str] = {}
        self._by_reading: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def key(self, expr: Expression) -> str:
        key = expr.key
        if key in self._alias:
            return self._alias[key]
        if expr.category in (Category.grammar, Category.common_mistake) or not expr.reading:
            return key
        group = self._by_reading.setdefault((katakana_to_hiragana(expr.reading), expr.category.value), [])
        same = next((k for lemma, k in group if lemma != expr.lemma and spellings_of_one_word(lemma, expr.lemma)), None)
        if same is None:
            group.append((expr.lemma, key))
            same = key
        self._alias[key] = same
        return same


def extract_expressions(
    lines: Sequence[TranscriptLine], *, url_for: Callable[[float], str | None] | None = None
) -> list[Expression]:
    """Learning items of one recording, first occurrence each, ordered by time.

    ``url_for(start_seconds)`` may return a link to that moment (stored in ``source_url``).
    """
    return [expr for expr, _ in extract_with_counts(lines, url_for=url_for)]

