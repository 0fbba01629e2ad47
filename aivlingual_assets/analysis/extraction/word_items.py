"""Vocabulary items: the notable words of a line, with the sense used (see analysis/senses.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache

from aivlingual_assets.analysis import dictionary
from aivlingual_assets.analysis.dictionary import DictEntry
from aivlingual_assets.analysis.extraction.line import (
    AFTER_A_VERB_STEM,
    JAPANESE_RE,
    KANJI_RUN_RE,
    SLANG_MISC,
    Found,
    Line,
    first_word_is_governed,
    make,
)
from aivlingual_assets.analysis.jlpt_list import listed_level
from aivlingual_assets.analysis.levels import LEVELS_BY_DIFFICULTY, is_basic_word, vocabulary_level
from aivlingual_assets.analysis.schemas import Category, Level
from aivlingual_assets.analysis.senses import casual_form_note, meaning_in_context
from aivlingual_assets.analysis.tokenizer import (
    Token,
    has_kanji,
    is_hiragana,
    is_kana,
    is_katakana,
    katakana_to_hiragana,
    split_token,
    tokenize,
)

_FUNCTIONAL_JMDICT_POS = {
    "suffix",
    "prefix",
    "counter",
    "particle",
    "auxiliary verb",
    "auxiliary",
    "auxiliary adjective",
    "copula",
    "numeric",
}
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


def _vocab_candidate(tok: Token, prev: Token | None) -> bool:
    p1, p2 = tok.pos1, tok.pos2
    if tok.is_oov or p1 not in ("名詞", "動詞", "形容詞", "形状詞", "副詞", "代名詞", "連体詞", "接続詞", "感動詞"):
        return False
    if p1 == "名詞" and p2 != "普通名詞":
        return False
    if p1 == "形状詞" and p2 not in ("一般", "タリ"):
        return False
    if p1 == "形容詞" and p2 == "非自立可能":
        return False
    if p1 == "動詞" and p2 == "非自立可能" and prev is not None and (prev.pos2 == "接続助詞" or prev.surface in ("は", "も")):
        return False  # auxiliary use: 〜てみる, 〜ていく, 〜てはいけない, 〜ではならない
    lemma = tok.dictionary_form
    if not JAPANESE_RE.search(tok.surface) or any(ch.isdigit() for ch in tok.surface):
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


def _standard_verb(tok: Token) -> bool:
    """Sudachi's dictionary form is a classical or derived shape of the verb said, and its
    normalised form the verb itself: 感じ|ます read as literary 感ずる (感じる), 愛さ|れて as 愛す
    (愛する), 持て|ない as the lexeme 持てる "to be popular" (the potential of 持つ)."""
    if tok.pos1 != "動詞" or not has_kanji(tok.dictionary_form) or tok.dictionary_form == tok.normalized_form:
        return False
    said, standard = tok.dictionary_form, tok.normalized_form
    classical = (said.endswith("ずる") and standard == said[:-2] + "じる") or standard == said + "る"
    potential = len(said) >= 3 and said.endswith("る") and said[:-2] == standard[:-1] and said[-2] in "えけげせてねべめれ"
    return classical or (potential and not is_katakana(tok.surface[:2]))


def _lookup_token(tok: Token) -> tuple[str, DictEntry] | None:
    """(lemma as said, entry). A kana word is looked up by Sudachi's normalised kanji
    spelling first, which says which word it is (いける → 行ける, not 生ける); so is a verb
    Sudachi gave a classical or potential shape (_standard_verb)."""
    forms = (tok.normalized_form, tok.dictionary_form) if _standard_verb(tok) else (tok.dictionary_form, tok.normalized_form)
    if is_kana(tok.dictionary_form) and has_kanji(tok.normalized_form):
        spelled = dictionary.lookup(tok.normalized_form, tok.lemma_reading or None, pos=tok.pos1)
        said = katakana_to_hiragana(tok.dictionary_form)
        if spelled is not None and (said in map(katakana_to_hiragana, spelled.kana_forms) or casual_form_note(tok)):
            forms = (tok.normalized_form, tok.dictionary_form)
    kin = _same_kanji_entry(tok) if forms[0] == tok.dictionary_form else None
    if kin is not None:
        return tok.dictionary_form, kin
    for form in dict.fromkeys(forms):
        entry = dictionary.lookup(form, tok.lemma_reading or None, pos=tok.pos1)
        if entry is None:
            continue
        # the learner keeps the kana spelling they heard, unless it is a casual shape of another word
        said_in_kana = form != tok.dictionary_form and is_kana(tok.dictionary_form)
        return (tok.dictionary_form if said_in_kana and not casual_form_note(tok) else form), entry
    return None


def _suffix_homograph(pl: Line, tok: Token, entry: DictEntry) -> DictEntry | None:
    """A kana word stuck to the noun before it is the homograph JMdict lists as a suffix (ビザなし,
    砂糖なし: 無し "without", not 梨 "Japanese pear"), when the first homograph is not one."""
    if not is_kana(tok.surface) or any("suffix" in p for ps in entry.sense_pos for p in ps):
        return None
    prev = next((t for t in pl.tokens if t.end == tok.begin), None)
    if prev is None or prev.pos1 != "名詞":
        return None
    return next((e for e in dictionary.lookup_all(tok.dictionary_form, pos=tok.pos1)
                 if any("used as a suffix" in p for ps in e.sense_pos for p in ps)), None)


def _same_kanji_entry(tok: Token) -> DictEntry | None:
    """A kana word Sudachi relates to a word of other kanji (いける → 行く) is not the homograph
    JMdict lists first (生ける "to arrange flowers"): take the homograph written with that
    kanji, else the one JMdict writes in kana only (いける "to be good")."""
    if not is_kana(tok.dictionary_form) or not has_kanji(tok.normalized_form):
        return None
    head = next(ch for ch in tok.normalized_form if has_kanji(ch))
    entries = dictionary.lookup_all(tok.dictionary_form, pos=tok.pos1)
    if len(entries) < 2 or not entries[0].kanji_forms or any(head in form for form in entries[0].kanji_forms):
        return None
    same = [e for e in entries if any(form.startswith(head) for form in e.kanji_forms)]
    return (same or [e for e in entries if not e.kanji_forms] or [None])[0]


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
    """A word nobody says in a stream: every sense archaic, obsolete, obscure or rare.
    Speech recognition produces such words from mis-heard ones; no item beats a
    confidently wrong one. (Missing frequency data alone says nothing: 気まずい,
    乗り過ごす and 張り付く have none.)"""
    return entry.all_senses_low_value


_LOANWORD_NOTES = ("slang", "colloquialism", "abbreviation", "Internet slang", "manga slang", "jocular, humorous term")


def _teachable_katakana(entry: DictEntry) -> bool:
    """A katakana word worth a card: a native word written in katakana (クマ for 熊, オタク, ドキドキ),
    or a loanword used in a Japanese way (slang, clipped: アンチ "hater", ギブ "I give up").
    A plain English loanword (ゲーム "game", ドア "door") teaches an English speaker nothing."""
    if entry.kanji_forms or _native_word(entry):
        return True
    return any(m in _LOANWORD_NOTES for ms in entry.sense_misc for m in ms) or len(entry.senses) > 2


def _native_word(entry: DictEntry) -> bool:
    """A Japanese word written in katakana for effect (ドキドキ, ワクワク, ニヤニヤ): JMdict also
    lists its hiragana spelling, which a loanword never has."""
    return any(form and katakana_to_hiragana(form) == form for form in entry.kana_forms)


_BELOW_INTERMEDIATE = (Level.N5, Level.N4)
# Registers an intermediate learner still studies in a listed N4 word: casual speech and keigo (申し上げる).
_STILL_WORTH_IT = ("colloquialism", "slang", "humble (kenjougo) language", "honorific or respectful (sonkeigo) language")
_PLURAL_SUFFIXES = ("たち", "達", "ども", "ら", "方", "々")


def _fragment(form: str, entry: DictEntry) -> bool:
    """Not a word a learner would look up: a kana scrap of a mis-segmented casual line
    (ばった, ちく, こっ), a lone kanji below the N2 list (者, 数, 皿: basic, or cut out of a
    compound; teachers picked none on the tuning sets), or a basic word with a plural suffix
    (私たち, 子供達, 人々)."""
    if is_kana(form) and len(form) <= 2 and not entry.is_common and listed_level(form) is None:
        return True
    if _kana_spelling_of_a_kanji_word(form, entry):
        return True
    if len(form) == 1 and has_kanji(form):
        listed = listed_level(form)
        return listed is None or listed[0] not in (Level.N2, Level.N1)
    return any(form.endswith(suffix) and is_basic_word(form[: -len(suffix)]) for suffix in _PLURAL_SUFFIXES)


# JMdict parts of speech of words people also write in kana (verbs, い-adjectives, adverbs); a
# な-adjective (粗野 for そや) or a する-noun (按摩 for あんま) is a noun here.
_SAID_IN_KANA_TOO = ("Godan verb", "Ichidan verb", "Kuru verb", "suru verb - ", "adjective (keiyoushi)", "adverb")


def _kana_spelling_of_a_kanji_word(form: str, entry: DictEntry) -> bool:
    """A short hiragana scrap read as a noun JMdict writes in kanji (とこ as 床 "bed", ちく as 地区,
    あんま as 按摩, わき as 脇): people write such words in kanji, so in a transcript the kana is
    nearly always a piece of something else (ところ, あんまり, a mis-cut casual line)."""
    if len(form) > 3 or not is_kana(form) or katakana_to_hiragana(form) != form or not entry.kanji_forms:
        return False
    if any(p.startswith(_SAID_IN_KANA_TOO) for p in entry.pos):
        return False  # おしい, ふやす: a conjugating word or an adverb said in kana is still that word
    return not entry.usually_kana


def _too_basic(level: Level, form: str, entry: DictEntry) -> bool:
    """Below what an intermediate learner studies: estimated N5, an everyday word with お/ご or
    さん/ちゃん, a place's people or language, or on the N5/N4 lists. On real transcripts judged by
    a teacher, listed N4 words were wanted 8 times in 138."""
    if level == Level.N5 or _polite_basic_word(form) or _people_or_language_of_a_place(form):
        return True
    stem = form[:-1] if len(form) > 2 and form[-1] in "にと" else form  # 確かに is 確か's
    listed = listed_level(form, entry.written) or listed_level(stem)
    return listed is not None and listed[0] in _BELOW_INTERMEDIATE and not any(
        m in _STILL_WORTH_IT for ms in entry.sense_misc for m in ms
    )


@lru_cache(maxsize=4096)
def _people_or_language_of_a_place(form: str) -> bool:
    """A place's people or language (インド人, アラビア語, 関西人): first-year words built from a
    name; the name is what a learner looks up, not the compound."""
    if len(form) < 3 or form[-1] not in "人語":
        return False
    place = tokenize(form[:-1])
    return len(place) == 1 and place[0].pos[1:3] == ("固有名詞", "地名")


_BEAUTIFYING = ("お", "ご", "御")
_FAMILIAR = ("さん", "ちゃん", "様")


def _polite_basic_word(form: str) -> bool:
    """A beginner's word with the polite お/ご or a familiar さん/ちゃん (お昼, お寺, ご飯, お客さん,
    兄ちゃん): the word is on the N5/N4 lists or everyday, and what it took is first-year grammar."""
    base = form[1:] if form.startswith(_BEAUTIFYING) else form
    suffix = next((x for x in _FAMILIAR if base.endswith(x) and len(base) > len(x)), "")
    base = base[: len(base) - len(suffix)]
    if base == form or not base:
        return False
    listed = listed_level(base)
    return is_basic_word(base) or (listed is not None and listed[0] in _BELOW_INTERMEDIATE)


def _adverbial_use(pl: Line, tok: Token) -> bool:
    """A noun that can be an adverb (副詞可能: 結局, 実際, 最近), said with no particle or copula after it."""
    if tok.pos1 != "名詞" or "副詞可能" not in tok.pos:
        return False
    nxt = next((t for t in pl.tokens if t.begin >= tok.end and t.pos1 != "空白"), None)
    return nxt is None or nxt.pos1 not in ("助詞", "助動詞")


def _adverb_particle(pl: Line, tok: Token) -> Token | None:
    """The に/と that makes an adjectival noun an adverb (余計に "all the more", 執拗に), or that an
    adverb takes (堂々と "boldly", ずしんと): the item is the adverb as said, with the adverb's sense."""
    adjectival = tok.pos1 == "形状詞" or (tok.pos1 == "名詞" and any("形状詞可能" in p for p in tok.pos))
    if not adjectival and tok.pos1 != "副詞":
        return None
    k = next((i for i, t in enumerate(pl.tokens) if t.begin >= tok.end and t.pos1 != "空白"), None)
    nxt = pl.tokens[k] if k is not None else None
    if nxt is None or nxt.begin != tok.end or nxt.pos1 not in ("助詞", "助動詞"):
        return None
    after = pl.tokens[k + 1] if k + 1 < len(pl.tokens) else None
    if after is not None and after.normalized_form in ("成る", "為る", "思う", "言う", "考える", "感じる"):
        return None  # 迷惑になる, 幸せにする, 重要と思う: what something becomes or is thought, not how
    # an adverb or a タリ adjective takes と (ずしんと, 堂々と); an adjectival noun に (余計に)
    takes_to = tok.pos1 == "副詞" or tok.pos2 == "タリ"
    return nxt if (nxt.surface == "と" and takes_to) or (adjectival and nxt.surface == "に") else None


