"""Text readability via jreadability (Lee & Hasebe's formula for Japanese).

The score weighs mean sentence length and the share of kango (Sino-Japanese
words), wago, verbs and particles.  Higher means easier:

    0.5–1.5 upper advanced · 1.5–2.5 lower advanced · 2.5–3.5 upper intermediate
    3.5–4.5 lower intermediate · 4.5–5.5 upper elementary · 5.5–6.5 lower elementary

Casual stream talk usually lands in the elementary/intermediate bands; values
outside 0.5–6.5 happen on very short or unusual text and are returned as is.
jreadability builds a new MeCab (fugashi + unidic-lite) tagger on every call
unless given one, so one tagger is kept per thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from fugashi import Tagger
from jreadability import compute_readability

from aivlingual_assets.analysis.text_pieces import bounded_pieces

__all__ = ["readability_score", "readability_band", "transcript_readability", "as_sentences"]

# characters MeCab is given at once: a few hundred subtitle lines, far below what strains it
PIECE_CHARS = 10_000
_LOCAL = threading.local()
_NON_WORDS = {"補助記号", "空白", "記号"}
_SENTENCE_END = tuple("。！？!?…」』）)～〜ｗw草")

_BANDS = (
    (1.5, "upper advanced"),
    (2.5, "lower advanced"),
    (3.5, "upper intermediate"),
    (4.5, "lower intermediate"),
    (5.5, "upper elementary"),
)


def _tagger() -> Tagger:
    tagger = getattr(_LOCAL, "tagger", None)
    if tagger is None:
        tagger = Tagger()
        _LOCAL.tagger = tagger
    return tagger


def readability_score(text: str | None) -> float | None:
    """Readability of ``text`` (higher = easier), or None when there is nothing to score.

    MeCab never sees more than :data:`PIECE_CHARS` at once (a multi-MB transcript in one
    call took gigabytes and crashed the process): a longer text is scored piece by piece,
    cut at sentence ends, and the scores are averaged weighted by each piece's token count,
    the denominator of the formula's word-class shares.  A text within the bound is scored
    exactly as one piece.
    """
    if text is None or not text.strip():
        return None
    tagger = _tagger()
    total = tokens = 0.0
    for _, piece in bounded_pieces(text, PIECE_CHARS):
        nodes = tagger(piece)
        # Punctuation or whitespace alone has no words to score.
        if not any(node.surface.strip() and node.feature.pos1 not in _NON_WORDS for node in nodes):
            continue
        total += float(compute_readability(piece, tagger)) * len(nodes)
        tokens += len(nodes)
    return round(total / tokens, 3) if tokens else None


def readability_band(score: float | None) -> str | None:
    """Human label of a score (see the module docstring)."""
    if score is None:
        return None
    for upper, label in _BANDS:
        if score < upper:
            return label
    return "lower elementary"


def as_sentences(lines: Iterable[str]) -> str:
    """Subtitle lines as one text of sentences: a line with no closing punctuation ends
    its sentence anyway (a subtitle cue is an utterance), so the formula's mean sentence
    length is not inflated by fusing unpunctuated lines into one run-on sentence."""
    parts = []
    for line in lines:
        line = str(line).strip()
        if line:
            parts.append(line if line.endswith(_SENTENCE_END) else line + "。")
    return "".join(parts)


def transcript_readability(lines: Iterable[str]) -> float | None:
    """Readability of a whole transcript, one subtitle line at least one sentence."""
    return readability_score(as_sentences(lines))
