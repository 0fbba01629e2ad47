"""Curated collocations and idioms that JMdict lacks (値が下がる, 相性が悪い), matched like its expressions.

Why: a teacher picks units such as 相性が悪い from real speech, where the verb or adjective a noun
takes is not predictable from the words; JMdict lists many such units but far from all. The entries
of ``data/collocations.yaml`` join JMdict's expressions in the phrase index (analysis/phrases.py), so
they are found across inflection, drifting particles and a particle dropped in speech, and the set
phrase item is built from them as from a JMdict entry (:func:`collocation_entry`). Each entry says
where its meaning was checked (``source``).

Curated entries carry negative ids (``-1`` for the first), so they never collide with a JMdict
``idseq``; an entry's id is its place in the file, and the phrase index is rebuilt when the file
changes (:func:`fingerprint` is part of the index's cache key).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aivlingual_assets.analysis.dictionary import DictEntry
from aivlingual_assets.analysis.lexicon import load_data_yaml
from aivlingual_assets.analysis.schemas import Level
from aivlingual_assets.analysis.tokenizer import has_kanji, is_kana

__all__ = ["Collocation", "collocations", "collocation_forms", "collocation_entry", "find_collocation", "fingerprint"]

_FILE = "collocations.yaml"
_EXPRESSION_POS = "expressions (phrases, clauses, etc.)"
_KIND_MISC = {"idiom": "idiomatic expression", "collocation": "collocation", "set_phrase": "set phrase"}


class Collocation(BaseModel):
    """One curated unit, in dictionary form with its particle (値が下がる)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phrase: str
    variants: list[str] = Field(default_factory=list)
    reading: str
    meaning: str  # senses separated by " / ", glosses by "; "
    kind: Literal["collocation", "idiom", "set_phrase"]
    level: Optional[Level] = None
    source: str

    @field_validator("reading")
    @classmethod
    def _kana_reading(cls, v: str) -> str:
        if not is_kana(v.replace("ー", "")):
            raise ValueError(f"reading must be kana: {v!r}")
        return v

    @property
    def spellings(self) -> list[str]:
        return list(dict.fromkeys([self.phrase, *self.variants]))

    @property
    def senses(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(g.strip() for g in sense.split(";") if g.strip()) for sense in self.meaning.split(" / "))


def _raw() -> bytes:
    path = resources.files("aivlingual_assets.analysis").joinpath("data", _FILE)
    return path.read_bytes() if path.is_file() else b""


def fingerprint() -> str:
    """Changes whenever the curated file does (part of the phrase index's cache key)."""
    return hashlib.sha256(_raw()).hexdigest()[:16]


@lru_cache(maxsize=1)
def collocations() -> tuple[Collocation, ...]:
    """The curated entries, validated once per process; a malformed file fails loudly, naming the entry."""
    if not _raw():
        return ()
    data = load_data_yaml(_FILE) or {}
    out: list[Collocation] = []
    for i, item in enumerate(data.get("collocations") or []):
        try:
            out.append(Collocation.model_validate(item))
        except ValueError as exc:
            raise ValueError(f"{_FILE}: entry {i + 1} ({item.get('phrase') if isinstance(item, dict) else item!r}) is invalid: {exc}") from exc
    return tuple(out)


def _id(index: int) -> int:
    return -(index + 1)


def collocation_forms() -> list[tuple[int, str, bool]]:
    """``(id, spelling, is_word)`` rows for the phrase index, like JMdict's expressions."""
    return [(_id(i), spelling, False) for i, c in enumerate(collocations()) for spelling in c.spellings]


@lru_cache(maxsize=1)
def _by_spelling() -> dict[str, Collocation]:
    out: dict[str, Collocation] = {}
    for c in collocations():
        for spelling in c.spellings:
            out.setdefault(spelling, c)
    return out


def find_collocation(lemma: str) -> Collocation | None:
    """The curated unit spelt ``lemma`` (any of its spellings), if any."""
    return _by_spelling().get(lemma.lstrip("〜~"))


@lru_cache(maxsize=4096)
def collocation_entry(idseq: int) -> DictEntry | None:
    """The curated unit with phrase-index id ``idseq`` as a dictionary entry (None for a JMdict id)."""
    entries = collocations()
    if idseq >= 0 or -idseq > len(entries):
        return None
    c = entries[-idseq - 1]
    senses = c.senses
    misc = (_KIND_MISC[c.kind],)
    return DictEntry(
        idseq=idseq,
        written=c.phrase,
        reading=c.reading,
        glosses=senses[0],
        pos=(_EXPRESSION_POS,),
        misc=misc,
        priority=(),
        senses=senses,
        sense_pos=tuple((_EXPRESSION_POS,) for _ in senses),
        sense_misc=tuple(misc for _ in senses),
        sense_fields=tuple(() for _ in senses),
        kanji_forms=tuple(s for s in c.spellings if has_kanji(s)),
        kana_forms=(c.reading,),
    )
