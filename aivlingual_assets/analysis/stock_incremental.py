"""Incremental update: fold one recording's expressions into the stock.

:func:`update_stock` searches the stock's FAISS index (:class:`StockIndex`) with the new
rows, so only new texts are embedded.  An absorbed key is remembered in ``alias_keys`` so
the next recording resolves it exactly, without embedding it again.  Occurrences are
identified by (recording, start); re-running a recording adds nothing, which makes
:func:`update_stock` idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from .kana import normalize
from .stock_columns import clean_text, embedding_text, iso_time
from .stock_exact import expression_records
from .stock_index import StockIndex
from .stock_near import DEFAULT_K, Embed, embed_rows, near_duplicate_roots
from .stock_rule import meanings_compatible, near_duplicate_compatible
from .stock_table import StockTable


@dataclass(frozen=True)
class StockUpdate:
    """Result of :func:`update_stock`; counts are per distinct expression of the batch
    (``added + merged_exact + merged_near + unchanged`` = distinct match keys)."""

    stock: pd.DataFrame
    index: StockIndex
    added: int
    merged_exact: int
    merged_near: int
    unchanged: int
    embedded: int  # texts passed to ``embed`` (incrementality check)


def update_stock(
    stock: pd.DataFrame | None,
    new_expressions: pd.DataFrame,
    *,
    embed: Embed,
    index: StockIndex | None,
    threshold: float = 0.92,
    seen_at: datetime | str | None = None,
    k: int = DEFAULT_K,
) -> StockUpdate:
    """Fold one recording's expressions into the stock (idempotent, incremental).

    ``embed`` is called only for texts whose key is not yet in ``index``: stock rows the
    index is missing (e.g. a lost index) and brand-new expressions.  The returned index
    covers every stock row.  ``index`` is updated in place (pass a copy to keep it).
    """
    at = iso_time(seen_at)
    table = StockTable(stock)
    index = StockIndex() if index is None else index
    embedded = 0

    missing = index.missing(table.keys)
    if missing:
        index.add(missing, embed_rows(embed, table.texts(missing)))
        embedded += len(missing)

    added = merged_exact = merged_near = unchanged = 0
    unresolved: list[dict[str, Any]] = []
    for key, rec in expression_records(new_expressions, at).items():
        pos = table.resolve(key)
        if pos is None:
            unresolved.append(rec)
        elif table.absorb(pos, rec):
            merged_exact += 1
        else:
            unchanged += 1
    if not unresolved:
        return StockUpdate(
            table.to_frame(), index, added, merged_exact, merged_near, unchanged, embedded
        )

    vectors = embed_rows(embed, [embedding_text(r["lemma"], r["reading"]) for r in unresolved])
    embedded += len(unresolved)
    fresh: list[int] = []  # rows of `unresolved` with no near-duplicate in the stock
    if len(index):
        scores, keys = index.search(vectors, min(k, len(index)))
        for i, rec in enumerate(unresolved):
            target = None
            for score, cand in zip(scores[i], keys[i], strict=True):
                if cand is None or score < threshold:
                    break
                pos = table.resolve(cand)  # an index built before a re-merge may hold aliases
                if pos is not None and near_duplicate_compatible(rec, table.peek(pos)):
                    target = pos
                    break
            if target is None:
                target = _kana_spelling_target(table, rec)
            if target is None:
                fresh.append(i)
            elif table.absorb(target, rec):
                merged_near += 1
            else:
                unchanged += 1
    else:
        fresh = list(range(len(unresolved)))

    roots = near_duplicate_roots(
        vectors[fresh],
        [unresolved[i]["lemma"] for i in fresh],
        [unresolved[i]["reading"] for i in fresh],
        [unresolved[i]["meaning"] for i in fresh],
        threshold,
        k,
    )
    new_pos: dict[int, int] = {}
    new_keys, new_rows = [], []
    for j, i in enumerate(fresh):
        rec = unresolved[i]
        root = int(roots[j])
        if root == j:
            new_pos[j] = table.append(rec)
            new_keys.append(rec["key"])
            new_rows.append(i)
            added += 1
        elif table.absorb(new_pos[root], rec):
            merged_near += 1
        else:
            unchanged += 1
    index.add(new_keys, vectors[new_rows])
    return StockUpdate(
        table.to_frame(), index, added, merged_exact, merged_near, unchanged, embedded
    )


def _kana_spelling_target(table: StockTable, rec: Mapping[str, Any]) -> int | None:
    """The stock row that ``rec`` is the kana spelling of (or that is the kana spelling of ``rec``), if any."""
    reading = normalize(clean_text(rec.get("reading")))
    if not reading:
        return None
    lemma = normalize(clean_text(rec.get("lemma")) or clean_text(rec.get("expression")))
    for pos in table.positions_by_reading().get(reading, ()):
        row = table.peek(pos)
        row_lemma = normalize(clean_text(row.get("lemma")) or clean_text(row.get("expression")))
        # same reading by construction, so the merge rule comes down to the meanings
        if (lemma == reading or row_lemma == reading) and meanings_compatible(clean_text(rec.get("meaning")),
                                                                             clean_text(row.get("meaning"))):
            return pos
    return None