def _takes_a_noun(nxt: Token) -> bool:
    """What follows a noun and never a verb's stem: the copula (推し|です) or a case particle
    (便り|が届く, 積み立て|を続ける)."""
    if nxt.pos1 == "助動詞":
        return nxt.dictionary_form in ("だ", "や", "です")
    return nxt.pos1 == "助詞" and nxt.pos2 == "格助詞" and nxt.surface in ("が", "を", "の")


def _as_said(pl: Line, tok: Token) -> Token | None:
    """The token as the word said, or None when it is no word here. A verb form that cannot stand
    where it was said is Sudachi's misreading: a euphonic stem (わい of 沸く, Kansai "I") with no
    て/た after it (AFTER_A_VERB_STEM) is dropped; a stem right before the copula or a case particle is the noun made
    from it (推しです, 得やろ, 便りが: 推し "favourite", 得 "profit", 便り "news"), when JMdict has
    that noun."""
    if tok.pos1 != "動詞":
        return tok
    nxt = next((t for t in pl.tokens if t.begin >= tok.end and t.pos1 != "空白"), None)
    if "音便" in tok.conjugation_form:
        return tok if nxt is not None and nxt.surface.startswith(AFTER_A_VERB_STEM) else None
    if tok.conjugation_form.startswith("連用形") and nxt is not None and _takes_a_noun(nxt):
        noun = replace(tok, dictionary_form=tok.surface, normalized_form=tok.surface, lemma_reading=tok.reading,
                       pos=("名詞", "普通名詞", "一般", "*", "*", "*"))
        return noun if dictionary.lookup(tok.surface, tok.reading or None, pos="名詞") is not None else None
    return tok


