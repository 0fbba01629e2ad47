"""Synthetic expression tables with known ground truth for stock-merging tests.

Every vocabulary item has a unique reading.  Rows of an item come as exact spelling
variants (katakana / half-width / long-vowel forms: same match key), near variants (one
kanji of the lemma written in kana: different key, same reading, same meaning) and, for
some items, a homophone decoy item (same reading, different kanji and meaning) that must
never be merged with it.
"""

from __future__ import annotations

import random
import unicodedata

import pandas as pd

_KANA = [chr(c) for c in range(0x3042, 0x3094) if chr(c) not in "ぁぃぅぇぉっゃゅょゎゐゑ"]
_KANJI = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
_CATEGORIES = ["slang", "greeting", "vtuber_culture", "gaming", "emotion", "grammar"]


def _katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text)


# half-width katakana, found by inverting NFKC (which maps ｶ → カ); voiced kana keep
# their full-width form, which is still an exact variant after normalisation
_HALF = {}
for _cp in range(0xFF66, 0xFF9E):
    _HALF.setdefault(unicodedata.normalize("NFKC", chr(_cp)), chr(_cp))


def _halfwidth_katakana(text: str) -> str:
    return "".join(_HALF.get(ch, ch) for ch in _katakana(text))


def synthetic_expressions(
    n_rows: int, *, seed: int = 0, n_recordings: int = 50
) -> tuple[pd.DataFrame, list[int]]:
    """(expression table, item id of every row).  Rows of one item must end in one
    stock row; rows of different items in different stock rows."""
    rng = random.Random(seed)
    n_items = max(2, n_rows // 4)
    readings: set[str] = set()
    items = []
    for item in range(n_items):
        decoy_of = item - 1 if item % 10 == 9 and items[item - 1]["kanji"] else None
        if decoy_of is not None:
            reading = items[decoy_of]["reading"]
        else:
            while True:
                reading = "".join(rng.choices(_KANA, k=rng.randint(6, 9)))
                if reading not in readings:
                    break
        readings.add(reading)
        kanji = decoy_of is not None or rng.random() < 0.6
        head = "".join(rng.choices(_KANJI, k=2)) if kanji else ""
        lemma = head + reading[3:] if kanji else reading
        items.append(
            {
                "reading": reading,
                "kanji": kanji,
                "head": head,
                "lemma": lemma,
                "meaning": f"gloss{item} sense{item}",
                "category": rng.choice(_CATEGORIES),
                "level_score": round(rng.uniform(1, 6), 2),
            }
        )

    rows, truth = [], []
    for r in range(n_rows):
        item = r % n_items if r < n_items else rng.randrange(n_items)
        it = items[item]
        kind = "plain" if r < n_items else rng.choice(["plain", "exact", "near"])
        lemma, reading, meaning = it["lemma"], it["reading"], it["meaning"]
        if kind == "exact":
            lemma = _halfwidth_katakana(lemma) if rng.random() < 0.5 else _katakana(lemma)
            reading = _katakana(reading)
        elif kind == "near" and it["kanji"]:
            lemma = it["head"][0] + it["reading"][1:]  # second kanji spelled in kana
            if rng.random() < 0.3:
                meaning = meaning + " (casual)"
        recording = f"rec{rng.randrange(n_recordings):03d}"
        rows.append(
            {
                "recording": recording,
                "recording_title": f"Stream {recording}",
                "expression": lemma,
                "lemma": lemma,
                "reading": reading,
                "meaning": meaning,
                "category": it["category"],
                "explanation": "",
                "example": "",
                "start": float(r),  # unique per row → every row is its own occurrence
                "end": float(r) + 1.5,
                "url": f"https://www.youtube.com/watch?v={recording}&t={r}s",
                "level": "N3",
                "level_score": it["level_score"],
            }
        )
        truth.append(item)
    return pd.DataFrame(rows), truth
