"""JMdict's multi-word expressions, idioms and set phrases, found in running speech.

Why: a learner who meets 取り返しがつかない needs "cannot be undone", not 取り返し +
付く "to be lit". JMdict lists ~15,000 such entries (part of speech "expressions",
idiomatic expressions, proverbs, yojijukugo), and the adverbs, pronouns and conjunctions
that Sudachi cuts into several tokens (いつ|に|なく, もし|や, 私|ども) are matched the same way.
Each spelling is tokenised once with the same Sudachi dictionary as the transcript and
indexed by its first token; a line then
matches an expression token by token on *keys* that survive what speech does to it:

* inflection: content words compare by Sudachi's normalised dictionary form, so
  つかない / つかねえ / つかなかった all read 付く + ない (trailing auxiliaries such as
  た are taken into the span as said);
* colloquial contractions Sudachi already normalises (ねえ → ない, すげえ → 凄い) and
  the classical negatives ん / ぬ / ず, which all key as ない;
* particles that drift: が, の, は and も inside an expression stand for each other
  (気がする / 気はする / 気もする, 都合がいい / 都合のいい), と before なる is the written
  に (話題となる is 話題になる), the を of a phrase of two full words said as は or も
  (口も聞かない is 口を聞く), and a particle of the
  expression may be dropped in speech (取り返しつかない) when two content words remain;
* a word Sudachi read as another part of speech matches by its surface (取り返し as the
  verb stem of 取り返す), and a kana word written in katakana for emphasis by its hiragana
  (ロクでもない is ろくでもない).

The index costs a few seconds to build, so it is cached on disk (analysis/disk_cache.py),
keyed by the JMdict file and the Sudachi versions.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata

from aivlingual_assets.analysis import collocations
from aivlingual_assets.analysis.dictionary import jmdict_db_path
from aivlingual_assets.analysis.disk_cache import cached
from aivlingual_assets.analysis.tokenizer import Token, is_katakana, katakana_to_hiragana, raw_morphemes

__all__ = ["Phrase", "PhraseMatch", "phrase_index", "find_phrases", "token_key", "INDEX_VERSION"]

INDEX_VERSION = "13"

# Parts of speech whose words carry the meaning; the rest only glue an expression together.
_CONTENT_POS = frozenset({"名詞", "動詞", "形容詞", "形状詞", "副詞", "代名詞", "感動詞", "連体詞", "接頭辞"})
_PARTICLE_POS = frozenset({"助詞"})
_GLUE_POS = frozenset({"助詞", "助動詞", "接尾辞", "補助記号", "空白"})
# Keys that are the same word in speech.
_KEY_EQUIVALENTS = {"ず": "ない", "ぬ": "ない", "ん": "ない"}
# Particles that drift in speech without changing the expression (気がする / 気はする / 気もする).
_DRIFTING = frozenset({"が", "の", "は", "も"})
_POLITE = frozenset({"ます", "です"})
# Particles speech leaves out (取り返し|つかない, 本気|出す); ずつ, だけ, まで or しか carry meaning (少しずつ違う is
# not 少し違う).
_DROPPABLE = frozenset({"が", "を", "に", "の", "は", "も", "へ", "と", "で"})
# The object of a phrase of two full words said as a topic or with "even" (口も利かない, 手は抜かない):
# the same phrase. Not for a phrase with a light verb (人を見る is not 人は見る "people see").
_OBJECT_TOPIC = frozenset({"は", "も"})
# Light words that alone never make an expression worth teaching (そうですね, ことになる).
LIGHT_WORDS = frozenset(
    {
        "為る", "する", "有る", "ある", "居る", "いる", "成る", "なる", "言う", "いう", "思う", "来る", "行く",
        "出来る", "できる", "遣る", "やる", "貰う", "もらう", "呉れる", "くれる", "上げる", "あげる",
        "見る", "みる", "置く", "おく", "仕舞う", "しまう", "良い", "いい", "無い", "ない", "そう", "こう",
        "どう", "ああ", "此れ", "これ", "其れ", "それ", "彼", "あれ", "何", "なに", "なん", "事", "こと",
        "物", "もの", "様", "よう", "為", "ため", "訳", "わけ", "筈", "はず", "所", "ところ", "時", "とき",
        "方", "ほう", "の", "ん", "積もり", "つもり", "分", "ぶん", "程", "ほど", "位", "くらい", "ぐらい",
        "然う", "斯う", "如何", "御", "お", "ご", "私", "僕", "俺", "貴方", "あなた", "此処", "ここ", "其処",
        "そこ", "はい", "いいえ", "うん", "ええ", "まあ", "ちょっと", "一寸", "もう", "又", "また",
    }
)


def _key(surface: str, normalized: str, pos1: str) -> str:
    if pos1 in _PARTICLE_POS:
        return surface  # the explanatory ん of あるんや is no negative
    return _KEY_EQUIVALENTS.get(normalized, normalized)


def token_key(tok: Token) -> str:
    """The comparison key of a transcript token (see the module docstring)."""
    return _key(tok.surface, tok.normalized_form, tok.pos1)


@dataclass(frozen=True, slots=True)
class Phrase:
    """One spelling of a JMdict expression, as keys."""

    idseq: int
    written: str  # the JMdict spelling that was tokenised
    keys: tuple[str, ...]
    particles: tuple[bool, ...]  # per key: a particle (may be dropped in speech)
    surfaces: tuple[str, ...]  # the spelling's words as written (ある of ある程度, read by Sudachi as 或る)
    content: int  # keys that are content words (nouns, verbs, adjectives, adverbs, ...)
    heavy: int  # content words outside LIGHT_WORDS
    mood: str = ""  # 命令形 / 意志推量形 when the spelling ends in a command or "let's" (しっかりしろ, どうしよう)


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    phrase: Phrase
    first: int  # token indices [first, last]
    last: int


def _fingerprint(db: str) -> str:
    st = os.stat(db)
    parts = [INDEX_VERSION, os.path.abspath(db), str(st.st_size), str(int(st.st_mtime)), collocations.fingerprint()]
    for pkg in ("sudachipy", "sudachidict-core"):
        try:
            parts.append(metadata.version(pkg))
        except metadata.PackageNotFoundError:
            parts.append("missing")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


# Words that Sudachi splits into several tokens are matched the same way (いつになく, ひょっとすると,
# もしや, 私ども): adverbs, pronouns, conjunctions, interjections and pre-noun adjectivals.
_MULTI_TOKEN_WORD_POS = (
    "adverb (fukushi)", "adverb taking the 'to' particle", "pronoun", "conjunction", "interjection (kandoushi)",
    "pre-noun adjectival (rentaishi)",
)
# A split word must begin like one (いつ|に|なく, もし|や): not with an inflected verb or adjective,
# whose kana would collide with ordinary speech (い|た "ouch" in 忘れていた, あっ|たら in あったか,
# 知ら|ない), unless it ends in the classical negative ず (思わ|ず "involuntarily").
_WORD_CANNOT_START = frozenset({"動詞", "形容詞", "助動詞"})
_EXPRESSION_SQL = """
SELECT DISTINCT s.idseq FROM Sense s
WHERE s.ID IN (SELECT sid FROM pos WHERE text LIKE 'expressions%')
   OR s.ID IN (SELECT sid FROM misc WHERE text IN ('idiomatic expression', 'proverb', 'yojijukugo'))