def _vocab_from_token(pl: Line, tok: Token) -> Found | None:
    said = _as_said(pl, tok)
    if said is None:
        return None
    tok = said
    hit = _lookup_token(tok)
    if hit is None:
        return None
    form, entry = hit
    entry = _suffix_homograph(pl, tok, entry) or entry
    if not entry.glosses or (entry.pos and all(p in _FUNCTIONAL_JMDICT_POS for p in entry.pos)):
        return None
    if entry.pos and all("interjection" in p for p in entry.pos):
        return None  # えー, あー, よし: fillers and exclamations teach nothing (いざ is also an adverb)
    if _fragment(form, entry) and not _lone_kanji_word(pl, tok, form, entry):
        return None
    if _likely_misheard(entry, form):
        return None
    if is_katakana(form.replace("ー", "")) and not _teachable_katakana(entry):
        return None
    level, _, _ = vocabulary_level(entry, form)
    casual = casual_form_note(tok)
    if _too_basic(level, form, entry) and not casual:
        return None
    category = next((c for m, c in SLANG_MISC.items() if m in entry.misc), Category.slang if casual else Category.vocabulary)
    explanation = _vocab_explanation(entry, level)
    particle = _adverb_particle(pl, tok)
    end = particle.end if particle is not None else tok.end  # said as the adverb: 余計に, 堂々と
    expr = make(
        pl,
        tok.begin,
        end,
        lemma=form,
        reading=entry.reading,
        meaning=meaning_in_context(entry, form, tok.normalized_form, adverbial=particle is not None or _adverbial_use(pl, tok),
                                   domains=pl.domains),
        category=category,
        explanation=f"{casual} {explanation}" if casual else explanation,
    )
    if expr is None:
        return None
    return Found(tok.begin, expr, LEVELS_BY_DIFFICULTY.index(level))


