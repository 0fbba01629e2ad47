"""Themes: seeded FAISS k-means over the stock, named "category: representative"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aivlingual_assets.analysis.ngram_embedding import ngram_vectors
from aivlingual_assets.analysis.stock import merge_near_duplicates, stock_texts
from aivlingual_assets.analysis.themes import assign_themes, default_theme_count

from .synthetic import synthetic_expressions


def _stock(expressions, categories, counts=None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "key": [f"k{i}" for i in range(len(expressions))],
            "expression": expressions,
            "lemma": expressions,
            "reading": [""] * len(expressions),
            "category": categories,
            "count": counts if counts is not None else [1] * len(expressions),
        },
        index=pd.RangeIndex(100, 100 + len(expressions)),
    )


def test_theme_count_follows_sqrt_rule_with_bounds():
    assert [default_theme_count(n) for n in (0, 7, 8, 50, 200, 1_800, 100_000)] == [1, 1, 2, 5, 10, 30, 30]


def test_small_stock_gets_one_theme_named_after_central_frequent_member():
    stock = _stock(["推し", "推しメン", "推し活", "草"], ["vtuber_culture", "vtuber_culture", "slang", "slang"],
                   counts=[9, 1, 1, 1])  # fmt: skip
    themes = assign_themes(stock, ngram_vectors(stock_texts(stock)))
    assert themes.index.equals(stock.index) and themes.name == "theme"
    # 推し is central and by far the most frequent; the 2-2 category tie goes alphabetically
    assert set(themes) == {"slang: 推し"}


def test_separated_groups_get_separate_deterministic_themes():
    laugh = ["草", "大草原", "草生える", "草不可避", "草www", "草民", "草草", "草すぎる"]
    oshi = ["推し", "推しメン", "推し活", "最推し", "推し変", "推し事", "単推し", "箱推し"]
    stock = _stock(laugh + oshi, ["slang"] * 7 + ["emotion"] + ["vtuber_culture"] * 8)
    vectors = ngram_vectors(stock_texts(stock))
    themes = assign_themes(stock, vectors, n_themes=2)
    first, second = set(themes.iloc[:8]), set(themes.iloc[8:])
    assert len(first) == 1 and len(second) == 1 and first != second
    laugh_theme, oshi_theme = first.pop(), second.pop()
    assert laugh_theme.startswith("slang: ") and "草" in laugh_theme  # 7 of 8 are slang
    assert oshi_theme.startswith("vtuber_culture: ") and "推し" in oshi_theme
    pd.testing.assert_series_equal(themes, assign_themes(stock, vectors, n_themes=2))


def test_themes_on_a_real_sized_stock_are_deterministic_and_bounded():
    frame, _ = synthetic_expressions(3_000, seed=9)
    stock = merge_near_duplicates(frame, ngram_vectors, threshold=0.8)
    vectors = ngram_vectors(stock_texts(stock))
    themes = assign_themes(stock, vectors)
    assert 2 <= themes.nunique() <= default_theme_count(len(stock))
    assert themes.str.contains(": ").all()
    pd.testing.assert_series_equal(themes, assign_themes(stock, vectors.copy()))


def test_validation_and_empty_stock():
    stock = _stock(["推し", "草"], ["", ""])
    assert assign_themes(stock, ngram_vectors(["推し", "草"])).tolist() == ["general: 推し"] * 2
    with pytest.raises(ValueError):
        assign_themes(stock, ngram_vectors(["推し"]))
    empty = assign_themes(stock.iloc[:0], np.zeros((0, 256), dtype=np.float32))
    assert empty.empty
