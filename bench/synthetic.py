"""Synthetic but realistic inputs: a long stream transcript and multi-recording expression tables.

Everything is seeded, so two runs benchmark the same data.
"""

from __future__ import annotations

import random
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .common import REPO_ROOT

GOLD = REPO_ROOT / "aivlingual_tests" / "analysis" / "data" / "gold_stream.yaml"
GOLD_HELDOUT = REPO_ROOT / "aivlingual_tests" / "analysis" / "data" / "gold_stream_heldout.yaml"
SAMPLE_SRT = REPO_ROOT / "examples" / "sample_stream.ja.srt"

# ------------------------------------------------------------------------------------------
# transcript
# ------------------------------------------------------------------------------------------
_CLAUSE_END = re.compile(r"(?<=[、。！？!?…])|(?<=〜)(?=\S)|[ 　]+")


@lru_cache(maxsize=1)
def source_lines() -> tuple[str, ...]:
    """Every line of the two gold transcripts and the bundled sample's subtitles."""
    from aivlingual_assets.analysis.gold import load_gold
    from aivlingual_assets.ingestion.subtitles import parse_subtitle_file

    lines = [line.text for path in (GOLD, GOLD_HELDOUT) for line in load_gold(path).lines]
    lines += [segment.text for segment in parse_subtitle_file(SAMPLE_SRT)]
    return tuple(t.strip() for t in lines if t.strip())


@lru_cache(maxsize=1)
def clauses() -> tuple[str, ...]:
    out: list[str] = []
    for line in source_lines():
        out.extend(c for c in (p.strip() for p in _CLAUSE_END.split(line)) if c)
    return tuple(dict.fromkeys(out))


def stream_transcript(n_lines: int, *, seconds_per_line: float = 2.0, seed: int = 7):
    """``n_lines`` timed lines (``TranscriptLine``) lasting ``n_lines * seconds_per_line`` seconds.

    Lines are the source lines and recombinations of their clauses (1-3 clauses each), so the
    transcript is mostly new sentences rather than one short stream repeated (which would let
    the tokenizer's LRU cache and the dictionary caches serve most of the work).
    """
    from aivlingual_assets.analysis.schemas import TranscriptLine

    rng = random.Random(seed)
    src, parts = source_lines(), clauses()
    texts: list[str] = []
    for i in range(n_lines):
        if rng.random() < 0.25:
            texts.append(src[rng.randrange(len(src))])
        else:
            k = rng.choices((1, 2, 3), weights=(35, 45, 20))[0]
            texts.append("".join(rng.choice(parts) for _ in range(k)))
    weights = [len(t) * 0.12 + 0.8 for t in texts]
    total = n_lines * seconds_per_line
    scale = total / sum(weights)
    lines, t = [], 0.0
    for text, w in zip(texts, weights):
        length = w * scale
        lines.append(TranscriptLine(start=round(t, 2), end=round(t + length * 0.9, 2), text=text))
        t += length
    return lines


# ------------------------------------------------------------------------------------------
# vocabulary stock inputs
# ------------------------------------------------------------------------------------------
# common kana first: readings drawn from a skewed distribution collide like real homophones do
_KANA = list("かいしうきとたんこのてなすつくもにらおはまれりあせさけえみやよわほちそろひふめるどがじごだでばぶぐげずぜぞびぼぱぽ")
_KANA_WEIGHTS = [1.0 / (i + 2) for i in range(len(_KANA))]
_HOMOPHONE_READINGS = ("こう", "しょう", "かん", "せい", "そう", "けん", "じょう", "とう", "ほう", "き", "し", "か")
_KANJI = [chr(c) for c in range(0x4E00, 0x4E00 + 2500)]
_CATEGORIES = ["vocabulary"] * 6 + ["slang", "internet", "vtuber_culture", "grammar", "cultural_reference"]
_LEVELS = ["N5", "N4", "N3", "N3", "N2", "N2", "N1", "slang", "beyond_jlpt"]
_WORDS = (
    "stream chat comment viewer song game cute scary funny tired sleepy happy friend senior junior clip "
    "archive member schedule costume collab support gift luck chance serious really very little quickly "
    "slowly finish start wait forget remember eat drink play sing dance talk listen watch read write"
).split()
_HALF = {}
for _cp in range(0xFF66, 0xFF9E):
    _HALF.setdefault(unicodedata.normalize("NFKC", chr(_cp)), chr(_cp))


def _katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text)


def _halfwidth(text: str) -> str:
    return "".join(_HALF.get(c, c) for c in _katakana(text))