def _lone_kanji_word(pl: Line, tok: Token, form: str, entry: DictEntry) -> bool:
    """A one-kanji noun said as a word of its own, in running speech with hiragana on both sides (具なし,
    生き抜く術みたいに, 徳について), and one JMdict marks common: not a piece of a run of kanji or
    katakana (a name, a compound: 豚キムチ) nor an item of a list or a heading."""
    if len(form) != 1 or not entry.is_common or listed_level(form) is not None or tok.pos1 != "名詞":
        return False
    before = pl.folded[tok.begin - 1] if tok.begin > 0 else ""
    after = pl.folded[tok.end] if tok.end < len(pl.folded) else ""
    return all(is_hiragana(ch) for ch in (before, after) if ch)


def _rare_join_of_single_kanji(tokens: Sequence[Token], entry: DictEntry) -> bool:
    """One-kanji words side by side (その時|人が, 3本|目) spell a rare noun JMdict lists (時人
    "contemporaries", 本目 "a kind of knot") that nobody said: only a word with a frequency or
    priority tag is taken as said."""
    return all(len(t.surface) == 1 and has_kanji(t.surface) for t in tokens) and not entry.priority


def _common_word_cut(tok: Token, s: int, e: int) -> bool:
    """A kanji run [s, e) starts or ends inside ``tok``, an everyday word (見つかる, 世の中): the
    run joins the pieces of two words. Cutting into a rare reading is fine: that is Sudachi's
    misreading (醍醐|味って read as the archaic verb 味う)."""
    if tok.begin >= s and tok.end <= e:
        return False
    entry = dictionary.lookup(tok.dictionary_form) or dictionary.lookup(tok.surface)
    return entry is not None and bool(entry.priority)