"""
_WORD_SQL = f"""
SELECT DISTINCT s.idseq FROM Sense s
WHERE s.ID IN (SELECT sid FROM pos WHERE text IN ({", ".join(repr(p) for p in _MULTI_TOKEN_WORD_POS)}))
"""


def _forms(conn: sqlite3.Connection) -> list[tuple[int, str, bool]]:
    """``(idseq, spelling, is_word)``: ``is_word`` for the split words, not expressions."""
    expressions = {r[0] for r in conn.execute(_EXPRESSION_SQL)}
    words = {r[0] for r in conn.execute(_WORD_SQL)} - expressions
    out: list[tuple[int, str, bool]] = []
    for ids, is_word in ((sorted(expressions), False), (sorted(words), True)):
        for i in range(0, len(ids), 900):
            part = ids[i : i + 900]
            marks = ",".join("?" * len(part))
            for table in ("Kanji", "Kana"):
                out.extend((*row, is_word) for row in conn.execute(f"SELECT idseq, text FROM {table} WHERE idseq IN ({marks})", part))
    return out


def _build(db: str) -> dict[str, tuple[tuple, ...]]:
    """Plain tuples (they unpickle ten times faster than dataclasses)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
    try:
        forms = _forms(conn)
    finally:
        conn.close()
    forms += collocations.collocation_forms()  # the curated units JMdict lacks (data/collocations.yaml)
    index: dict[str, list[Phrase]] = defaultdict(list)
    seen: set[tuple[int, tuple[str, ...]]] = set()
    for idseq, written, is_word in forms:
        morphemes = raw_morphemes(written)
        if len(morphemes) < 2:
            continue  # one token: the ordinary word look-up handles it
        classical_negative = morphemes[-1][0] == "ず"  # 思わ|ず "involuntarily", 残ら|ず: no look-alike in speech
        if is_word and ((morphemes[0][2] in _WORD_CANNOT_START and not classical_negative) or len(written) < 3):
            continue
        keys = tuple(_key(s, n, p) for s, n, p, _ in morphemes)
        if (idseq, keys) in seen:
            continue
        seen.add((idseq, keys))
        if morphemes[0][2] in _GLUE_POS:
            continue  # ていい, にせよ: grammar glue, never a phrase of its own
        particles = tuple(p in _PARTICLE_POS for _, _, p, _ in morphemes)
        content = sum(1 for _, _, p, _ in morphemes if p in _CONTENT_POS)
        heavy = sum(1 for s, n, p, _ in morphemes if p in _CONTENT_POS and n not in LIGHT_WORDS and s not in LIGHT_WORDS)
        surfaces = tuple(s for s, _, _, _ in morphemes)
        row = (idseq, written, keys, particles, surfaces, content, heavy, _mood(morphemes[-1][3]))
        pairs = {_pair(keys[0], keys[1]), _pair(surfaces[0], surfaces[1])}
        if particles[1] and len(keys) > 2 and heavy >= 2:  # the particle may be dropped in speech
            pairs.add(_pair(keys[0], keys[2]))
        for pair in pairs:
            index[pair].append(row)
    return {k: tuple(sorted(v, key=lambda ph: -len(ph[2]))) for k, v in index.items()}


