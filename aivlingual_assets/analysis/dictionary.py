"""Offline JMdict / KANJIDIC look-ups against the SQLite file that ``jamdict-data`` ships.

Why not ``Jamdict().lookup``: it costs ~40 ms per word (it materialises every
entry, name and kanji as Python objects), i.e. over a minute for the ~1,500
distinct words of a one-hour stream.  Reading the same database directly with
``sqlite3``, fetching all candidates of a batch of words in a handful of
``IN (...)`` queries, costs ~2 ms per word cold and nothing once cached.  The
database file is located through jamdict itself (``jamdict_data.JAMDICT_DB_PATH``,
else ``Jamdict().db_file``) so it is the exact data jamdict would use, offline.
``AIVLINGUAL_JMDICT_DB`` overrides the path.

Results are cached per process (by written form); :func:`prefetch` warms the
cache for a whole transcript in one go.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from aivlingual_assets.analysis.tokenizer import katakana_to_hiragana

__all__ = [
    "DictEntry",
    "KanjiInfo",
    "COMMON_TAGS",
    "jmdict_db_path",
    "lookup",
    "lookup_all",
    "prefetch",
    "kanji_info",
    "is_name",
    "cache_clear",
]

COMMON_TAGS = frozenset({"news1", "ichi1", "spec1", "spec2", "gai1"})
_BATCH = 500  # SQLite host-parameter budget per IN (...)
LOW_VALUE_MISC = frozenset({"archaism", "obsolete term", "obscure term", "rare", "dated term", "historical term"})
_USUALLY_KANA = "word usually written using kana alone"


@dataclass(frozen=True, slots=True)
class DictEntry:
    """The JMdict entry that best fits a word as used, seen from the form that matched."""

    idseq: int
    written: str  # the form that matched the query (kanji or kana spelling)
    reading: str  # kana reading (hiragana for native words, katakana for loanwords)
    glosses: tuple[str, ...]  # English glosses of the first applicable sense
    pos: tuple[str, ...]  # JMdict parts of speech of that sense
    misc: tuple[str, ...]  # JMdict usage notes of that sense (slang, usually kana, ...)
    priority: tuple[str, ...]  # news1/ichi1/spec1/gai1/nfXX of the matched form
    senses: tuple[tuple[str, ...], ...] = ()  # glosses of every applicable sense, most plausible first
    sense_pos: tuple[tuple[str, ...], ...] = ()  # parts of speech of each sense (same order)
    sense_misc: tuple[tuple[str, ...], ...] = ()  # usage notes of each sense (same order)
    sense_fields: tuple[tuple[str, ...], ...] = ()  # special field of each sense (histology, baseball ...)
    kanji_forms: tuple[str, ...] = ()
    kana_forms: tuple[str, ...] = ()

    @property
    def frequency_band(self) -> int | None:
        """JMdict ``nfXX`` band: 1 = the 500 most frequent newspaper words, 48 = the rarest."""
        bands = [int(p[2:]) for p in self.priority if p.startswith("nf") and p[2:].isdigit()]
        return min(bands) if bands else None

    @property
    def is_common(self) -> bool:
        """JMdict's own definition of a "common word" (any of the *1 lists or spec2)."""
        return any(p in COMMON_TAGS for p in self.priority)

    @property
    def usually_kana(self) -> bool:
        """JMdict says the word is usually written in kana alone (in any sense)."""
        return any(_USUALLY_KANA in m for ms in (self.misc, *self.sense_misc) for m in ms)

    @property
    def all_senses_low_value(self) -> bool:
        """Every sense is archaic, obsolete, obscure or rare: in live speech, likely a mis-hearing."""
        return bool(self.sense_misc) and all(any(m in LOW_VALUE_MISC for m in ms) for ms in self.sense_misc)

    @property
    def meaning(self) -> str:
        """A compact English meaning: the first three glosses of the first sense."""
        return "; ".join(self.glosses[:3])


@dataclass(frozen=True, slots=True)
class KanjiInfo:
    literal: str
    grade: int | None  # 1-6 elementary school year, 8 secondary, 9/10 name-use (jinmeiyō)
    jlpt_old: int | None  # pre-2010 JLPT level 4 (easiest) .. 1 (hardest)
    frequency: int | None  # newspaper frequency rank 1..2500


# ---------------------------------------------------------------- raw rows
@dataclass(slots=True)
class _Form:
    text: str
    priority: tuple[str, ...]
    restrictions: tuple[str, ...] = ()  # kana only: kanji forms it belongs to
    nokanji: bool = False