def _kanji_compounds(pl: Line, covered: list[bool]) -> list[Found]:
    """Kanji runs that JMdict lists as one noun but Sudachi cut apart (醍醐|味って).

    The run's tokens are then marked covered so the fragments are not offered too."""
    found: list[Found] = []
    for m in KANJI_RUN_RE.finditer(pl.folded):
        s, e = m.span()
        inside = [t for t in pl.tokens if t.end > s and t.begin < e]
        if any(_common_word_cut(t, s, e) for t in inside):
            continue  # the run cuts into an everyday word (この先|考え is not 先考, 夢|見つかっ not 夢見)
        if len(inside) < 2 or any(covered[s:e]) or any(pl.names[s:e]) or any(t.pos2 == "数詞" for t in inside):
            continue
        if s > 0 and (pl.folded[s - 1].isdigit() or inside[0].pos1 == "接尾辞"):
            continue  # a counter after a number (2年半 is not 年半, 3本目 is not 本目)
        run = m.group(0)
        entry = dictionary.lookup(run)
        if entry is None or not entry.glosses or entry.written != run or _rare_join_of_single_kanji(inside, entry):
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
        expr = make(
            pl, s, e, lemma=run, reading=entry.reading, meaning=meaning_in_context(entry, run, domains=pl.domains),
            category=Category.vocabulary, explanation=_vocab_explanation(entry, level),
        )
        if expr is not None:
            found.append(Found(s, expr, LEVELS_BY_DIFFICULTY.index(level)))
    return found