def vocabulary(n_items: int, *, seed: int = 11) -> list[dict]:
    """Distinct items: kanji words, hiragana words and katakana loanwords, with homophones."""
    rng = random.Random(seed)
    items = []
    for i in range(n_items):
        length = rng.choices((2, 3, 4, 5, 6), weights=(15, 35, 30, 15, 5))[0]
        reading = "".join(rng.choices(_KANA, weights=_KANA_WEIGHTS, k=length))
        kind = rng.choices(("kanji", "kana", "loan", "phrase", "homophone"), weights=(50, 18, 22, 8, 2))[0]
        n_kanji = 0
        variant = None
        if kind == "homophone":  # the big Sino-Japanese homophone sets (こう: 高, 校, 候, 効 ...)
            reading = rng.choice(_HOMOPHONE_READINGS)
            n_kanji = rng.randint(1, 2)
            lemma = "".join(rng.choices(_KANJI, k=n_kanji))
            kind = "kanji"
        elif kind == "phrase":  # set phrases (ご視聴ありがとうございました): kanji over some kana runs
            reading = "".join(rng.choices(_KANA, weights=_KANA_WEIGHTS, k=rng.randint(8, 14)))
            parts, pos, spans = [], 0, []
            while pos < len(reading):
                run = rng.randint(1, 2)
                if rng.random() < 0.35:
                    spans.append(len(parts))
                    parts.append([reading[pos : pos + run], rng.choice(_KANJI)])
                else:
                    parts.append([reading[pos : pos + run], None])
                pos += run
            lemma = "".join(k or r for r, k in parts)
            if spans:  # near variant: one kanji written in kana (お疲れ様 -> お疲れさま)
                drop = rng.choice(spans)
                variant = "".join(r if (k is None or i == drop) else k for i, (r, k) in enumerate(parts))
        elif kind == "kanji":
            n_kanji = rng.choices((1, 2, 3), weights=(30, 55, 15))[0]
            okurigana = reading[n_kanji:] if rng.random() < 0.5 else ""
            lemma = "".join(rng.choices(_KANJI, k=n_kanji)) + okurigana
        elif kind == "loan":
            reading = _katakana(reading) + "ー" * rng.randint(0, 1)
            lemma = reading
        else:
            lemma = reading
        items.append({
            "kind": kind, "n_kanji": n_kanji, "near": variant, "lemma": lemma, "reading": reading,
            "meaning": f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} gloss{i}",
            "category": rng.choice(_CATEGORIES), "level": rng.choice(_LEVELS),
            "level_score": round(rng.uniform(0.3, 1.0), 2),
        })
        items[-1]["explanation"] = f"{items[-1]['meaning'].split(' gloss')[0].capitalize()}; used casually on stream."
    return items


def items_for(n_recordings: int, per_recording: int) -> int:
    """Vocabulary size giving ~30 distinct stock rows per recording at 100 expressions each."""
    return max(200, int(n_recordings * per_recording * 0.43))


def _spelling(item: dict, rng: random.Random) -> tuple[str, str]:
    r = rng.random()
    lemma, reading = item["lemma"], item["reading"]
    if r < 0.06:  # exact variant: katakana / half-width spelling, same match key
        return (_halfwidth(lemma) if rng.random() < 0.5 else _katakana(lemma)), _katakana(reading)
    if r < 0.10 and item["near"]:
        return item["near"], reading
    if r < 0.10 and item["kind"] == "kanji" and item["n_kanji"] >= 2:  # near variant: one kanji in kana
        n = item["n_kanji"]  # the last kanji written in kana (お疲れ様 -> お疲れさま)
        return lemma[: n - 1] + reading[n - 1 : n] + lemma[n:], reading
    return lemma, reading


def expression_table(recordings: list[str], vocab: list[dict], *, per_recording: int = 100,
                     seed: int = 13) -> pd.DataFrame:
    """Expression rows (pipeline's ``difficulty`` asset columns) for the given recordings.

    Half of each recording's items come from a popular core (greetings, slang seen in every
    stream), half from the long tail, so the stock holds far fewer rows than the table.
    """
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    per = min(per_recording, len(vocab))
    core = max(10, len(vocab) // 15)
    core_p = 1.0 / np.arange(1, core + 1) ** 0.8
    core_p /= core_p.sum()
    columns: dict[str, list] = {c: [] for c in _TABLE_COLUMNS}
    for recording in recordings:
        picks = np.concatenate([nrng.choice(core, size=per, p=core_p), nrng.integers(0, len(vocab), size=per)])
        nrng.shuffle(picks)
        chosen = list(dict.fromkeys(picks.tolist()))[:per]
        offsets = np.cumsum(nrng.uniform(5.0, 60.0, size=len(chosen))).round(2).tolist()
        title = f"Stream {recording}"
        for idx, t in zip(chosen, offsets):
            item = vocab[idx]
            lemma, reading = _spelling(item, rng)
            values = (
                recording, title, lemma, lemma, reading, item["meaning"], item["category"], item["explanation"],
                f"{lemma}って言ってたよね、{reading}", t, round(t + 3.5, 2),
                f"https://www.youtube.com/watch?v={recording}&t={int(t)}s", item["level"], item["level_score"],
                "offline:jmdict", "synthetic",
            )
            for name, value in zip(_TABLE_COLUMNS, values):
                columns[name].append(value)
    return pd.DataFrame(columns)


_TABLE_COLUMNS = (
    "recording", "recording_title", "expression", "lemma", "reading", "meaning", "category", "explanation",
    "example", "start", "end", "url", "level", "level_score", "level_method", "level_reason",
)


def recording_names(n: int, prefix: str = "file-") -> list[str]:
    return [f"{prefix}{i:012x}" for i in range(n)]


def gold_paths() -> list[Path]:
    return [GOLD, GOLD_HELDOUT]


@lru_cache(maxsize=2)
def recordings_table(n_recordings: int, per_recording: int = 100) -> tuple[tuple[dict, ...], pd.DataFrame]:
    """(vocabulary, expression table of ``n_recordings`` recordings); cached per process.

    The vocabulary has room for one more recording's new items (see ``new_recording``).
    """
    vocab = vocabulary(items_for(n_recordings + 1, per_recording))
    table = expression_table(recording_names(n_recordings), vocab, per_recording=per_recording)
    return tuple(vocab), table


def new_recording(vocab, per_recording: int = 100) -> pd.DataFrame:
    """One more recording drawn like the others (popular core + long tail), never seen before."""
    return expression_table(["file-newrecording0"], list(vocab), per_recording=per_recording, seed=99)
