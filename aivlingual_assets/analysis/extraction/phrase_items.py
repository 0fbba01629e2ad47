"""Set-phrase items: JMdict expressions and idioms said in a line (see analysis/phrases.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from aivlingual_assets.analysis import dictionary
from aivlingual_assets.analysis.collocations import collocation_entry, find_collocation
from aivlingual_assets.analysis.dictionary import DictEntry
from aivlingual_assets.analysis.extraction.line import (
    AFTER_A_VERB_STEM,
    SLANG_MISC,
    Found,
    Line,
    expand,
    first_word_is_governed,
    make,
    reading_of_span,
)
from aivlingual_assets.analysis.jlpt_list import listed_level
from aivlingual_assets.analysis.levels import LEVELS_BY_DIFFICULTY, is_basic_word, is_set_phrase, phrase_level, vocabulary_level
from aivlingual_assets.analysis.phrases import LIGHT_WORDS, PhraseMatch, token_key
from aivlingual_assets.analysis.schemas import LEVEL_ORDER, Category, Level
from aivlingual_assets.analysis.senses import meaning_in_context
from aivlingual_assets.analysis.tokenizer import Token, has_kanji, is_kana, katakana_to_hiragana

_READING_LIKENESS = 0.75  # difflib ratio of the phrase's reading to the reading as said
_PHRASE_CANNOT_START = frozenset({"助詞", "助動詞", "接尾辞", "補助記号", "空白"})
# First words of the back-channels and formulas of conversation (そうですね, それな, ではまた).
_DISCOURSE_OPENERS = frozenset(
    {"そう", "然う", "此方", "こちら", "其方", "そちら", "では", "じゃ", "でも", "又", "また", "ええ", "はい", "いや",
     "うん", "まあ", "成る程", "なるほど", "有り難う", "ありがとう", "宜しく", "よろしく", "確か", "本当", "ほんと",
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
    adverb = any("adverb" in p for p in entry.pos)  # 何とか, それなりに: words of their own
    return m.phrase.heavy == 0 and len(m.phrase.keys) <= 3 and not colloquial and not adverb


_GLOSS_WORD = re.compile(r"[a-z]{3,}")
_GLOSS_STOP = frozenset({"the", "one", "one's", "someone", "something", "oneself", "and", "not", "for", "with", "etc", "that", "this", "very", "(of"})


def _stems(glosses: Sequence[str]) -> set[str]:
    return {w[:5] for g in glosses for w in _GLOSS_WORD.findall(g.lower()) if w not in _GLOSS_STOP}


# Verbs that add nothing a learner must learn to a noun (質問をする, 大人になる, 自信がある).
_EMPTY_VERBS = frozenset({"為る", "する", "成る", "なる", "有る", "ある", "居る", "いる", "出来る", "できる"})


def _literal(m: PhraseMatch, toks: Sequence[Token], entry: DictEntry) -> bool:
    """One word carries the phrase and the phrase means what that word means (質問をする "to
    ask a question", 大人になる "to become an adult"): a learner who knows the word gains
    nothing. Two words that make a collocation (興味を持つ, 空気が読めない) stay."""
    if m.phrase.heavy > 1:
        return False
    said = toks[m.first : m.last + 1]
    if any(t.pos1 in ("動詞", "形容詞") and t.normalized_form in LIGHT_WORDS and t.normalized_form not in _EMPTY_VERBS for t in said):
        return False  # the verb a noun takes is the lesson (疑問に思う, 声を上げる), not the noun alone
    for t in toks[m.first : m.last + 1]:
        if t.pos1 not in ("名詞", "動詞", "形容詞", "形状詞", "副詞") or t.normalized_form in LIGHT_WORDS:
            continue
        part = dictionary.lookup(t.normalized_form, pos=t.pos1)
        if part is None:
            continue
        # a verb phrase is literal when most of its glosses say the word again (話題になる "to be in
        # the news; to be talked about; ... to become topical" is more than 話題 "topic"); an adverb
        # (実は, 自分で) when any does
        word = _stems(part.glosses)
        echoes = sum(1 for g in entry.glosses if _stems((g,)) & word)
        if echoes and (toks[m.last].pos1 != "動詞" or 2 * echoes >= len(entry.glosses)):
            return True
    return False


def _adverb_of_its_own(m: PhraseMatch, toks: Sequence[Token], entry: DictEntry) -> bool:
    """A word and its particle that make an adverb meaning something else (要するに "in short",
    not 要する "to require"): the adverb is the word said."""
    return any("adverb" in p for p in entry.pos) and not _literal(m, toks, entry)


def _said_as_written(m: PhraseMatch, pl: Line, s: int, e: int, entry: DictEntry) -> bool:
    """The words said are the phrase's, not others that share its dictionary keys: no kanji
    said is foreign to the phrase's spellings (翔んでる is not 飛んでる; a part said in kana, 力
    いれる or おっしゃるとおり, is fine), and the reading as said is close to the phrase's
    (イケてる is not 行ってました, 持たざる is not 持てない)."""
    said = pl.folded[s:e]
    spelled = set("".join((m.phrase.written, *entry.kanji_forms)))
    if any(has_kanji(ch) and ch not in spelled for ch in said):
        return False
    heard = reading_of_span(pl, s, e)
    if not heard or not entry.reading:
        return True
    kanji_said = [ch for ch in said if has_kanji(ch)]
    if m.phrase.idseq < 0 and len(kanji_said) >= 2 and kanji_said == [ch for ch in m.phrase.written if has_kanji(ch)]:
        return True  # a curated unit said in its own kanji: Sudachi's reading may be another word's (値 as あたい)
    written = katakana_to_hiragana(entry.reading)
    # the ん-negative is the same word (すまん is すまない)
    heard_forms = {heard, re.sub("ん$", "ない", heard)}
    if "にな" in written:  # 話題となった is 話題になる (phrases.py: と before なる)
        heard_forms |= {h.replace("とな", "にな") for h in heard_forms}
    if not entry.kanji_forms:  # a word only ever written in kana is said as spelt (いけない is not net いくない)
        inflects = any(("verb" in p and "adverb" not in p) or "adjective (keiyoushi)" in p for p in entry.pos)
        return any(h.startswith(written[:-1]) if inflects else h == written for h in heard_forms)
    if pl.tokens[m.last].pos1 in ("動詞", "形容詞") and m.phrase.heavy >= 2 and len(written) > 4:
        # the inflected ending of a phrase of two full words says nothing about the words (本気出せ is
        # 本気を出す, 話は弾まなかった 話が弾む); one word's ending is the word (知らない is not 知らず)
        stem = written[:-1]
        heard_forms |= {h[: len(stem)] for h in heard_forms}
        written_forms = (written, stem)
    else:
        written_forms = (written,)
    return max(SequenceMatcher(None, w, h).ratio() for w in written_forms for h in heard_forms) >= _READING_LIKENESS


def _phrase_level(entry: DictEntry, written: str, listed) -> Level:
    """The listed level, a curated unit's own level, else the estimate; kanji say little about a
    phrase (手に入れる is all N5 kanji), so never below N4."""
    if listed is not None:
        return listed[0]
    curated = find_collocation(written) if entry.idseq < 0 else None
    if curated is not None and curated.level is not None:
        return curated.level
    if is_set_phrase(entry):
        return phrase_level(entry, written)[0]
    return max(vocabulary_level(entry, written)[0], Level.N4, key=LEVEL_ORDER.get)


def _copula_goes_on(toks: Sequence[Token], last: int) -> bool:
    """A phrase ending in the copula な that goes on with ん/の explains, it is no phrase of its own
    (それなんですよ is それ + なんです, not それな "exactly")."""
    nxt = toks[last + 1] if last + 1 < len(toks) else None
    return toks[last].surface == "な" and nxt is not None and nxt.surface in ("ん", "の")


def _phrase_entry(written: str, idseq: int) -> DictEntry | None:
    if idseq < 0:
        return collocation_entry(idseq)
    return next((e for e in dictionary.lookup_all(written) if e.idseq == idseq), None)


def phrase_items(pl: Line, covered: list[bool], grammar_raw) -> tuple[list[Found], list[tuple[int, int]]]:
    """JMdict expressions and idioms said in the line, as one item each (あっという間, not 間).

    A phrase that a grammar pattern covers is left to the pattern (かもしれない teaches
    better as 〜かもしれない); basic formulas (よろしくお願いします) teach nothing."""
    found: list[Found] = []
    spans: list[tuple[int, int]] = []
    toks = pl.tokens
    for m in pl.phrases:
        s, e = toks[m.first].begin, toks[m.last].end
        if (any(covered[s:e]) and not _lexicon_words_inside(pl, covered, m)) or any(pl.names[s:e]):
            continue
        if _mostly_grammar(toks[m.first : m.last + 1], grammar_raw, curated=m.phrase.idseq < 0):
            continue
        if toks[m.first].pos1 in _PHRASE_CANNOT_START:
            continue  # ていい, にせよ, ともいう: grammar glue, not a phrase of its own
        entry = _phrase_entry(m.phrase.written, m.phrase.idseq)
        if entry is None or not entry.glosses:
            continue
        # A word Sudachi split (もし|や, いつ|に|なく, 私|ども) is one word: taught whole, as said.
        word = not any(p.startswith("expressions") for p in entry.pos)
        if word and not _split_word_worth_teaching(toks[m.first : m.last + 1], entry):
            continue
        if word and (_noun_said_as_a_verb(toks, m.last, entry) or first_word_is_governed(toks, m.first)):
            continue
        if not word and sum(1 for t in toks[m.first : m.last + 1] if t.pos1 != "助詞") < 2 and not _adverb_of_its_own(m, toks, entry):
            continue  # きっかけに, 一緒に: one word and its particle, taught as the word
        if not _said_as_written(m, pl, s, e, entry) or _copula_goes_on(toks, m.last):
            continue
        curated = m.phrase.idseq < 0  # a teacher chose it as a unit (data/collocations.yaml)
        idiom = word or curated or any(t in entry.misc for t in ("idiomatic expression", "proverb", "yojijukugo"))
        if not idiom and _literal(m, toks, entry):
            continue  # its one word is taught on its own (台無し in 台無しになる)
        if not idiom and _plain_phrase(m, toks, entry):
            covered[s:e] = [True] * (e - s)  # a formula: neither it nor its words (お願い in よろしくお願いします)
            continue
        spans.append((s, e))
        if is_basic_word(m.phrase.written) or entry.all_senses_low_value:
            continue
        listed = listed_level(m.phrase.written, entry.reading)
        if listed is not None and listed[0] == Level.N5:
            continue  # a formula every beginner knows (よろしくお願いします)
        level = _phrase_level(entry, m.phrase.written, listed)
        s2, e2 = expand(toks, s, e, host=False)
        said = pl.folded[s2:e2]
        note = "" if said.startswith(m.phrase.written) else f" Standard form: {m.phrase.written}."
        category = next((c for k, c in SLANG_MISC.items() if k in entry.misc), Category.vocabulary)
        expr = make(
            pl, s2, e2, lemma=_phrase_lemma(entry, m.phrase.written, pl.folded[s:e]), reading=entry.reading,
            meaning=meaning_in_context(entry, domains=pl.domains), category=category,
            explanation=f"Set phrase, learnt as one unit ({_phrase_kind(entry)}), about {level.value}.{note}",
        )
        if expr is not None:
            found.append(Found(s, expr, LEVELS_BY_DIFFICULTY.index(level)))
    return found, spans


# The こそあど words: what they build (それと, あんなに, そうやって, どこでも) is beginner grammar.
_KOSOADO = frozenset(
    {"此れ", "これ", "其れ", "それ", "彼", "あれ", "何れ", "どれ", "此の", "この", "其の", "その", "彼の", "あの",
     "何の", "どの", "斯う", "こう", "然う", "そう", "ああ", "如何", "どう", "此処", "ここ", "其処", "そこ",
     "彼処", "あそこ", "何処", "どこ", "此方", "こちら", "其方", "そちら", "どちら", "こんな", "そんな", "あんな",
     "どんな", "此れら", "これら", "其れら", "それら", "所", "ところ", "為", "ため", "時", "とき", "物", "もの",
     "事", "こと"}
)
# Particles that only attach a word to the sentence (大切に, 本気で, 今から): the word is the point.
_ATTACHING = frozenset({"に", "で", "を", "の", "は", "も", "から", "より", "まで", "と", "が", "へ", "だ", "です", "た"})


def _lexicon_words_inside(pl: Line, covered: Sequence[bool], m: PhraseMatch) -> bool:
    """What a lexicon item covers lies inside the phrase, word for word (ガチャ in ガチャを引く, ネタ in
    ネタに走る): the word and the phrase built on it are both taught. A lexicon item reaching out of
    the phrase or cutting into one of its words (気が重い read into 空気が重い) still takes the span."""
    toks = pl.tokens
    s, e = toks[m.first].begin, toks[m.last].end
    if all(covered[s:e]) or (s > 0 and covered[s - 1] and covered[s]) or (e < len(covered) and covered[e] and covered[e - 1]):
        return False  # the lexicon item is the phrase (しゃーない) or reaches out of it
    edges = {t.begin for t in toks[m.first : m.last + 1]}
    return all(c in edges for c in range(s + 1, e) if covered[c] != covered[c - 1])


def _noun_said_as_a_verb(toks: Sequence[Token], last: int, entry: DictEntry) -> bool:
    """A word JMdict makes of a verb's stem (ちょっと見 "a glance") is not said when the stem goes
    on as a verb (ちょっと見て "look a little"): て or た after it."""
    if toks[last].pos1 != "動詞" or any("verb" in p and "adverb" not in p for p in entry.pos):
        return False
    nxt = toks[last + 1] if last + 1 < len(toks) else None
    return nxt is not None and nxt.pos1 in ("助詞", "助動詞") and nxt.surface.startswith(AFTER_A_VERB_STEM)


def _split_word_worth_teaching(toks: Sequence[Token], entry: DictEntry) -> bool:
    """A word Sudachi split is worth its own row unless it is beginner material built of a
    こそあど word (それと, あんなに, どこでも), a number and its counter (一つ, 何倍も), or
    one word and what attaches it to the sentence (大切に, 本気で, 今では, びっくりした) — unless slang."""
    if any(t in entry.misc for t in SLANG_MISC):
        return True
    first = toks[0]
    if token_key(first) in _KOSOADO or first.surface in _KOSOADO or first.pos2 == "数詞":
        return False
    rest = toks[1:]
    attached = all(t.pos1 in ("助詞", "助動詞") and t.surface in _ATTACHING for t in rest)
    with_suru = rest[0].normalized_form == "為る" and all(t.pos1 == "助動詞" for t in rest[1:])  # びっくり|し|た
    return not (attached or with_suru)


def _phrase_lemma(entry: DictEntry, written: str, said: str) -> str:
    """The dictionary spelling closest to what was said: the spelling itself when it is one,
    the kana headword when it was said in kana (それじゃあ, not 其れじゃあ)."""
    if said in entry.kanji_forms or said in entry.kana_forms:
        return said
    if is_kana(said) and entry.reading:
        return entry.reading
    return written


def _mostly_grammar(tokens: Sequence[Token], grammar_raw, *, curated: bool = False) -> bool:
    """A phrase that is mostly one grammar pattern (かもしれない, やってみる) is the pattern's to
    teach; one that merely contains a pattern (言われてみれば ⊃ 〜てみる) stays a phrase. A curated
    unit is a teacher's choice: a pattern is only its inflection (〜ている in 目が笑っていない, お〜する
    in お手数おかけします) unless it also takes the unit's first word."""
    for _, ge, own, _ in grammar_raw:
        inside = sum(1 for t in tokens if t.begin >= own and t.end <= ge)
        if curated and own > tokens[0].begin:
            continue
        if inside * 2 >= len(tokens):
            return True
    return False


def _phrase_kind(entry: DictEntry) -> str:
    for tag in ("proverb", "yojijukugo", "idiomatic expression", "collocation", "set phrase"):
        if tag in entry.misc:
            return "idiom" if tag == "idiomatic expression" else tag
    return "expression"