_JOINABLE_POS = frozenset({"名詞", "動詞", "形容詞", "形状詞", "接頭辞", "接尾辞", "代名詞", "副詞"})
_WORD_POS = ("noun", "adjective", "verb", "adverb", "adjectival")


_VOICE = frozenset({"れる", "られる", "せる", "させる"})


def _voice_auxiliary(tok: Token, inside: bool) -> bool:
    """The passive or causative ending of a verb inside a run (だまさ|れ|やすい): JMdict lists some
    such forms as words of their own (騙されやすい "gullible", 心惹かれる "to be charmed")."""
    return inside and tok.pos1 == "助動詞" and tok.dictionary_form in _VOICE


def split_word_candidates(tokens: Sequence[Token]) -> list[tuple[int, int, str]]:
    """(first, last, text) for runs of 2-3 tokens that may be one dictionary word Sudachi cut
    apart (手っ取り|早い, 紅|ショウガ, それ|なり): the words as said, the last in dictionary form."""
    out: list[tuple[int, int, str]] = []
    for i in range(len(tokens) - 1):
        for j in range(i + 1, min(i + 3, len(tokens))):
            run = tokens[i : j + 1]
            if any((t.pos1 not in _JOINABLE_POS and not _voice_auxiliary(t, n >= 1)) or t.pos2 == "数詞"
                   for n, t in enumerate(run)):
                break
            last = run[-1]
            if len(run) == 2 and _voice_auxiliary(last, True):
                continue  # a verb's plain passive or causative (される, 知られる) is the verb's
            tail = last.dictionary_form if last.pos1 in ("動詞", "形容詞") or _voice_auxiliary(last, True) else last.surface
            out.append((i, j, "".join(t.surface for t in run[:-1]) + tail))
        if _negated_verb(tokens, i):
            out.append((i, i + 1, tokens[i].surface + "ない"))
    return out


_NEGATIVE_AUXILIARIES = frozenset({"ない", "ぬ", "ねえ", "ねー", "ねぇ"})  # ん is ぬ's 撥音便


def _negated_verb(tokens: Sequence[Token], i: int) -> bool:
    """A verb's irrealis form and a negative ending (つまら|ん, くだら|ねえ, つまら|ない)."""
    return (i + 1 < len(tokens) and tokens[i].pos1 == "動詞" and tokens[i].conjugation_form.startswith("未然形-一般")
            and tokens[i + 1].pos1 == "助動詞" and tokens[i + 1].dictionary_form in _NEGATIVE_AUXILIARIES)


_GLOSS_WORD = re.compile(r"[a-z]{4,}")


def _negative_adjective(entry: DictEntry, verb: Token) -> bool:
    """A negative JMdict lists as an everyday adjective with a meaning of its own (つまらない "boring",
    not つまる "to be packed"; くだらない "trivial"; すまない "sorry"), not one that only negates its
    verb (変わらない "constant"; 変わる "to change" in a gloss's word; 知らない and 足りない carry no
    frequency mark)."""
    if not entry.priority or not any("adjective (keiyoushi)" in p for ps in entry.sense_pos for p in ps):
        return False
    if is_basic_word(verb.dictionary_form, verb.normalized_form):
        return False  # 変わらない "constant" is what a beginner makes of 変わる
    own = dictionary.lookup(verb.dictionary_form, pos="動詞")
    stems = {w[:5] for g in (own.glosses if own else ()) for w in _GLOSS_WORD.findall(g.lower())}
    return not any(stem in w for g in entry.glosses for w in _GLOSS_WORD.findall(g.lower()) for stem in stems)