_MOODS = ("命令形", "意志推量形")


def _mood(conjugation_form: str) -> str:
    """The mood an expression is said in when it ends in one: a command or a "let's"."""
    return next((m for m in _MOODS if conjugation_form.startswith(m)), "")


def _drift(key: str) -> str:
    return "が" if key in _DRIFTING else key


def _pair(first: str, second: str) -> str:
    """Index key: a phrase's first two keys (particles that drift collapsed), so a token
    only meets the few phrases that also fit the word after it."""
    return f"{first}\x1f{_drift(second)}"


_LOCK = threading.Lock()
_INDEX: dict[str, tuple[Phrase, ...]] | None = None


def phrase_index() -> dict[str, tuple[Phrase, ...]]:
    """First two keys → expressions starting with them (longest first); built or loaded once per process."""
    global _INDEX
    if _INDEX is not None:
        return _INDEX
    with _LOCK:
        if _INDEX is None:
            _INDEX = _load_or_build()
    return _INDEX


def _load_or_build() -> dict[str, tuple[Phrase, ...]]:
    db = jmdict_db_path()
    return _objects(cached("phrases", _fingerprint(db), lambda: _build(db)))


def _objects(raw: dict[str, tuple[tuple, ...]]) -> dict[str, tuple[Phrase, ...]]:
    """One Phrase per spelling, shared by every index key it is filed under."""
    made: dict[int, Phrase] = {}

    def phrase(row: tuple) -> Phrase:
        found = made.get(id(row))
        if found is None:
            found = made[id(row)] = Phrase(*row)
        return found

    return {k: tuple(phrase(row) for row in rows) for k, rows in raw.items()}


def _as_hiragana(surface: str) -> str:
    """A katakana spelling of a kana word (ロク for ろく); any other surface as it is."""
    return katakana_to_hiragana(surface) if is_katakana(surface) else surface


def _other_copula_form(written: str, said: str) -> bool:
    """The copula's adverbial forms make adverbs (大切に "carefully", 堂々と): its other forms are
    not them (大切な is not 大切に)."""
    return written in ("に", "と") and said != written


