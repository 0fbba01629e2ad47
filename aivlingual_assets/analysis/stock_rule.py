"""The near-duplicate rule: may two embedding-similar expressions be merged?

A candidate pair is accepted only if the two share the normalised lemma *or* the
normalised reading, *and* their meanings are compatible (either blank, or they share
content words).  So spelling variants (お疲れ様でした / お疲れさまでした) merge while
homophones (橋 "bridge" / 箸 "chopsticks", both はし) never do, whatever the threshold.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .kana import normalize
from .stock_columns import clean_text


_STOPWORDS = frozenset(
    "a an the to of in on at for and or be is are was it its this that as by with "
    "from one's someone something sb sth".split()
)
_WORD = re.compile(r"[a-z0-9']+")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


@lru_cache(maxsize=65_536)
def _meaning_tokens(meaning: str) -> frozenset[str]:
    """Content tokens of a gloss: English words (light plural stripping) and character
    bigrams of Japanese runs, so both English and Japanese glosses can be compared."""
    text = unicodedata.normalize("NFKC", meaning).casefold()
    tokens: set[str] = set()
    for word in _WORD.findall(text):
        word = word.strip("'")
        if len(word) < 2 or word in _STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        tokens.add(word)
    for run in _NON_ASCII_RUN.findall(text):
        run = normalize(run)
        if len(run) == 1:
            tokens.add(run)
        tokens.update(run[i : i + 2] for i in range(len(run) - 1))
    return frozenset(tokens)


def meanings_compatible(a: str, b: str) -> bool:
    """Could these two glosses describe the same expression?

    Blank (unknown) meanings are compatible with anything.  Otherwise at least half of
    the smaller gloss's content tokens must occur in the other ("bridge" vs "chopsticks"
    → no; "cute" vs "cute, adorable" → yes).
    """
    a, b = clean_text(a), clean_text(b)
    if not a or not b:
        return True
    ta, tb = _meaning_tokens(a), _meaning_tokens(b)
    if not ta or not tb:  # only stopwords/punctuation: as uninformative as a blank
        return True
    return len(ta & tb) / min(len(ta), len(tb)) >= 0.5


def near_duplicate_compatible(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """May two embedding-similar expressions be merged?  (the rule in the module doc)

    ``a``/``b`` need ``lemma``, ``reading`` and ``meaning`` (``expression`` is used when
    the lemma is blank).
    """
    return rule_on_normalised(
        normalize(clean_text(a.get("lemma")) or clean_text(a.get("expression"))),
        normalize(clean_text(a.get("reading"))),
        clean_text(a.get("meaning")),
        normalize(clean_text(b.get("lemma")) or clean_text(b.get("expression"))),
        normalize(clean_text(b.get("reading"))),
        clean_text(b.get("meaning")),
    )


def rule_on_normalised(
    lemma_a: str, reading_a: str, meaning_a: str, lemma_b: str, reading_b: str, meaning_b: str
) -> bool:
    same_lemma = bool(lemma_a) and lemma_a == lemma_b
    same_reading = bool(reading_a) and reading_a == reading_b
    return (same_lemma or same_reading) and meanings_compatible(meaning_a, meaning_b)
