"""Benchmark 6: near-duplicate merge of 100,000 expressions.

``merge_near_duplicates(table, ngram_vectors)`` on the synthetic expression table of 1,000
recordings (:func:`bench.synthetic.recordings_table`): exact merge, offline n-gram embedding
of every distinct row, candidate pairs inside same-lemma / same-reading blocks (FAISS k-NN
for blocks over 64 rows, all pairs below), cosine threshold 0.92, union-find. Baseline: the
exact merge alone (``aggregate_expressions``) on the same table. Best of the repeats, the two
interleaved.
"""

from __future__ import annotations

import collections
import time
from typing import Any

from .common import Row, best_of, isolated_home, row

NAME = "faiss_merge"
TITLE = "Near-duplicate merge of 100k expressions"
SIZES = {
    "full": {"rows": 100_000, "repeats": 2},
    "quick": {"rows": 20_000, "repeats": 2},
    "tiny": {"rows": 1_000, "repeats": 1},
}


def run(sizes: dict[str, Any]) -> list[Row]:
    with isolated_home(NAME):  # no AI core here, but nothing may touch the user's home either
        return _run(sizes)


def _run(sizes: dict[str, Any]) -> list[Row]:
    from aivlingual_assets.analysis.kana import normalize_many
    from aivlingual_assets.analysis.ngram_embedding import ngram_vectors
    from aivlingual_assets.analysis.stock import aggregate_expressions, merge_near_duplicates, stock_texts

    from .synthetic import recordings_table

    n_rec = max(1, int(sizes["rows"]) // 100)
    _, table = recordings_table(n_rec)
    seen_at = "2025-01-01T00:00:00+00:00"
    merge_t: list[float] = []
    exact_t: list[float] = []
    merged = exact = None
    for _ in range(int(sizes["repeats"])):
        t, merged = best_of(lambda: merge_near_duplicates(table, ngram_vectors, seen_at=seen_at), 1)
        merge_t += t
        t, exact = best_of(lambda: aggregate_expressions(table, seen_at=seen_at), 1)
        exact_t += t
    texts = stock_texts(exact)
    t0 = time.perf_counter()
    ngram_vectors(texts)
    embed_s = time.perf_counter() - t0
    sizes_by_reading = collections.Counter(normalize_many(exact["reading"].tolist()))
    sizes_by_lemma = collections.Counter(normalize_many(exact["lemma"].tolist()))
    big = sum(1 for c in (*sizes_by_reading.values(), *sizes_by_lemma.values()) if c > 64)
    details = {
        "rows": len(table), "exact_rows": len(exact), "merged_rows": len(merged),
        "near_merges": len(exact) - len(merged), "blocks_over_64_rows": big,
        "largest_reading_block": max(sizes_by_reading.values()), "embed_s": embed_s,
        "merge_s": merge_t, "exact_s": exact_t,
    }
    m, e = min(merge_t), min(exact_t)
    return [
        row(NAME, f"merge_near_duplicates, {len(table):,} expressions", m, "s",
            "aggregate_expressions (exact only)", e, details=details,
            note=f"{len(exact):,} exact rows -> {len(merged):,} after near merge; embedding alone {embed_s:.2f} s; "
                 f"{big} blocks >64 rows (FAISS k-NN); best of {len(merge_t)}"),
    ]
