"""Incremental update: fold one recording's expressions into the stock.

:func:`update_stock` searches the stock's FAISS index (:class:`StockIndex`) with the new
rows, so only new texts are embedded.  An absorbed key is remembered in ``alias_keys`` so
the next recording resolves it exactly, without embedding it again.  Occurrences are
identified by (recording, start); re-running a recording adds nothing, which makes
:func:`update_stock` idempotent.  A recording analysed again goes through
:func:`replace_recording`: its new analysis replaces the old one's occurrences and rows.
:class:`StockEditor` does all of this for many recordings in one pass over the stock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from .kana import normalize
from .stock_columns import clean_text, embedding_text, iso_time
from .stock_exact import expression_records
from .stock_index import StockIndex
from .stock_near import DEFAULT_K, Embed, embed_rows, near_duplicate_roots
from .stock_removal import drop_recordings, seen_times
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
    removed_keys: tuple[str, ...] = ()  # rows gone from the stock (:func:`replace_recording`)


COUNTS = ("added", "merged_exact", "merged_near", "unchanged", "embedded")


class StockEditor:
    """The stock in memory while recordings are merged into it, replaced or removed.

    Its columns are read once and written once (:meth:`frame`), however many recordings
    go through it, so a refresh of many recordings costs one pass over the stock plus
    the recordings' own rows.  ``index`` is updated in place; it is first completed with
    the stock rows it is missing (e.g. a lost index).  ``counts`` add up over the calls.
    """

    def __init__(
        self,
        stock: pd.DataFrame | None,
        *,
        embed: Embed,
        index: StockIndex | None,
        threshold: float = 0.92,
        k: int = DEFAULT_K,
    ) -> None:
        self.table = StockTable(stock)
        self.index = StockIndex() if index is None else index
        self.embed, self.threshold, self.k = embed, threshold, k
        self.counts = dict.fromkeys(COUNTS, 0)
        self._stock = stock
        self._times: dict[str, str] | None = None
        missing = self.index.missing(self.table.keys)
        if missing:
            self.index.add(missing, embed_rows(embed, self.table.texts(missing)))
            self.counts["embedded"] += len(missing)

    def merge(
        self,
        new_expressions: pd.DataFrame,
        *,
        seen_at: datetime | str | None = None,
        analyses: Mapping[str, str] | None = None,
        newer: bool = False,
    ) -> None:
        """Fold an expression table in (see :func:`update_stock`)."""
        at = iso_time(seen_at)
        if self._times is not None:
            for recording in _recordings_of(new_expressions):
                self._times.setdefault(recording, at)
        unresolved: list[dict[str, Any]] = []
        for key, rec in expression_records(new_expressions, at, analyses).items():
            pos = self.table.resolve(key)
            if pos is None:
                unresolved.append(rec)
            else:
                self.counts["merged_exact" if self.table.absorb(pos, rec, newer=newer) else "unchanged"] += 1
        if unresolved:
            self._merge_unresolved(unresolved)

    def remove(self, recordings: Iterable[str]) -> list[str]:
        """Take recordings out (see :func:`remove_recordings`); returns the keys of the rows dropped."""
        dropped, _ = drop_recordings(self.table, recordings, self.seen_times)
        self.index.remove(dropped)
        return dropped

    def replace(
        self,
        recording: str,
        new_expressions: pd.DataFrame,
        *,
        analysis: str | None = None,
        seen_at: datetime | str | None = None,
    ) -> list[str]:
        """``recording``'s new analysis in place of its old one (see :func:`replace_recording`);
        returns the keys of the rows the stock lost."""
        others = set(_recordings_of(new_expressions)) - {recording}
        if others:
            raise ValueError(f"the new analysis of {recording!r} holds rows of {sorted(others)}")
        seen_at = seen_at or self.seen_times().get(recording)
        dropped = self.remove([recording])
        self.merge(new_expressions, seen_at=seen_at, newer=True,
                   analyses=None if analysis is None else {recording: analysis})  # fmt: skip
        return [key for key in dropped if key not in self.table.pos_of_key]  # not a row again

    def retitle(self, recording: str, title: str) -> int:
        """Show ``title`` on every occurrence of ``recording`` (a title learnt after its
        analysis, e.g. a YouTube video first registered as "YouTube video <id>"); returns
        the rows changed."""
        changed = 0
        for pos in self.table.positions_mentioning([recording]):
            stale = [occ for occ in self.table.record(pos)["occurrences"]
                     if occ.get("recording") == recording and occ.get("recording_title") != title]  # fmt: skip
            for occ in stale:
                occ["recording_title"] = title
            changed += bool(stale)
        return changed

    def seen_times(self) -> dict[str, str]:
        """When the stock first took in each recording (:func:`.stock_removal.seen_times`)."""
        if self._times is None:
            self._times = seen_times(self._stock)
            for rec in self.table.touched.values():
                for seen in (rec["first_seen"], rec["last_seen"]):
                    if seen.get("recording") and seen.get("at"):
                        self._times.setdefault(seen["recording"], seen["at"])
        return self._times

    def frame(self) -> pd.DataFrame:
        return self.table.to_frame()

    def result(self, **extra: Any) -> StockUpdate:
        return StockUpdate(self.frame(), self.index, **self.counts, **extra)

    def _merge_unresolved(self, unresolved: list[dict[str, Any]]) -> None:
        """Records with no exact match: near-duplicates of stock rows, of each other, or new rows."""
        table, index, threshold, counts = self.table, self.index, self.threshold, self.counts
        vectors = embed_rows(self.embed, [embedding_text(r["lemma"], r["reading"]) for r in unresolved])
        counts["embedded"] += len(unresolved)
        fresh: list[int] = []  # rows of `unresolved` with no near-duplicate in the stock
        if len(index):
            scores, keys = index.search(vectors, min(self.k, len(index)))
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
                else:
                    counts["merged_near" if table.absorb(target, rec) else "unchanged"] += 1
        else:
            fresh = list(range(len(unresolved)))

        roots = near_duplicate_roots(
            vectors[fresh],
            [unresolved[i]["lemma"] for i in fresh],
            [unresolved[i]["reading"] for i in fresh],
            [unresolved[i]["meaning"] for i in fresh],
            threshold,
            self.k,
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
                counts["added"] += 1
            else:
                counts["merged_near" if table.absorb(new_pos[root], rec) else "unchanged"] += 1
        index.add(new_keys, vectors[new_rows])


def _recordings_of(expressions: pd.DataFrame) -> set[str]:
    if not len(expressions):
        return set()
    if "recording" not in expressions.columns:
        raise ValueError("expression table needs a 'recording' column")
    return set(expressions["recording"].astype(str))


def update_stock(
    stock: pd.DataFrame | None,
    new_expressions: pd.DataFrame,
    *,
    embed: Embed,
    index: StockIndex | None,
    threshold: float = 0.92,
    seen_at: datetime | str | None = None,
    k: int = DEFAULT_K,
    analyses: Mapping[str, str] | None = None,
) -> StockUpdate:
    """Fold one recording's expressions into the stock (idempotent, incremental).

    ``embed`` is called only for texts whose key is not yet in ``index``: stock rows the
    index is missing (e.g. a lost index) and brand-new expressions.  The returned index
    covers every stock row.  ``index`` is updated in place (pass a copy to keep it).
    ``analyses`` (recording → version of its analysis) is kept in the new occurrences.
    """
    editor = StockEditor(stock, embed=embed, index=index, threshold=threshold, k=k)
    editor.merge(new_expressions, seen_at=seen_at, analyses=analyses)
    return editor.result()


def replace_recording(
    stock: pd.DataFrame | None,
    recording: str,
    new_expressions: pd.DataFrame,
    *,
    embed: Embed,
    index: StockIndex | None,
    analysis: str | None = None,
    threshold: float = 0.92,
    seen_at: datetime | str | None = None,
    k: int = DEFAULT_K,
) -> StockUpdate:
    """The stock with ``recording``'s new analysis in place of its old one.

    Its old occurrences go, and rows left without any leave the stock and ``index``
    (:func:`remove_recordings`); then the new table is merged as by :func:`update_stock`,
    except that its fields replace those of the rows it matches exactly (the newer
    analysis wins) and its sightings keep the time the stock first took the recording in
    (unless ``seen_at`` is given).  ``removed_keys`` are the rows the stock lost.
    """
    editor = StockEditor(stock, embed=embed, index=index, threshold=threshold, k=k)
    removed = editor.replace(recording, new_expressions, analysis=analysis, seen_at=seen_at)
    return editor.result(removed_keys=tuple(removed))


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
