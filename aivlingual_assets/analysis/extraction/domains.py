"""The subject fields a recording is about, read from its own words.

Why: JMdict tags senses with a field (baseball, computing, food ...). A word whose
only senses are of one field (盗塁 "base stealing", 打線 "batting lineup") says what
the talk is about; in a baseball thread 中継ぎ is then "middle relief pitcher", not
"joining", and 一軍 the "first string players", not "one army". A field counts once
``MIN_WORDS`` different words of that field alone are said, so one stray term does not
turn a chat into a lecture, and only when they are a noticeable share (``MIN_SHARE``) of
the recording's distinct words: a long talk that mentions パソコン and インターネット is not
about computing, a baseball thread where every tenth word is baseball is about baseball.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from aivlingual_assets.analysis import dictionary
from aivlingual_assets.analysis.extraction.line import Line

__all__ = ["recording_domains", "MIN_WORDS", "MIN_SHARE"]

MIN_WORDS = 3
MIN_SHARE = 0.005
# A specific sport implies JMdict's general "sports" field (一軍, 先発).
_PARENT = {"baseball": "sports", "sumo": "sports", "martial arts": "sports", "horse-racing": "sports"}
_CONTENT_POS = ("名詞", "動詞")


def recording_domains(lines: Iterable[Line]) -> frozenset[str]:
    """Fields that enough distinct single-field words of the recording belong to (see module doc)."""
    votes: Counter[str] = Counter()
    seen: set[str] = set()
    for pl in lines:
        for t in pl.tokens:
            if t.pos1 not in _CONTENT_POS or t.is_oov or t.dictionary_form in seen:
                continue
            seen.add(t.dictionary_form)
            entry = dictionary.lookup(t.dictionary_form, pos=t.pos1)
            if entry is None or not entry.sense_fields or not all(entry.sense_fields):
                continue
            for f in set.intersection(*(set(fs) for fs in entry.sense_fields)):
                votes[f] += 1
    fields = {f for f, n in votes.items() if n >= MIN_WORDS and n >= MIN_SHARE * len(seen)}
    return frozenset(fields | {_PARENT[f] for f in fields if f in _PARENT})
