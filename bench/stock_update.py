"""Benchmark 5b: folding ONE new recording into a stock built from 1,000 recordings.

Synthetic expression tables (:func:`bench.synthetic.recordings_table`: 100 expressions per
recording, a popular core plus a long tail, spelling variants and homophones) give a stock of
~30k rows after ``merge_near_duplicates``. Timed: ``update_stock(stock, new_recording,
embed=ngram_vectors, index=<prepared StockIndex over the stock>)``, i.e. what the
``vocabulary`` asset does per new partition (index prepared untimed, a fresh copy per repeat).
Baseline: rebuilding the stock from scratch with ``merge_near_duplicates`` over all 1,001
recordings. The ratio is the incremental cost as a fraction of the rebuild.

Second row: one recording of the stock analysed again (``replace_recording``: a fifth of its
expressions dropped, every other meaning changed, ten new expressions), against the first row's
update of a new recording: what the ``vocabulary`` asset does for a re-analysed partition.
"""

from __future__ import annotations

import gc
from typing import Any

from .common import Row, best_of, isolated_home, row

NAME = "stock_update"
TITLE = "Vocabulary stock: one new recording vs rebuild"
SIZES = {
    "full": {"recordings": 1_000, "repeats": 5, "rebuild_repeats": 1},
    "quick": {"recordings": 200, "repeats": 3, "rebuild_repeats": 1},
    "tiny": {"recordings": 10, "repeats": 1, "rebuild_repeats": 1},
}


def run(sizes: dict[str, Any]) -> list[Row]:
    with isolated_home(NAME):  # no AI core here, but nothing may touch the user's home either
        return _run(sizes)


def _run(sizes: dict[str, Any]) -> list[Row]:
    import pandas as pd

    from aivlingual_assets.analysis.ngram_embedding import ngram_vectors
    from aivlingual_assets.analysis.stock import merge_near_duplicates, replace_recording, stock_texts, update_stock
    from aivlingual_assets.analysis.stock_index import StockIndex

    from .synthetic import new_recording, recordings_table

    n_rec = int(sizes["recordings"])
    vocab, table = recordings_table(n_rec)
    new = new_recording(vocab)
    seen_at = "2025-01-01T00:00:00+00:00"
    stock = merge_near_duplicates(table, ngram_vectors, seen_at=seen_at)
    keys = stock["key"].tolist()
    vectors = ngram_vectors(stock_texts(stock))
    holder: dict[str, Any] = {}

    def fresh_index() -> None:
        index = StockIndex()
        index.add(keys, vectors)
        holder["index"] = index

    def incremental():
        return update_stock(stock, new, embed=ngram_vectors, index=holder["index"], seen_at="2025-01-02T00:00:00+00:00")

    inc_times, update = best_of(incremental, int(sizes["repeats"]), setup=fresh_index)
    first = table["recording"].iloc[0]
    again = _reanalysis(table[table["recording"] == first], new, first)

    def reanalysed():
        return replace_recording(stock, first, again, embed=ngram_vectors, index=holder["index"])

    re_times, replaced = best_of(reanalysed, int(sizes["repeats"]), setup=fresh_index)
    if sorted(holder["index"].keys) != sorted(replaced.stock["key"]):
        raise AssertionError("replace_recording left the index out of step with the stock")
    holder.clear()
    gc.collect()
    everything = pd.concat([table, new], ignore_index=True)
    rebuild_times, rebuilt = best_of(lambda: merge_near_duplicates(everything, ngram_vectors, seen_at=seen_at),
                                     int(sizes["rebuild_repeats"]))
    distinct = update.added + update.merged_exact + update.merged_near + update.unchanged
    if update.embedded > len(new):
        raise AssertionError(f"update_stock embedded {update.embedded} texts for {len(new)} new rows")
    details = {
        "recordings": n_rec, "table_rows": len(table), "stock_rows": len(stock), "new_rows": len(new),
        "new_distinct": distinct, "added": update.added, "merged_exact": update.merged_exact,
        "merged_near": update.merged_near, "embedded": update.embedded, "stock_rows_after": len(update.stock),
        "rebuilt_rows": len(rebuilt), "update_s": inc_times, "rebuild_s": rebuild_times,
        "reanalysed_rows": len(again), "reanalysis_removed": len(replaced.removed_keys), "reanalysis_s": re_times,
    }
    inc, reb, rea = min(inc_times), min(rebuild_times), min(re_times)
    return [
        row(NAME, f"update_stock, 1 recording ({len(new)} expr) into {len(stock):,}-row stock", inc * 1000, "ms",
            f"merge_near_duplicates rebuild of {len(everything):,} expr", reb * 1000, details=details,
            note=f"{update.added} added, {update.merged_exact} exact + {update.merged_near} near merges, "
                 f"{update.embedded} embedded; {reb / inc:.1f}x faster than the rebuild; "
                 f"best of {len(inc_times)} vs {len(rebuild_times)}; "
                 f"rebuild gives {len(rebuilt):,} rows vs {len(update.stock):,}"),
        row(NAME, f"replace_recording, 1 recording analysed again ({len(again)} expr)", rea * 1000, "ms",
            "update_stock of a new recording", inc * 1000, details=details,
            note=f"{len(replaced.removed_keys)} rows removed, {replaced.added} added, "
                 f"{replaced.merged_exact} exact + {replaced.merged_near} near merges; best of {len(re_times)}"),
    ]


def _reanalysis(old, new, recording: str):
    """``old`` analysed again: a fifth of the rows dropped, every other meaning changed, ten new expressions."""
    import pandas as pd

    kept = old.iloc[[i for i in range(len(old)) if i % 5 != 4]].copy()
    kept.loc[kept.index[::2], "meaning"] = kept["meaning"].iloc[::2] + " (as used here)"
    extra = new.head(10).assign(recording=recording, recording_title=old["recording_title"].iloc[0],
                                start=new["start"].head(10) + 10_000)
    return pd.concat([kept, extra], ignore_index=True)