def _split_words(pl: Line, covered: list[bool]) -> list[Found]:
    """Dictionary words Sudachi cut into pieces, as one item; their pieces are then covered."""
    found: list[Found] = []
    for i, j, text in sorted(split_word_candidates(pl.tokens), key=lambda c: (c[0] - c[1], c[0])):
        s, e = pl.tokens[i].begin, pl.tokens[j].end
        negative = j == i + 1 and _negated_verb(pl.tokens, i)  # its ending may be a casual negative's (〜ん, 〜ねえ)
        if any(covered[s : pl.tokens[i].end if negative else e]) or any(pl.names[s:e]):
            continue
        entry = dictionary.lookup(text)
        if entry is None or entry.written != text or not entry.glosses or _rare_join_of_single_kanji(pl.tokens[i : j + 1], entry):
            continue
        if negative and not _negative_adjective(entry, pl.tokens[i]):
            continue
        if not any(w in p for p in entry.pos for w in _WORD_POS) or _likely_misheard(entry, text):
            continue
        covered[s:e] = [True] * (e - s)
        level, _, _ = vocabulary_level(entry, text)
        if is_basic_word(text) or _too_basic(level, text, entry) or _fragment(text, entry):
            continue
        category = next((c for m, c in SLANG_MISC.items() if m in entry.misc), Category.vocabulary)
        explanation = _vocab_explanation(entry, level)
        said = pl.folded[s:e]
        if negative and said != text:
            explanation = f"{said} is {text} with the casual negative ending. {explanation}"
        expr = make(pl, s, e, lemma=text, reading=entry.reading, meaning=meaning_in_context(entry, text, domains=pl.domains),
                    category=category, explanation=explanation)
        if expr is not None:
            found.append(Found(s, expr, LEVELS_BY_DIFFICULTY.index(level)))
    return found


_ADVERBIAL_PARTICLES = ("に", "と", "しも", "も")


def adverbial_pairs(tokens: Sequence[Token]) -> list[tuple[int, str]]:
    """(index, text) of word + particle pairs that may be one adverb (無性に, めったに, 堂々と, 必ずしも)."""
    return [
        (k, t.surface + tokens[k + 1].surface)
        for k, t in enumerate(tokens[:-1])
        if t.pos1 in ("名詞", "形状詞", "副詞")
        and tokens[k + 1].pos1 in ("助詞", "助動詞")  # めった|に: Sudachi reads this に as the copula
        and tokens[k + 1].surface in _ADVERBIAL_PARTICLES
    ]


def _adverbs_with_particle(pl: Line, covered: list[bool]) -> list[Found]:
    """Adverbs JMdict lists with their particle, which Sudachi cuts off: 無性に is "intensely",
    not 無性 "asexual"; ちなみに "by the way", not ちなみ. Both tokens are then covered."""
    found: list[Found] = []
    for k, text in adverbial_pairs(pl.tokens):
        s, e = pl.tokens[k].begin, pl.tokens[k + 1].end
        if any(covered[s:e]) or any(pl.names[s:e]):
            continue
        if first_word_is_governed(pl.tokens, k):
            continue  # 喋る|とき|に is "when talking", not 時に "sometimes"
        entry = dictionary.lookup(text, pos="副詞")
        if entry is None or entry.written != text or not any("adverb" in p or "conjunction" in p for p in entry.pos):
            continue
        covered[s:e] = [True] * (e - s)
        if is_basic_word(text, pl.tokens[k].dictionary_form) or _likely_misheard(entry, text):
            continue
        stem = listed_level(pl.tokens[k].dictionary_form)
        if stem is not None and stem[0] in _BELOW_INTERMEDIATE:
            continue  # 確かに, 逆に: the に-form of a word the learner already has
        level, _, _ = vocabulary_level(entry, text)
        if level == Level.N5:
            continue
        expr = make(pl, s, e, lemma=text, reading=entry.reading, meaning=meaning_in_context(entry, text, domains=pl.domains),
                     category=Category.vocabulary, explanation=_vocab_explanation(entry, level))
        if expr is not None:
            found.append(Found(s, expr, LEVELS_BY_DIFFICULTY.index(level)))
    return found


def vocab_items(pl: Line, covered: list[bool]) -> list[Found]:
    found: list[Found] = _adverbs_with_particle(pl, covered) + _split_words(pl, covered) + _kanji_compounds(pl, covered)
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


def dictionary_words(tokens: Iterable[Token]) -> set[str]:
    words: set[str] = set()
    for t in tokens:
        if t.pos1 in ("名詞", "動詞", "形容詞", "形状詞", "副詞"):
            words.add(t.dictionary_form)
            words.add(t.normalized_form)
    return words
