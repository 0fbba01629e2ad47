"""The vocabulary stock: one row per expression across all recordings.

Each recording yields an expression table; the stock folds them together so a learner
sees "てぇてぇ — seen 14 times in 9 streams" instead of 14 separate cards.  This module is
the stock's public face; each concept lives in its own module:

* :mod:`.stock_columns` — the stock's columns and how rows are stored: occurrences,
  variants, aliases and sightings as native lists and dicts (Parquet list/struct
  columns); a stock stored with them as JSON text still reads.
* :mod:`.stock_exact` — **exact** merge: rows with the same :func:`kana.match_key` are
  the same expression; the stable ``key`` is derived from it (:func:`stock_key`).
* :mod:`.stock_rule` — the **near-duplicate rule**: same normalised lemma or reading, and
  compatible meanings (spelling variants merge, homophones never do).
* :mod:`.stock_near` — **near-duplicate** merge of a whole table: embeddings propose
  candidates with cosine ≥ ``threshold`` (and a word with its kana spelling whatever its
  cosine), the rule decides, union-find groups them (:func:`merge_near_duplicates`).
* :mod:`.stock_table` — the stock as mutable columns, decoded only where touched.
* :mod:`.stock_incremental` — folding one recording into the stock against its FAISS
  index (:func:`update_stock`), idempotent and embedding only new texts; a recording
  analysed again replaces its old rows (:func:`replace_recording`); :class:`StockEditor`
  does both for many recordings in one pass over the stock.
* :mod:`.stock_removal` — taking recordings out (:func:`remove_recordings`) and telling
  which versions of each recording's analysis, and which titles, the stock holds
  (:func:`recordings_held`).
"""

from __future__ import annotations

from .stock_columns import STOCK_COLUMNS, embedding_text, empty_stock, native_stock, stock_texts
from .stock_exact import aggregate_expressions, stock_key
from .stock_incremental import StockEditor, StockUpdate, replace_recording, update_stock
from .stock_near import merge_near_duplicates
from .stock_removal import HeldRecording, Removal, recording_analyses, recordings_held, remove_recordings
from .stock_rule import meanings_compatible, near_duplicate_compatible

__all__ = [
    "STOCK_COLUMNS",
    "HeldRecording",
    "Removal",
    "StockEditor",
    "StockUpdate",
    "aggregate_expressions",
    "embedding_text",
    "empty_stock",
    "meanings_compatible",
    "merge_near_duplicates",
    "native_stock",
    "near_duplicate_compatible",
    "recording_analyses",
    "recordings_held",
    "remove_recordings",
    "replace_recording",
    "stock_key",
    "stock_texts",
    "update_stock",
]
