"""Themes: groups of related stock expressions, used as tags (Notion, Anki decks).

Clustering uses FAISS k-means on the same embeddings as the near-duplicate search, with
a fixed seed so a rerun on the same stock yields the same tags.  A theme is named after
its most representative member — the one closest to the cluster centre, nudged towards
frequently seen expressions — and the cluster's dominant category, e.g.
"vtuber_culture: 推し", so a tag reads like a topic rather than "cluster 7".
"""

from __future__ import annotations

import math
from collections import Counter

import faiss
import numpy as np
import pandas as pd

from .stock_index import unit_vectors

__all__ = ["assign_themes", "default_theme_count"]

SEED = 1_234
MIN_ROWS_FOR_CLUSTERING = 8
MAX_THEMES = 30
_FREQUENCY_WEIGHT = 0.05  # per log(1+count): a 20x more frequent member wins ~0.15 of cosine
_FALLBACK_CATEGORY = "general"


def default_theme_count(n_rows: int) -> int:
    """About sqrt(n/2) themes, bounded to 2..30; a single theme below 8 rows."""
    if n_rows < MIN_ROWS_FOR_CLUSTERING:
        return 1
    return int(min(MAX_THEMES, max(2, round(math.sqrt(n_rows / 2)))))


def _labels(vectors: np.ndarray, n_themes: int, seed: int) -> np.ndarray:
    if n_themes <= 1:
        return np.zeros(len(vectors), dtype=np.int64)
    kmeans = faiss.Kmeans(
        vectors.shape[1],
        n_themes,
        niter=25,
        seed=seed,
        spherical=True,
        min_points_per_centroid=1,  # small stocks are fine; silences FAISS' warning
        max_points_per_centroid=256,  # seeded subsample above k*256 rows keeps it fast
        verbose=False,
    )
    kmeans.train(vectors)
    _, assigned = kmeans.index.search(vectors, 1)
    return assigned.ravel().astype(np.int64)


def _column(stock: pd.DataFrame, name: str, default: object) -> list:
    if name not in stock.columns:
        return [default] * len(stock)
    return stock[name].tolist()


def _clean(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value).strip()


def _dominant(categories: list[str]) -> str:
    counts = Counter(c for c in categories if c)
    if not counts:
        return _FALLBACK_CATEGORY
    best = max(counts.values())
    return min(c for c, n in counts.items() if n == best)  # ties: alphabetical


def assign_themes(
    stock: pd.DataFrame,
    vectors: np.ndarray,
    n_themes: int | None = None,
    *,
    seed: int = SEED,
) -> pd.Series:
    """Theme name of every stock row (aligned with ``stock.index``).

    ``vectors`` are the rows' embeddings in stock order (e.g.
    ``index.vectors_for(stock["key"].tolist())``).  ``n_themes`` defaults to
    :func:`default_theme_count`; it is capped at the number of rows.
    """
    n = len(stock)
    if n == 0:
        return pd.Series([], index=stock.index, dtype="str", name="theme")
    unit = unit_vectors(vectors, rows=n)
    k = default_theme_count(n) if n_themes is None else max(1, min(int(n_themes), n))
    labels = _labels(unit, k, seed)

    expressions = [_clean(v) for v in _column(stock, "expression", "")]
    lemmas = [_clean(v) for v in _column(stock, "lemma", "")]
    categories = [_clean(v) for v in _column(stock, "category", "")]
    counts = pd.to_numeric(pd.Series(_column(stock, "count", 1)), errors="coerce")
    weight = _FREQUENCY_WEIGHT * np.log1p(counts.fillna(1).clip(lower=0).to_numpy(float))

    names: dict[int, str] = {}
    used: Counter[str] = Counter()
    for label in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == label)
        centre = unit[members].mean(axis=0)
        norm = float(np.linalg.norm(centre))
        centrality = unit[members] @ (centre / norm) if norm > 0 else np.zeros(len(members))
        best = members[int(np.argmax(centrality + weight[members]))]  # ties: first row
        label_text = expressions[best] or lemmas[best] or "?"
        name = f"{_dominant([categories[i] for i in members])}: {label_text}"
        used[name] += 1
        names[label] = name if used[name] == 1 else f"{name} ({used[name]})"
    return pd.Series([names[int(x)] for x in labels], index=stock.index, dtype="str", name="theme")