@dataclass(slots=True)
class _Sense:
    glosses: tuple[str, ...]
    pos: tuple[str, ...]
    misc: tuple[str, ...]
    stagk: tuple[str, ...]
    stagr: tuple[str, ...]
    field: tuple[str, ...] = ()  # domain (Buddhism, mahjong, baseball ...)


@dataclass(slots=True)
class _Entry:
    idseq: int
    kanji: list[_Form] = field(default_factory=list)
    kana: list[_Form] = field(default_factory=list)
    senses: list[_Sense] = field(default_factory=list)


def jmdict_db_path() -> str:
    """Path of jamdict's bundled SQLite database (no network needed)."""
    override = os.environ.get("AIVLINGUAL_JMDICT_DB", "").strip()
    if override:
        return override
    try:
        import jamdict_data

        if os.path.isfile(jamdict_data.JAMDICT_DB_PATH):
            return jamdict_data.JAMDICT_DB_PATH
    except ImportError:  # pragma: no cover - jamdict-data is a hard dependency
        pass
    from jamdict import Jamdict  # pragma: no cover

    path = Jamdict().db_file  # pragma: no cover
    if not path or not os.path.isfile(path):  # pragma: no cover
        raise FileNotFoundError("JMdict database not found: install jamdict-data")
    return path  # pragma: no cover


_LOCAL = threading.local()
_LOCK = threading.Lock()
_CANDIDATES: dict[str, tuple[_Entry, ...]] = {}


def _forget_connection_after_fork() -> None:
    """A forked child (the engine's workers, ``engine_workers``) opens its own connection: SQLite's are not
    to be carried across ``fork``."""
    _LOCAL.conn = None


os.register_at_fork(after_in_child=_forget_connection_after_fork)


def _conn() -> sqlite3.Connection:
    conn = getattr(_LOCAL, "conn", None)
    if conn is None:
        uri = f"file:{jmdict_db_path()}?mode=ro&immutable=1"
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        _LOCAL.conn = conn
    return conn


def _chunks(items: list, size: int = _BATCH) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _select(conn: sqlite3.Connection, sql: str, keys: list) -> list[tuple]:
    rows: list[tuple] = []
    for chunk in _chunks(keys):
        marks = ",".join("?" * len(chunk))
        rows.extend(conn.execute(sql.format(marks=marks), chunk).fetchall())
    return rows


