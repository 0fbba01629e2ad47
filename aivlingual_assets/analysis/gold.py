"""Precision / recall of extracted expressions against a teacher's gold list.

A plain function so the unit tests and the extractor benchmark (offline engine
vs LLM providers) score the same way.  A prediction matches a gold item when
its lemma or its expression equals the gold lemma, expression or any listed
variant, compared after NFKC, lower-casing and dropping a leading 〜.  Matching
is one-to-one: a gold item is credited once and a prediction counts once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import yaml
from pydantic import BaseModel, Field

from aivlingual_assets.analysis.lexicon import fold
from aivlingual_assets.analysis.schemas import Category, Expression, TranscriptLine

__all__ = ["GoldItem", "GoldSet", "precision_recall", "load_gold"]


class GoldItem(BaseModel):
    """One item a teacher expects to be extracted."""

    lemma: str = Field(description="Dictionary form, or the grammar pattern (〜てしまう).")
    reading: Optional[str] = Field(default=None, description="Kana reading (informative; not used for matching).")
    category: Optional[Category] = Field(default=None, description="Expected category (informative; reported, not required).")
    expression: Optional[str] = Field(default=None, description="The form as said, if it differs from the lemma.")
    variants: list[str] = Field(default_factory=list, description="Other spellings or forms that also count as a hit.")

    def keys(self) -> set[str]:
        return {fold(k) for k in (self.lemma, self.expression, *self.variants) if k and fold(k)}


class GoldSet(BaseModel):
    recording: str = ""
    title: str = ""
    lines: list[TranscriptLine]
    gold: list[GoldItem]


def load_gold(path: str | Path) -> GoldSet:
    """Read a gold YAML file (``lines`` + ``gold``)."""
    data = yaml.safe_load(Path(path).read_text("utf-8"))
    return GoldSet(**data)


def _pred_keys(e: Expression) -> set[str]:
    return {fold(k) for k in (e.lemma, e.expression) if k and fold(k)}


def precision_recall(predicted: Sequence[Expression], gold: Sequence[GoldItem]) -> dict:
    """Scores and the lists behind them.

    Returns ``precision``, ``recall``, ``f1``, counts ``tp``/``fp``/``fn``,
    ``category_agreement`` (share of matched pairs whose category also agrees),
    and ``matched`` (gold lemma, predicted lemma), ``missed`` (gold lemmas) and
    ``extra`` (predicted lemmas) for inspection.
    """
    pred_keys = [_pred_keys(p) for p in predicted]
    used = [False] * len(predicted)
    matched: list[tuple[str, str]] = []
    missed: list[str] = []
    same_category = 0
    for g in gold:
        keys = g.keys()
        candidates = [i for i, pk in enumerate(pred_keys) if not used[i] and pk & keys]
        if not candidates:
            missed.append(g.lemma)
            continue
        # prefer the exact lemma, then the expected category, then the earliest prediction
        best = min(
            candidates,
            key=lambda i: (
                fold(predicted[i].lemma) != fold(g.lemma),
                g.category is None or predicted[i].category != g.category,
                i,
            ),
        )
        used[best] = True
        matched.append((g.lemma, predicted[best].lemma))
        if g.category is not None and predicted[best].category == g.category:
            same_category += 1
    tp = len(matched)
    fp = len(predicted) - tp
    fn = len(missed)
    precision = tp / len(predicted) if predicted else 0.0
    recall = tp / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "category_agreement": same_category / tp if tp else 0.0,
        "matched": matched,
        "missed": missed,
        "extra": [p.lemma for p, u in zip(predicted, used) if not u],
    }
