"""Offline expression extraction: no network, no language model.

Used when no LLM is configured (or as its cheap twin).  Per line it finds, in
this order of trust:

1. curated lexicon expressions (any spelling variant, longest first, word-aligned);
2. grammar patterns and common mistakes (ら抜き, い抜き, さ入れ, ...);
3. notable vocabulary: content words JMdict knows whose estimated level is above
   N5 (the most basic words teach nothing), at most ``VOCAB_PER_LINE`` per line,
   hardest first.

URLs, @handles, timestamps and emote codes are blanked before analysis, and the
words in front of an honorific (〇〇さん, 〇〇ちゃん) are treated as a name, so
viewer names never become "vocabulary".  Items are de-duplicated per recording
by (lemma, reading, category), keeping the first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from aivlingual_assets.analysis import dictionary
from aivlingual_assets.analysis.dictionary import DictEntry
from aivlingual_assets.analysis.jlpt_list import listed_level
from aivlingual_assets.analysis.levels import LEVELS_BY_DIFFICULTY, is_basic_word, vocabulary_level
from aivlingual_assets.analysis.lexicon import fold as lexicon_fold
from aivlingual_assets.analysis.lexicon import grammar_matchers, lexicon, mistake_rules, token_index
from aivlingual_assets.analysis.phrases import LIGHT_WORDS, PhraseMatch, find_phrases, token_key
from aivlingual_assets.analysis.senses import casual_form_note, meaning_in_context
from aivlingual_assets.analysis.schemas import LEVEL_ORDER, Category, Expression, Level, TranscriptLine
from aivlingual_assets.analysis.tokenizer import (
    Token,
    fold_for_matching,
    has_kanji,
    is_kana,
    is_katakana,
    katakana_to_hiragana,
    lemma_conjugation_type,
    split_token,
    tokenize,
)

__all__ = ["extract_expressions", "extract_with_counts", "VOCAB_PER_LINE", "mask_noise"]

VOCAB_PER_LINE = 4
CHARS_PER_EXTRA_WORD = 20

_URL_RE = re.compile(r"(?:https?://|www\.)[^\s]+", re.IGNORECASE)
_HANDLE_RE = re.compile(r"[@＠][^\s、。,，!！?？「」()（）]+")
_TIMESTAMP_RE = re.compile(r"(?<![0-9０-９])[0-9０-９]{1,2}[:：][0-9０-９]{2}(?:[:：][0-9０-９]{2})?(?![0-9０-９])")
_EMOTE_RE = re.compile(r":[A-Za-z0-9_\-]{2,}:")
_THANKS_RE = re.compile(r"ありがと|有難|有り難|サンキュ|感謝|あざ[すっまー]|thank", re.IGNORECASE)
_NEGATION_RE = re.compile(r"ない|なかっ|なく|ません|ず|ぬ|ねえ|ねー|ねぇ|無理|むり|だめ|ダメ|駄目|違|ちが|[らかわまさたなば]ん(?!で)")
_JAPANESE_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff々〆ヶ]")
_KANJI_RUN_RE = re.compile(r"[\u3400-\u9fff々〆ヶ]{2,}")

_HONORIFICS = {"さん", "ちゃん", "くん", "君", "様", "さま", "氏", "たん", "殿", "どの", "ちゃま", "っち"}
_CONTENT_POS = {"動詞", "形容詞", "形状詞", "名詞", "代名詞", "副詞"}
_FUNCTIONAL_JMDICT_POS = {
    "suffix",
    "prefix",
    "counter",
    "particle",
    "auxiliary verb",
    "auxiliary",
    "auxiliary adjective",
    "conjunction",
    "copula",
    "numeric",
    "pronoun",
}
_SLANG_MISC = {"slang": Category.slang, "manga slang": Category.slang, "Internet slang": Category.internet, "colloquialism": Category.slang}
_POS_LABELS = (
    ("Ichidan verb", "ichidan verb"),
    ("Godan verb", "godan verb"),
    ("suru verb", "する verb"),
    ("noun or participle which takes the aux. verb suru", "noun (also used with する)"),
    ("adjective (keiyoushi)", "い-adjective"),
    ("adjectival nouns or quasi-adjectives (keiyodoshi)", "な-adjective"),
    ("adverb", "adverb"),
    ("noun", "noun"),
    ("expressions", "expression"),
    ("interjection", "interjection"),
)


@dataclass(slots=True)
class _Found:
    offset: int  # position in the line, for ordering
    expression: Expression
    difficulty: int = 0  # only used to rank vocabulary within a line


@dataclass(slots=True)
class _Line:
    line: TranscriptLine
    folded: str
    index: list[int]
    tokens: list[Token]
    boundaries: set[int] = field(default_factory=set)
    names: list[bool] = field(default_factory=list)  # per folded char: part of a viewer/streamer name
    honorific_names: list[bool] = field(default_factory=list)
    name_spans: list[tuple[int, int]] = field(default_factory=list)  # words right before an honorific
    phrases: list[PhraseMatch] = field(default_factory=list)  # JMdict expressions in the line


def mask_noise(text: str) -> str:
    """Blank URLs, @handles, timestamps and :emote: codes (same length, so offsets survive)."""
    for rx in (_URL_RE, _HANDLE_RE, _EMOTE_RE, _TIMESTAMP_RE):
        text = rx.sub(lambda m: " " * len(m.group(0)), text)
    return text


def _prepare(line: TranscriptLine) -> _Line:
    folded, index = fold_for_matching(mask_noise(line.text))
    tokens = tokenize(folded)
    boundaries = {0, len(folded)}
    for t in tokens:
        boundaries.add(t.begin)
        boundaries.add(t.end)
        boundaries.update(t.inner)
    prepared = _Line(line, folded, index, tokens, boundaries)
    _mark_names(prepared)
    prepared.phrases = find_phrases(tokens)
    return prepared


def _name_like(tok: Token) -> bool:
    if tok.pos1 in ("助詞", "助動詞", "空白", "補助記号", "記号", "感動詞", "接続詞"):
        return tok.surface in ("_", "・", "-", "ー", "＿")
    return True


def _mark_names(pl: _Line) -> None:
    """Words before an honorific are a name; in thank-you lines, so are unknown/alphabetic words."""
    n = len(pl.folded)
    names = [False] * n
    honorific = [False] * n
    toks = pl.tokens
    for k, tok in enumerate(toks):
        if tok.surface not in _HONORIFICS or tok.pos1 not in ("接尾辞", "名詞"):
            continue
        j = k
        while j - 1 >= 0 and k - (j - 1) <= 6 and _name_like(toks[j - 1]):
            j -= 1
        if j == k:
            continue
        pl.name_spans.append((toks[j].begin, tok.begin))
        for c in range(toks[j].begin, tok.begin):
            names[c] = True
            honorific[c] = True
    if _THANKS_RE.search(pl.folded):
        for tok in toks:
            if tok.is_oov or tok.pos2 == "固有名詞" or not _JAPANESE_RE.search(tok.surface):
                for c in range(tok.begin, tok.end):
                    names[c] = True
    pl.names = names
    pl.honorific_names = honorific


def _said(pl: _Line, start: int, end: int) -> str:
    """The original characters behind folded span [start, end)."""
    if start >= end or not pl.index:
        return ""
    return pl.line.text[pl.index[start] : pl.index[end - 1] + 1].strip()


def _reading_of_span(pl: _Line, start: int, end: int) -> str:
    """Kana reading of the words said in folded span [start, end) (grammar rows: 聞こえてる → きこえてる)."""
    parts: list[str] = []
    for t in pl.tokens:
        if t.end <= start or t.begin >= end:
            continue
        if t.reading:
            parts.append(t.reading)
        elif is_kana(t.surface):
            parts.append(katakana_to_hiragana(t.surface))
        else:
            return ""
    return "".join(parts)


def _make(pl: _Line, start: int, end: int, **fields) -> Expression | None:
    said = _said(pl, start, end)
    if not said:
        return None
    return Expression(expression=said, example=pl.line.text, start=pl.line.start, end=pl.line.end, **fields)


# ---------------------------------------------------------------- lexicon
# Lexicon categories whose sense belongs to streaming and the internet, not to Japanese at large.
_DOMAIN_CATEGORIES = frozenset({Category.vtuber_culture, Category.internet})
_DOMAIN_EVIDENCE = 2  # unmistakable stream/net words needed before 卒業 may mean a Vtuber's retirement


@lru_cache(maxsize=4096)
def _ordinary_word(expression: str) -> bool:
    """The lexicon word is also an everyday dictionary word (卒業, ママ, 箱, 草), so its
    stream sense needs a stream around it."""
    entry = dictionary.lookup(expression)
    return entry is not None and entry.is_common


def _stream_context(prepared: Sequence[_Line]) -> bool:
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


def _lexicon_items(pl: _Line, stream: bool = True) -> tuple[list[_Found], list[bool], list[tuple[int, int]]]:
    """Curated lexicon items, the characters they cover, and their spans (a grammar
    pattern inside a curated expression, 〜てみる in 言われてみれば, is the expression's).
    Outside a stream (``stream`` false: a talk, a podcast) an everyday word keeps its
    everyday sense: 卒業 is graduation, ママ is mum."""
    covered = [False] * len(pl.folded)
    found: list[_Found] = []
    spans: list[tuple[int, int]] = []
    for m in lexicon().find(pl.folded, pl.boundaries):
        if not stream and m.entry.category in _DOMAIN_CATEGORIES and _ordinary_word(m.entry.expression):
            continue
        # A name before an honorific is not slang, unless the entry itself ends in the
        # honorific (初見さん) or is the whole nickname (後輩ちゃん, ママさん).
        if (
            any(pl.honorific_names[m.start : m.end])
            and (m.start, m.end) not in pl.name_spans
            and not any(pl.folded.startswith(h, m.end - len(h)) for h in _HONORIFICS)
        ):
            continue
        e = m.entry
        if _another_word_here(pl, m):
            continue
        expr = _make(
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
        found.append(_Found(m.start, expr))
        spans.append((m.start, m.end))
    return found, covered, spans


_SHORT_SPELLING = 4


def _another_word_here(pl: _Line, m) -> bool:
    """A short lexicon spelling that Sudachi reads as part of another word: a conjugated
    verb or adjective (おけ in 流しておけば is 置く), a suffix on a verb stem (がち in
    選びがち), or half of a doubled word (ガチャ in ガチャガチャ)."""
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


# ---------------------------------------------------------------- grammar
def _is_content(tok: Token) -> bool:
    return tok.pos1 in _CONTENT_POS and tok.pos2 != "数詞"


def _expand(tokens: list[Token], start: int, end: int, *, host: bool = True) -> tuple[int, int]:
    """Widen a grammar match to whole tokens, its host word and trailing auxiliaries."""
    idx = [k for k, t in enumerate(tokens) if t.end > start and t.begin < end]
    if not idx:
        return start, end
    i, j = idx[0], idx[-1]
    if host and not _is_content(tokens[i]):
        h, hops = i - 1, 0
        while h >= 0 and tokens[h].pos1 == "助動詞" and hops < 2:
            h, hops = h - 1, hops + 1
        if h >= 0 and _is_content(tokens[h]):
            i = h
    extra = 0
    while j + 1 < len(tokens) and extra < 3:
        nxt = tokens[j + 1]
        if nxt.pos1 == "助動詞" or (nxt.pos2 == "接続助詞" and nxt.surface in ("て", "で")):
            j, extra = j + 1, extra + 1
        else:
            break
    return tokens[i].begin, tokens[j].end


def _grammar_raw(pl: _Line) -> list[tuple[int, int, int, object]]:
    """Grammar matches ``(start, end, own_start, pattern)``; a match lying strictly inside
    another pattern's match is dropped (〜ても inside 〜てもいい, 〜たら inside 〜たらよかった)."""
    return list(_grammar_matches(tuple(pl.tokens), pl.folded))


@lru_cache(maxsize=32768)
def _grammar_matches(tokens: tuple[Token, ...], folded: str) -> tuple[tuple[int, int, int, object], ...]:
    index = token_index(tokens)
    raw: list[tuple[int, int, int, object]] = []
    for matcher in grammar_matchers():
        for s, e, own in matcher.find(tokens, folded, index):
            raw.append((s, e, own, matcher.pattern))

    def inside_another(own: int, e: int, p: object) -> bool:
        return any(p2 is not p and own2 <= own and e <= e2 and (own2, e2) != (own, e) for _, e2, own2, p2 in raw)

    return tuple(r for r in raw if not inside_another(r[2], r[1], r[3]))


def _grammar_items(pl: _Line, covered: list[bool], raw, blocked: Sequence[tuple[int, int]] = ()) -> list[_Found]:
    """Grammar items.  The pattern's own words are marked covered (no しれる from
    かもしれない); a leading host word (歌い in 歌いながら) stays available as vocabulary.
    A pattern inside a set phrase (〜てみる inside 言われてみれば) is part of the phrase, not
    a separate point.  The reading is the expression's as said (聞こえてる → きこえてる)."""
    found: list[_Found] = []
    for s, e, own, p in raw:
        if any(bs <= own and e <= be for bs, be in blocked):
            continue
        for t in pl.tokens:
            if t.end > own and t.begin < e:
                for c in range(t.begin, t.end):
                    covered[c] = True
        s2, e2 = _expand(pl.tokens, s, e)
        expr = _make(
            pl,
            s2,
            e2,
            lemma=p.pattern,
            reading=_reading_of_span(pl, s2, e2) or p.reading,
            meaning=p.meaning,
            category=Category.grammar,
            explanation=p.explanation,
        )
        if expr is not None:
            found.append(_Found(s, expr))
    return found


# ---------------------------------------------------------------- set phrases
_PHRASE_CANNOT_START = frozenset({"助詞", "助動詞", "接尾辞", "補助記号", "空白"})
# First words of the back-channels and formulas of conversation (そうですね, それな, ではまた).
_DISCOURSE_OPENERS = frozenset(
    {"そう", "然う", "其れ", "それ", "此れ", "これ", "あれ", "彼", "此方", "こちら", "其方", "そちら", "では", "じゃ",
     "でも", "又", "また", "如何", "どう", "何", "なに", "なん", "ええ", "はい", "いや", "うん", "まあ", "成る程",
     "なるほど", "有り難う", "ありがとう", "宜しく", "よろしく", "御", "お", "ご", "確か", "本当", "ほんと",
     "其の", "その", "此の", "この", "彼の", "あの", "何の", "どの", "何処", "どこ", "其処", "そこ", "此処", "ここ",
     "誰", "だれ", "何方", "どっち", "どちら", "もう", "今度"}
)


def _plain_phrase(m: PhraseMatch, toks: Sequence[Token], entry: DictEntry) -> bool:
    """A phrase a learner gains nothing from as a unit: a conversational formula (そうなんですか,
    ではまた, その時) or a short run of light words (ならない, 見られる) that is not colloquial.
    Collocations (雷が鳴る, 本気を出す) stay: learners study them as units."""
    if token_key(toks[m.first]) in _DISCOURSE_OPENERS:
        return True
    colloquial = any(t in entry.misc for t in ("colloquialism", "slang", "Internet slang"))
    return m.phrase.heavy == 0 and len(m.phrase.keys) <= 3 and not colloquial


def _phrase_entry(written: str, idseq: int) -> DictEntry | None:
    return next((e for e in dictionary.lookup_all(written) if e.idseq == idseq), None)


def _phrase_items(pl: _Line, covered: list[bool], grammar_raw) -> tuple[list[_Found], list[tuple[int, int]]]:
    """JMdict expressions and idioms said in the line, as one item each (あっという間, not 間).

    A phrase that a grammar pattern covers is left to the pattern (かもしれない teaches
    better as 〜かもしれない); basic formulas (よろしくお願いします) teach nothing."""
    found: list[_Found] = []
    spans: list[tuple[int, int]] = []
    toks = pl.tokens
    for m in pl.phrases:
        s, e = toks[m.first].begin, toks[m.last].end
        if any(covered[s:e]) or any(pl.names[s:e]):
            continue
        if _mostly_grammar(toks[m.first : m.last + 1], grammar_raw):
            continue
        if toks[m.first].pos1 in _PHRASE_CANNOT_START:
            continue  # ていい, にせよ, ともいう: grammar glue, not a phrase of its own
        if sum(1 for t in toks[m.first : m.last + 1] if t.pos1 != "助詞") < 2:
            continue  # きっかけに, 一緒に: one word and its particle, taught as the word
        entry = _phrase_entry(m.phrase.written, m.phrase.idseq)
        if entry is None or not entry.glosses:
            continue
        spans.append((s, e))
        idiom = any(t in entry.misc for t in ("idiomatic expression", "proverb", "yojijukugo"))
        if not idiom and _plain_phrase(m, toks, entry):
            continue
        if is_basic_word(m.phrase.written) or entry.all_senses_low_value:
            continue
        listed = listed_level(m.phrase.written, entry.reading)
        if listed is not None and listed[0] == Level.N5:
            continue  # a formula every beginner knows (よろしくお願いします)
        # Kanji say little about a phrase (手に入れる is all N5 kanji): never below N4.
        level = listed[0] if listed else max(vocabulary_level(entry, m.phrase.written)[0], Level.N4, key=LEVEL_ORDER.get)
        s2, e2 = _expand(toks, s, e, host=False)
        said = pl.folded[s2:e2]
        note = "" if said.startswith(m.phrase.written) else f" Standard form: {m.phrase.written}."
        category = next((c for k, c in _SLANG_MISC.items() if k in entry.misc), Category.vocabulary)
        expr = _make(
            pl, s2, e2, lemma=_phrase_lemma(entry, m.phrase.written, pl.folded[s:e]), reading=entry.reading,
            meaning=meaning_in_context(entry), category=category,
            explanation=f"Set phrase, learnt as one unit ({_phrase_kind(entry)}), about {level.value}.{note}",
        )
        if expr is not None:
            found.append(_Found(s, expr, LEVELS_BY_DIFFICULTY.index(level)))
    return found, spans


def _phrase_lemma(entry: DictEntry, written: str, said: str) -> str:
    """The dictionary spelling closest to what was said: the spelling itself when it is one,
    the kana headword when it was said in kana (それじゃあ, not 其れじゃあ)."""
    if said in entry.kanji_forms or said in entry.kana_forms:
        return said
    if is_kana(said) and entry.reading:
        return entry.reading
    return written


def _mostly_grammar(tokens: Sequence[Token], grammar_raw) -> bool:
    """A phrase that is mostly one grammar pattern (かもしれない, やってみる) is the pattern's to
    teach; one that merely contains a pattern (言われてみれば ⊃ 〜てみる) stays a phrase."""
    for _, ge, own, _ in grammar_raw:
        inside = sum(1 for t in tokens if t.begin >= own and t.end <= ge)
        if inside * 2 >= len(tokens):
            return True
    return False


def _phrase_kind(entry: DictEntry) -> str:
    for tag in ("proverb", "yojijukugo", "idiomatic expression"):
        if tag in entry.misc:
            return "idiom" if tag == "idiomatic expression" else tag
    return "expression"


# ---------------------------------------------------------------- mistakes
def _verb_gloss(base: str) -> str:
    entry = dictionary.lookup(base)
    if entry is None or not entry.glosses:
        return "do it"
    gloss = entry.glosses[0]
    return gloss[3:] if gloss.startswith("to ") else gloss


def _ra_nuki(pl: _Line, rule) -> list[_Found]:
    out: list[_Found] = []
    for t in pl.tokens:
        d, base = t.dictionary_form, t.normalized_form
        if t.pos1 != "動詞" or not d.endswith("れる") or base == d or len(d) != len(base) + 1:
            continue
        if not base.endswith("る"):
            continue
        ctype = lemma_conjugation_type(base)
        if not ctype.startswith(("上一段", "下一段", "カ行変格")):
            continue
        s, e = _expand(pl.tokens, t.begin, t.end, host=False)
        said = _said(pl, s, e)
        stem = d[:-2]
        folded_said = pl.folded[s:e]
        pos = folded_said.find(stem + "れ") if stem else -1
        if pos < 0:
            continue
        correct = folded_said[: pos + len(stem)] + "られ" + folded_said[pos + len(stem) + 1 :]
        fmt = {"said": said, "correct": correct, "base": base, "gloss": _verb_gloss(base)}
        expr = _make(
            pl,
            s,
            e,
            lemma=d,
            reading=t.lemma_reading or d,
            meaning=rule.meaning.format(**fmt),
            category=Category.common_mistake,
            explanation=rule.explanation.format(**fmt),
        )
        if expr is not None:
            out.append(_Found(t.begin, expr))
    return out


def _i_nuki(pl: _Line, rule) -> list[_Found]:
    out: list[_Found] = []
    for t in pl.tokens:
        if t.pos1 != "助動詞" or t.dictionary_form not in ("てる", "でる"):
            continue
        s, e = _expand(pl.tokens, t.begin, t.end)
        rel = t.begin - s
        folded_said = pl.folded[s:e]
        correct = folded_said[: rel + 1] + "い" + folded_said[rel + 1 :]
        said = _said(pl, s, e)
        fmt = {"said": said, "correct": correct}
        expr = _make(
            pl,
            s,
            e,
            lemma=rule.lemma or "〜てる",
            reading=_reading_of_span(pl, s, e) or rule.reading or "てる",
            meaning=rule.meaning.format(**fmt),
            category=Category.common_mistake,
            explanation=rule.explanation.format(**fmt),
        )
        if expr is not None:
            out.append(_Found(t.begin, expr))
    return out


def _zenzen_affirmative(pl: _Line, rule) -> list[_Found]:
    out: list[_Found] = []
    toks = pl.tokens
    for k, t in enumerate(toks):
        if t.dictionary_form not in ("全然", "ぜんぜん") or t.pos1 != "副詞":
            continue
        rest = re.split(r"[、。!?,\s]", pl.folded[t.end :], maxsplit=1)[0]  # same clause only
        nxt = next((x for x in toks[k + 1 :] if _is_content(x)), None)
        if nxt is None or _NEGATION_RE.search(rest):
            continue
        said = _said(pl, t.begin, nxt.end)
        fmt = {"said": said, "correct": said}
        expr = _make(
            pl,
            t.begin,
            nxt.end,
            lemma=rule.lemma or "全然",
            reading=rule.reading or "ぜんぜん",
            meaning=rule.meaning.format(**fmt),
            category=Category.common_mistake,
            explanation=rule.explanation.format(**fmt),
        )
        if expr is not None:
            out.append(_Found(t.begin, expr))
    return out


_DETECTORS: dict[str, Callable[[_Line, object], list[_Found]]] = {
    "ra_nuki": _ra_nuki,
    "i_nuki": _i_nuki,
    "zenzen_affirmative": _zenzen_affirmative,
}


def _mistake_items(pl: _Line) -> list[_Found]:
    found: list[_Found] = []
    for rule in mistake_rules():
        if rule.detector:
            detector = _DETECTORS.get(rule.detector)
            if detector is None:
                raise ValueError(f"unknown mistake detector {rule.detector!r} in grammar_patterns.yaml")
            found.extend(detector(pl, rule))
            continue
        for s, e in rule.find(pl.folded):
            s2, e2 = _expand(pl.tokens, s, e)
            said = _said(pl, s2, e2)
            fmt = {"said": said, "correct": rule.correct(pl.folded[s2:e2])}
            expr = _make(
                pl,
                s2,
                e2,
                lemma=rule.lemma or rule.pattern,
                reading=_reading_of_span(pl, s2, e2) or rule.reading or "",
                meaning=rule.meaning.format(**fmt),
                category=Category.common_mistake,
                explanation=rule.explanation.format(**fmt),
            )
            if expr is not None:
                found.append(_Found(s, expr))
    return found


# ---------------------------------------------------------------- vocabulary
def _vocab_candidate(tok: Token, prev: Token | None) -> bool:
    p1, p2 = tok.pos1, tok.pos2
    if tok.is_oov or p1 not in ("名詞", "動詞", "形容詞", "形状詞", "副詞", "代名詞", "連体詞", "接続詞"):
        return False
    if p1 == "名詞" and p2 != "普通名詞":
        return False
    if p1 == "形状詞" and p2 != "一般":
        return False
    if p1 == "形容詞" and p2 == "非自立可能":
        return False
    if p1 == "動詞" and p2 == "非自立可能" and prev is not None and prev.pos2 == "接続助詞":
        return False  # auxiliary use: 〜てみる, 〜ていく
    lemma = tok.dictionary_form
    if not _JAPANESE_RE.search(tok.surface) or any(ch.isdigit() for ch in tok.surface):
        return False
    if len(lemma) < 2 and not has_kanji(lemma):
        return False
    if is_kana(lemma) and len(lemma) < 2:
        return False
    if is_basic_word(lemma):
        return bool(casual_form_note(tok))
    # すげえ is its own (colloquial) word even though Sudachi normalises it to the basic 凄い
    return not is_basic_word(tok.normalized_form) or _own_word(tok) or bool(casual_form_note(tok))


def _own_word(tok: Token) -> bool:
    """A kana word JMdict lists apart from the spelling Sudachi normalises it to (すげえ vs 凄い)."""
    if not is_kana(tok.dictionary_form) or tok.dictionary_form == tok.normalized_form:
        return True
    entries = dictionary.lookup_all(tok.dictionary_form)
    return bool(entries) and all(tok.normalized_form not in e.kanji_forms for e in entries)


def _lookup_token(tok: Token) -> tuple[str, DictEntry] | None:
    """(lemma as said, entry). A kana word is looked up by Sudachi's normalised kanji
    spelling first, which says which word it is (いける → 行ける, not 生ける)."""
    forms = (tok.dictionary_form, tok.normalized_form)
    if is_kana(tok.dictionary_form) and has_kanji(tok.normalized_form):
        spelled = dictionary.lookup(tok.normalized_form, tok.lemma_reading or None, pos=tok.pos1)
        said = katakana_to_hiragana(tok.dictionary_form)
        if spelled is not None and (said in map(katakana_to_hiragana, spelled.kana_forms) or casual_form_note(tok)):
            forms = (tok.normalized_form, tok.dictionary_form)
    for form in dict.fromkeys(forms):
        entry = dictionary.lookup(form, tok.lemma_reading or None, pos=tok.pos1)
        if entry is None:
            continue
        # the learner keeps the kana spelling they heard, unless it is a casual shape of another word
        said_in_kana = form != tok.dictionary_form and is_kana(tok.dictionary_form)
        return (tok.dictionary_form if said_in_kana and not casual_form_note(tok) else form), entry
    return None


def _pos_label(entry: DictEntry) -> str:
    for needle, label in _POS_LABELS:
        if any(needle in p for p in entry.pos):
            return label
    return entry.pos[0] if entry.pos else "word"


def _vocab_explanation(entry: DictEntry, level: Level) -> str:
    parts = [f"{_pos_label(entry).capitalize()}, about {level.value}."]
    if any("usually written using kana" in m for m in entry.misc):
        parts.append("Usually written in kana.")
    notes = [m for m in entry.misc if m in ("colloquialism", "slang", "Internet slang", "honorific or respectful (sonkeigo) language", "humble (kenjougo) language", "onomatopoeic or mimetic word", "abbreviation")]
    if notes:
        parts.append(f"Note: {', '.join(notes)}.")
    if len(entry.senses) > 1 and entry.senses[1]:
        parts.append(f"Other sense: {'; '.join(entry.senses[1][:2])}.")
    return " ".join(parts)


def _likely_misheard(entry: DictEntry, form: str) -> bool:
    """A word nobody says in a stream: every sense archaic/obscure/rare, or an uncommon
    entry with no frequency data at all. Speech recognition produces these from
    mis-heard words (大往生 heard as 大王女); no item beats a confidently wrong one."""
    if entry.all_senses_low_value:
        return True
    if not has_kanji(form) or any(m in ("colloquialism", "slang", "Internet slang") for ms in entry.sense_misc for m in ms):
        return False  # kana slang (すげえ) has no frequency data either, but no recogniser invents it
    return not entry.priority and not entry.is_common and listed_level(form, entry.written) is None and len(form) >= 3


_LOANWORD_NOTES = ("slang", "colloquialism", "abbreviation", "Internet slang", "manga slang", "jocular, humorous term")


def _teachable_katakana(entry: DictEntry) -> bool:
    """A katakana word worth a card: a native word written in katakana (クマ for 熊, オタク),
    or a loanword used in a Japanese way (slang, clipped: アンチ "hater", ギブ "I give up").
    A plain English loanword (ゲーム "game", ドア "door") teaches an English speaker nothing."""
    if entry.kanji_forms:
        return True
    return any(m in _LOANWORD_NOTES for ms in entry.sense_misc for m in ms) or len(entry.senses) > 2


def _vocab_from_token(pl: _Line, tok: Token) -> _Found | None:
    hit = _lookup_token(tok)
    if hit is None:
        return None
    form, entry = hit
    if not entry.glosses or (entry.pos and all(p in _FUNCTIONAL_JMDICT_POS for p in entry.pos)):
        return None
    if _likely_misheard(entry, form):
        return None
    if is_katakana(form.replace("ー", "")) and not _teachable_katakana(entry):
        return None
    level, _, _ = vocabulary_level(entry, form)
    casual = casual_form_note(tok)
    if level == Level.N5 and not casual:
        return None
    category = next((c for m, c in _SLANG_MISC.items() if m in entry.misc), Category.slang if casual else Category.vocabulary)
    explanation = _vocab_explanation(entry, level)
    expr = _make(
        pl,
        tok.begin,
        tok.end,
        lemma=form,
        reading=entry.reading,
        meaning=meaning_in_context(entry, form, tok.normalized_form),
        category=category,
        explanation=f"{casual} {explanation}" if casual else explanation,
    )
    if expr is None:
        return None
    return _Found(tok.begin, expr, LEVELS_BY_DIFFICULTY.index(level))


def _kanji_compounds(pl: _Line, covered: list[bool]) -> list[_Found]:
    """Kanji runs that JMdict lists as one noun but Sudachi cut apart (醍醐|味って).

    The run's tokens are then marked covered so the fragments are not offered too."""
    found: list[_Found] = []
    for m in _KANJI_RUN_RE.finditer(pl.folded):
        s, e = m.span()
        inside = [t for t in pl.tokens if t.end > s and t.begin < e]
        if len(inside) < 2 or any(covered[s:e]) or any(pl.names[s:e]) or any(t.pos2 == "数詞" for t in inside):
            continue
        run = m.group(0)
        entry = dictionary.lookup(run)
        if entry is None or not entry.glosses or entry.written != run:
            continue
        if not any(p.startswith("noun") or "adjectival" in p for p in entry.pos):
            continue
        for t in inside:
            for c in range(t.begin, t.end):
                covered[c] = True
        if is_basic_word(run):
            continue
        level, _, _ = vocabulary_level(entry, run)
        if level == Level.N5:
            continue
        if _likely_misheard(entry, run):
            continue
        expr = _make(
            pl, s, e, lemma=run, reading=entry.reading, meaning=meaning_in_context(entry, run),
            category=Category.vocabulary, explanation=_vocab_explanation(entry, level),
        )
        if expr is not None:
            found.append(_Found(s, expr, LEVELS_BY_DIFFICULTY.index(level)))
    return found


_ADVERBIAL_PARTICLES = ("に", "と")


def _adverbial_pairs(tokens: Sequence[Token]) -> list[tuple[int, str]]:
    """(index, text) of word + に/と pairs that may be one adverb (無性に, ちなみに, 堂々と)."""
    return [
        (k, t.surface + tokens[k + 1].surface)
        for k, t in enumerate(tokens[:-1])
        if t.pos1 in ("名詞", "形状詞", "副詞") and tokens[k + 1].pos1 == "助詞" and tokens[k + 1].surface in _ADVERBIAL_PARTICLES
    ]


def _adverbs_with_particle(pl: _Line, covered: list[bool]) -> list[_Found]:
    """Adverbs JMdict lists with their particle, which Sudachi cuts off: 無性に is "intensely",
    not 無性 "asexual"; ちなみに "by the way", not ちなみ. Both tokens are then covered."""
    found: list[_Found] = []
    for k, text in _adverbial_pairs(pl.tokens):
        s, e = pl.tokens[k].begin, pl.tokens[k + 1].end
        if any(covered[s:e]) or any(pl.names[s:e]):
            continue
        entry = dictionary.lookup(text, pos="副詞")
        if entry is None or entry.written != text or not any("adverb" in p or "conjunction" in p for p in entry.pos):
            continue
        covered[s:e] = [True] * (e - s)
        if is_basic_word(text, pl.tokens[k].dictionary_form) or _likely_misheard(entry, text):
            continue
        level, _, _ = vocabulary_level(entry, text)
        if level == Level.N5:
            continue
        expr = _make(pl, s, e, lemma=text, reading=entry.reading, meaning=meaning_in_context(entry, text),
                     category=Category.vocabulary, explanation=_vocab_explanation(entry, level))
        if expr is not None:
            found.append(_Found(s, expr, LEVELS_BY_DIFFICULTY.index(level)))
    return found


def _vocab_items(pl: _Line, covered: list[bool]) -> list[_Found]:
    found: list[_Found] = _adverbs_with_particle(pl, covered) + _kanji_compounds(pl, covered)
    prev: Token | None = None
    for tok in pl.tokens:
        blocked = any(covered[tok.begin : tok.end]) or any(pl.names[tok.begin : tok.end])
        if not blocked and _vocab_candidate(tok, prev):
            item = _vocab_from_token(pl, tok)
            if item is None and tok.pos1 == "名詞" and len(tok.surface) >= 3:
                # a compound JMdict lacks (国際会議場): try its mode-B parts
                parts = split_token(tok, pl.folded)
                for part in parts if len(parts) > 1 else ():
                    if _vocab_candidate(part, None):
                        sub = _vocab_from_token(pl, part)
                        if sub is not None:
                            found.append(sub)
            elif item is not None:
                found.append(item)
        if tok.pos1 != "空白":
            prev = tok
    return found


def _dictionary_words(tokens: Iterable[Token]) -> set[str]:
    words: set[str] = set()
    for t in tokens:
        if t.pos1 in ("名詞", "動詞", "形容詞", "形状詞", "副詞"):
            words.add(t.dictionary_form)
            words.add(t.normalized_form)
    return words


# ---------------------------------------------------------------- driver
def extract_with_counts(
    lines: Sequence[TranscriptLine], *, url_for: Callable[[float], str | None] | None = None
) -> list[tuple[Expression, int]]:
    """Like :func:`extract_expressions`, with how many times each item occurred."""
    ordered = sorted(enumerate(lines), key=lambda p: (p[1].start, p[0]))
    prepared = [_prepare(line) for _, line in ordered]
    words: set[str] = set()
    for pl in prepared:
        words |= _dictionary_words(pl.tokens)
        words.update(_KANJI_RUN_RE.findall(pl.folded))
        words.update(m.phrase.written for m in pl.phrases)
        words.update(text for _, text in _adverbial_pairs(pl.tokens))
    dictionary.prefetch(words)  # one batched query instead of thousands of small ones
    stream = _stream_context(prepared)

    first: dict[str, Expression] = {}
    counts: dict[str, int] = {}
    order: list[str] = []
    for pl in prepared:
        lex, covered, lex_spans = _lexicon_items(pl, stream)
        grammar_raw = _grammar_raw(pl)
        phrases, phrase_spans = _phrase_items(pl, covered, grammar_raw)
        for ps, pe in phrase_spans:
            covered[ps:pe] = [True] * (pe - ps)
        items = lex + phrases + _grammar_items(pl, covered, grammar_raw, phrase_spans + lex_spans) + _mistake_items(pl)
        vocab: list[_Found] = []
        for v in _vocab_items(pl, covered):
            if v.expression.key in first:
                counts[v.expression.key] += 1  # seen before: counts, but takes no room in this line
            else:
                vocab.append(v)
        vocab.sort(key=lambda f: (-f.difficulty, f.offset))
        cap = VOCAB_PER_LINE + len(pl.folded) // CHARS_PER_EXTRA_WORD  # a long talk line holds more words
        seen_here: set[str] = set()
        kept_vocab: list[_Found] = []
        for v in vocab:
            if v.expression.key not in seen_here and len(kept_vocab) < cap:
                kept_vocab.append(v)
                seen_here.add(v.expression.key)
        items.extend(kept_vocab)
        items.sort(key=lambda f: f.offset)
        for f in items:
            key = f.expression.key
            counts[key] = counts.get(key, 0) + 1
            if key in first:
                continue
            expr = f.expression
            if url_for is not None:
                expr = expr.model_copy(update={"source_url": url_for(expr.start)})
            first[key] = expr
            order.append(key)
    return [(first[k], counts[k]) for k in order]


def extract_expressions(
    lines: Sequence[TranscriptLine], *, url_for: Callable[[float], str | None] | None = None
) -> list[Expression]:
    """Learning items of one recording, first occurrence each, ordered by time.

    ``url_for(start_seconds)`` may return a link to that moment (stored in ``source_url``).
    """
    return [expr for expr, _ in extract_with_counts(lines, url_for=url_for)]