def _match(ph: Phrase, tokens: Sequence[Token], keys: Sequence[str], i: int) -> int | None:
    """Index of the last token matched when ``ph`` starts at token ``i``, else None."""
    p, q, n = 0, i, len(ph.keys)
    dropped = 0
    while p < n:
        if 0 < p and q < len(tokens) and keys[q] in _POLITE and ph.keys[p] not in _POLITE:
            q += 1  # polite ます slipped in: 欠かせませんね is 欠かせない
            continue
        if q < len(tokens) and (
            (keys[q] == ph.keys[p] and not _other_copula_form(ph.surfaces[p], tokens[q].surface))
            or tokens[q].surface in (ph.keys[p], ph.surfaces[p])
            or _as_hiragana(tokens[q].surface) == ph.surfaces[p]
            or (p > 0 and ph.keys[p] in _DRIFTING and keys[q] in _DRIFTING and tokens[q].pos1 == "助詞")
            or (p > 0 and ph.keys[p] == "を" and keys[q] in _OBJECT_TOPIC and tokens[q].pos1 == "助詞" and ph.heavy >= 2)
            or (ph.keys[p] == "に" and keys[q] == "と" and p + 1 < n and ph.keys[p + 1] == "成る")  # 話題となる
        ):
            p, q = p + 1, q + 1
            continue
        # a particle of the expression left out in speech (取り返し|つかない)
        if ph.particles[p] and ph.surfaces[p] in _DROPPABLE and 0 < p < n - 1 and ph.heavy >= 2 and dropped == 0:
            p, dropped = p + 1, dropped + 1
            continue
        return None
    if ph.mood and not tokens[q - 1].conjugation_form.startswith(ph.mood):
        return None  # しっかりしろ "pull yourself together" is not しっかりしてる, どうしよう not どうして
    return q - 1


def find_phrases(tokens: Sequence[Token], *, min_content: int = 1) -> list[PhraseMatch]:
    """Non-overlapping expression matches in a tokenised line: the longest wins, then the leftmost."""
    return list(_find_cached(tuple(tokens), min_content))


@lru_cache(maxsize=32768)
def _find_cached(tokens: tuple[Token, ...], min_content: int) -> tuple[PhraseMatch, ...]:
    index = phrase_index()
    keys = [token_key(t) for t in tokens]
    cands: list[PhraseMatch] = []
    for i in range(len(tokens) - 1):
        seen: set[int] = set()
        j = i + 1
        while j < len(tokens) - 1 and keys[j] in _POLITE:
            j += 1  # 欠かせ|ませ|ん: the phrase's second word comes after the polite ending
        for first in dict.fromkeys((keys[i], tokens[i].surface, _as_hiragana(tokens[i].surface))):  # ordered: the same result in every process
            # Nとなる is the written Nになる (話題となった is 話題になる)
            also = ("に",) if keys[i + 1] == "と" and i + 2 < len(tokens) and keys[i + 2] == "成る" else ()
            if keys[i + 1] in _OBJECT_TOPIC and tokens[i + 1].pos1 == "助詞":
                also = ("を",)  # 口も聞かない is 口を聞く (_match checks the phrase is of two full words)
            for second in dict.fromkeys((keys[i + 1], tokens[i + 1].surface, _as_hiragana(tokens[i + 1].surface), keys[j], *also)):
                for ph in index.get(_pair(first, second), ()):
                    if ph.content < min_content or id(ph) in seen:
                        continue
                    seen.add(id(ph))
                    last = _match(ph, tokens, keys, i)
                    if last is not None and last > i:
                        cands.append(PhraseMatch(ph, i, last))

    def span(m: PhraseMatch) -> int:
        last = m.last - 1 if m.phrase.particles[-1] else m.last  # あっという間(に): the particle adds nothing
        return tokens[last].end - tokens[m.first].begin

    def said_alike(m: PhraseMatch) -> int:
        return sum(1 for k, t in zip(m.phrase.surfaces, tokens[m.first : m.last + 1]) if k == t.surface)

    def stem_said_inflected(m: PhraseMatch) -> bool:
        """The phrase ends in a verb's bare stem (気を付け "attention!") but the verb goes on in speech
        (気を付けた): it is the phrase of the verb's dictionary form (気を付ける)."""
        nxt = tokens[m.last + 1] if m.last + 1 < len(tokens) else None
        return (nxt is not None and (nxt.pos1 == "助動詞" or nxt.pos2 == "接続助詞") and tokens[m.last].pos1 == "動詞"
                and m.phrase.surfaces[-1] != m.phrase.keys[-1] and not m.phrase.mood)

    # ties go to the spelling closest to what was said (すまん over すまない for すま|ん), then by spelling
    cands.sort(key=lambda m: (-span(m), m.first, len(m.phrase.keys), stem_said_inflected(m), -said_alike(m),
                              m.phrase.written))
    taken = [False] * len(tokens)
    chosen: list[PhraseMatch] = []
    for m in cands:
        if any(taken[m.first : m.last + 1]):
            continue
        for k in range(m.first, m.last + 1):
            taken[k] = True
        chosen.append(m)
    return tuple(sorted(chosen, key=lambda m: m.first))