def _group(rows: Iterable[tuple]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for key, text in rows:
        out[key].append(text)
    return out


def _fetch(texts: list[str]) -> dict[str, tuple[_Entry, ...]]:
    """All JMdict entries having any of ``texts`` as a kanji or kana form."""
    conn = _conn()
    hits: dict[str, set[int]] = defaultdict(set)
    for idseq, text in _select(conn, "SELECT idseq, text FROM Kanji WHERE text IN ({marks})", texts):
        hits[text].add(idseq)
    for idseq, text in _select(conn, "SELECT idseq, text FROM Kana WHERE text IN ({marks})", texts):
        hits[text].add(idseq)
    idseqs = sorted({i for s in hits.values() for i in s})
    entries: dict[int, _Entry] = {i: _Entry(i) for i in idseqs}
    if idseqs:
        kanji_rows = _select(
            conn, "SELECT ID, idseq, text FROM Kanji WHERE idseq IN ({marks}) ORDER BY ID", idseqs
        )
        kana_rows = _select(
            conn,
            "SELECT ID, idseq, text, nokanji FROM Kana WHERE idseq IN ({marks}) ORDER BY ID",
            idseqs,
        )
        kjp = _group(_select(conn, "SELECT kid, text FROM KJP WHERE kid IN ({marks})", [r[0] for r in kanji_rows]))
        kana_ids = [r[0] for r in kana_rows]
        knp = _group(_select(conn, "SELECT kid, text FROM KNP WHERE kid IN ({marks})", kana_ids))
        knr = _group(_select(conn, "SELECT kid, text FROM KNR WHERE kid IN ({marks})", kana_ids))
        for kid, idseq, text in kanji_rows:
            entries[idseq].kanji.append(_Form(text, tuple(kjp.get(kid, ()))))
        for kid, idseq, text, nokanji in kana_rows:
            entries[idseq].kana.append(
                _Form(text, tuple(knp.get(kid, ())), tuple(knr.get(kid, ())), bool(nokanji))
            )
        sense_rows = _select(
            conn, "SELECT ID, idseq FROM Sense WHERE idseq IN ({marks}) ORDER BY ID", idseqs
        )
        sids = [r[0] for r in sense_rows]
        gloss = _group(
            _select(
                conn,
                "SELECT sid, text FROM SenseGloss WHERE +lang='eng' AND sid IN ({marks}) ORDER BY rowid",
                sids,
            )
        )
        pos = _group(_select(conn, "SELECT sid, text FROM pos WHERE sid IN ({marks}) ORDER BY rowid", sids))
        misc = _group(_select(conn, "SELECT sid, text FROM misc WHERE sid IN ({marks})", sids))
        stagk = _group(_select(conn, "SELECT sid, text FROM stagk WHERE sid IN ({marks})", sids))
        stagr = _group(_select(conn, "SELECT sid, text FROM stagr WHERE sid IN ({marks})", sids))
        fields = _group(_select(conn, "SELECT sid, text FROM field WHERE sid IN ({marks})", sids))
        last_pos: dict[int, tuple[str, ...]] = {}
        for sid, idseq in sense_rows:
            # JMdict lets a sense inherit the previous sense's part of speech.
            p = tuple(pos.get(sid, ())) or last_pos.get(idseq, ())
            last_pos[idseq] = p
            entries[idseq].senses.append(
                _Sense(
                    tuple(gloss.get(sid, ())),
                    p,
                    tuple(misc.get(sid, ())),
                    tuple(stagk.get(sid, ())),
                    tuple(stagr.get(sid, ())),
                    tuple(fields.get(sid, ())),
                )
            )
    return {t: tuple(entries[i] for i in sorted(hits.get(t, ()))) for t in texts}


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def prefetch(words: Iterable[str]) -> None:
    """Load every uncached word of a batch with one set of queries (call before a loop)."""
    wanted = sorted({_normalise(w) for w in words if w and w.strip()})
    with _LOCK:
        missing = [w for w in wanted if w not in _CANDIDATES]
    if not missing:
        return
    found = _fetch(missing)
    with _LOCK:
        _CANDIDATES.update(found)


def _candidates(text: str) -> tuple[_Entry, ...]:
    text = _normalise(text)
    if not text:
        return ()
    with _LOCK:
        hit = _CANDIDATES.get(text)
    if hit is None:
        prefetch([text])
        with _LOCK:
            hit = _CANDIDATES.get(text, ())
    return hit


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


# Sudachi's first-level part of speech -> substrings of JMdict POS descriptions.
_POS_HINTS = {
    "名詞": ("noun",),
    "noun": ("noun",),
    "動詞": ("verb",),
    "verb": ("verb",),
    "形容詞": ("adjective (keiyoushi)",),
    "adjective": ("adjective (keiyoushi)",),
    "形状詞": ("adjectival nouns", "'taru' adjective"),
    "na-adjective": ("adjectival nouns",),
    "副詞": ("adverb",),
    "adverb": ("adverb",),
    "感動詞": ("interjection",),
    "interjection": ("interjection",),
    "接頭辞": ("prefix",),  # 非 in 非寛容 is "non-", not "fault"
    "接尾辞": ("suffix",),  # 数 in 投球数 is "number of", 点 in 反省点 "point"
}


def _pos_fits(sense_pos: Iterable[str], hint: tuple[str, ...]) -> bool:
    return any(h in p for p in sense_pos for h in hint)


def _priority_value(tags: Iterable[str]) -> float:
    tags = tuple(tags)
    value = 0.0
    common = [t for t in tags if t in COMMON_TAGS]
    if common:
        value += 1.5 + 0.5 * len(common)
    bands = [int(t[2:]) for t in tags if t.startswith("nf") and t[2:].isdigit()]
    if bands:
        value += (49 - min(bands)) / 48
    elif tags:
        value += 0.25
    return value


def _resolve(entry: _Entry, text: str, reading: str | None, pos: str | None = None) -> tuple[float, DictEntry]:
    """Score how well ``entry`` fits (text, reading, part of speech) and project it onto that form."""
    hira = katakana_to_hiragana(reading) if reading else None
    kanji = next((k for k in entry.kanji if k.text == text), None)
    kana_match = next((k for k in entry.kana if k.text == text), None)

    kana_options = [
        k for k in entry.kana if kanji is None or (not k.nokanji and (not k.restrictions or text in k.restrictions))
    ] or entry.kana
    if kana_match is not None:
        chosen = kana_match
    elif hira:
        chosen = max(
            kana_options,
            key=lambda k: (katakana_to_hiragana(k.text) == hira, _common_prefix(katakana_to_hiragana(k.text), hira)),
        )
    else:
        chosen = kana_options[0]

    senses = [
        s
        for s in entry.senses
        if (not s.stagk or (kanji is not None and text in s.stagk))
        and (not s.stagr or chosen.text in s.stagr)
        and s.glosses
    ] or [s for s in entry.senses if s.glosses]
    hint = _POS_HINTS.get(pos or "", ())
    pos_fit = bool(hint) and any(_pos_fits(s.pos, hint) for s in senses)
    # The sense used as that part of speech comes first (いっぱい the adverb); archaic, obscure
    # and rare senses, then senses of a special field (Buddhism, mahjong), go last.
    senses = sorted(
        senses,
        key=lambda s: (
            pos_fit and not _pos_fits(s.pos, hint),
            any(m in LOW_VALUE_MISC for m in s.misc),
            bool(s.field),
        ),
    )
    first = senses[0] if senses else _Sense((), (), (), (), ())

    if kanji is not None:
        priority = kanji.priority
        if not priority and _USUALLY_KANA in first.misc:
            priority = chosen.priority
    else:
        priority = chosen.priority

    score = _priority_value(priority)
    if hira:
        ch = katakana_to_hiragana(chosen.text)
        if ch == hira:
            score += 4.0
        else:
            score += 2.0 * _common_prefix(ch, hira) / max(len(hira), 1)
    if kanji is None and (
        not entry.kanji or chosen.nokanji or any(_USUALLY_KANA in s.misc for s in senses)
    ):
        score += 1.0  # a kana query fits words that are normally written in kana
    if pos_fit:
        score += 1.5
    if any(m in LOW_VALUE_MISC for m in first.misc):
        score -= 1.5

    resolved = DictEntry(
        idseq=entry.idseq,
        written=text,
        reading=chosen.text,
        glosses=first.glosses,
        pos=first.pos,
        misc=first.misc,
        priority=tuple(priority),
        senses=tuple(s.glosses for s in senses),
        sense_pos=tuple(s.pos for s in senses),
        sense_misc=tuple(s.misc for s in senses),
        sense_fields=tuple(s.field for s in senses),
        kanji_forms=tuple(k.text for k in entry.kanji),
        kana_forms=tuple(k.text for k in entry.kana),
    )
    return score, resolved


@lru_cache(maxsize=131072)
def _lookup_cached(text: str, reading: str | None, pos: str | None) -> tuple[DictEntry, ...]:
    scored = [_resolve(e, text, reading, pos) for e in _candidates(text)]
    scored.sort(key=lambda pair: (-pair[0], pair[1].idseq))
    return tuple(entry for _, entry in scored)


def lookup_all(lemma: str, reading: str | None = None, *, pos: str | None = None) -> list[DictEntry]:
    """Every entry spelled ``lemma``, best fit first.

    ``reading`` (kana) and ``pos`` (Sudachi's 名詞/動詞/形容詞/形状詞/副詞, or noun/verb/
    adjective/na-adjective/adverb) break ties between homographs and pick the sense
    used as that part of speech."""
    text = _normalise(lemma)
    if not text:
        return []
    return list(_lookup_cached(text, reading or None, pos or None))


def lookup(lemma: str, reading: str | None = None, *, pos: str | None = None) -> DictEntry | None:
    """The most plausible JMdict entry for a dictionary form (and optional kana reading / POS)."""
    hits = lookup_all(lemma, reading, pos=pos)
    return hits[0] if hits else None


@lru_cache(maxsize=1)
def _kanji_table() -> dict[str, KanjiInfo]:
    def as_int(v):
        try:
            return int(v) if v not in (None, "") else None
        except ValueError:
            return None

    rows = _conn().execute("SELECT literal, grade, jlpt, freq FROM character").fetchall()
    return {lit: KanjiInfo(lit, as_int(g), as_int(j), as_int(f)) for lit, g, j, f in rows}


def kanji_info(char: str) -> KanjiInfo | None:
    """KANJIDIC facts for one kanji (school grade, old JLPT level, frequency rank)."""
    return _kanji_table().get(char)


@lru_cache(maxsize=8192)
def is_name(text: str) -> bool:
    """``text`` is a spelling JMnedict (the names dictionary shipped beside JMdict) lists: a place,
    company, product or person (甲子園, 新東名)."""
    return _conn().execute("SELECT 1 FROM NEKanji WHERE text = ? LIMIT 1", (text,)).fetchone() is not None


def cache_clear() -> None:
    """Forget cached look-ups (tests; or after pointing AIVLINGUAL_JMDICT_DB elsewhere)."""
    with _LOCK:
        _CANDIDATES.clear()
    _lookup_cached.cache_clear()
    _kanji_table.cache_clear()
    is_name.cache_clear()
    if getattr(_LOCAL, "conn", None) is not None:
        _LOCAL.conn.close()
        _LOCAL.conn = None
