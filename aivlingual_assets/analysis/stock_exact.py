"""Exact merge: rows with the same :func:`kana.match_key` (normalised lemma + reading)
are the same expression.

The stock ``key`` is the first 16 hex digits of the match key's SHA-256, so it is stable
across runs and machines.  :func:`absorb` folds one record into another (the operation
every merge ends in, exact or near-duplicate).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from .kana import is_kana, match_key, normalize_many
from .stock_columns import (
    TEXT_FIELDS,
    float_column,
    frame_from_columns,
    gc_paused,
    grouped,
    iso_time,
    occurrence_id,
    occurrence_rows,
    seen_entry,
    seen_rows,
    start_column,
    text_values,
)


@lru_cache(maxsize=262_144)
def stock_key(lemma: str, reading: str) -> str:
    """Stable id of an expression: first 16 hex of sha256(match_key(lemma, reading))."""
    return hashlib.sha256(match_key(lemma, reading).encode("utf-8")).hexdigest()[:16]


DESCRIPTIVE_FIELDS = ("meaning", "category", "level", "explanation", "example")  # what an analysis says of a row


def absorb(target: dict[str, Any], source: Mapping[str, Any], *, newer: bool = False) -> bool:
    """Fold ``source`` into ``target``; True when at least one occurrence was new.

    Occurrences are never duplicated (same recording + start); blank fields of the target
    are filled from the source; the source key and its aliases become target aliases.
    ``newer``: the source is a newer analysis (a re-analysed recording), so its non-blank
    :data:`DESCRIPTIVE_FIELDS` and level score replace the target's.
    """
    ids = {occurrence_id(o) for o in target["occurrences"]}
    added = False
    for occ in source["occurrences"]:
        oid = occurrence_id(occ)
        if oid not in ids:
            ids.add(oid)
            target["occurrences"].append(dict(occ))
            added = True
    for variant in source["variants"]:
        if variant not in target["variants"]:
            target["variants"].append(variant)
    for alias in (source["key"], *source["alias_keys"]):
        if alias != target["key"] and alias not in target["alias_keys"]:
            target["alias_keys"].append(alias)
    for field in (*TEXT_FIELDS, "theme"):
        if source[field] and (not target[field] or (newer and field in DESCRIPTIVE_FIELDS)):
            target[field] = source[field]
    if not math.isnan(source["level_score"]) and (newer or math.isnan(target["level_score"])):
        target["level_score"] = source["level_score"]
    if added:
        if source["first_seen"] and (
            not target["first_seen"]
            or source["first_seen"].get("at", "") < target["first_seen"].get("at", "")
        ):
            target["first_seen"] = dict(source["first_seen"])
        if source["last_seen"] and (
            not target["last_seen"]
            or source["last_seen"].get("at", "") >= target["last_seen"].get("at", "")
        ):
            target["last_seen"] = dict(source["last_seen"])
    return added


def _first_per_group(groups: np.ndarray, rows: np.ndarray, n_groups: int, *, last: bool = False) -> np.ndarray:
    """Index (into the table) of the first (or last) of ``rows`` in each group; -1 where none."""
    if last:
        out = np.full(n_groups, -1, dtype=np.int64)
        np.maximum.at(out, groups[rows], rows)
        return out
    none = np.iinfo(np.int64).max
    out = np.full(n_groups, none, dtype=np.int64)
    np.minimum.at(out, groups[rows], rows)
    out[out == none] = -1
    return out


_SMALL = 2_000  # values below which a dict beats pandas' per-call overhead


def _factorize(values: Any) -> tuple[np.ndarray, list[Any]]:
    """Codes (equal values share one, None included) and the distinct values in order of
    first appearance."""
    if isinstance(values, pd.Series) or len(values) >= _SMALL:
        array = values if isinstance(values, (pd.Series, np.ndarray)) else np.array(values, dtype=object)
        codes, uniques = pd.factorize(array, use_na_sentinel=False)
        return np.asarray(codes, dtype=np.int64), uniques.tolist()
    index: dict[Any, int] = {}
    items = values.tolist() if isinstance(values, np.ndarray) else values
    codes = np.fromiter((index.setdefault(v, len(index)) for v in items), dtype=np.int64, count=len(items))
    return codes, list(index)


def _first_unique(*codes: np.ndarray) -> np.ndarray:
    """Flag of the first row of each distinct combination of ``codes`` (all of one length)."""
    combined = codes[0]
    for c in codes[1:]:  # pairs numbered again after each step, so the numbers stay below len(rows)**2
        combined = _factorize(combined * (int(c.max(initial=0)) + 1) + c)[0]
    rows = np.arange(len(combined), dtype=np.int64)
    first = np.zeros(len(combined), dtype=bool)
    first[_first_per_group(combined, rows, int(combined.max(initial=-1)) + 1)] = True
    return first


def _grouped(groups: np.ndarray, rows: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` ordered by group (row order kept inside a group) and the offsets of each group."""
    rows = rows[np.argsort(groups[rows], kind="stable")]
    offsets = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(groups[rows], minlength=n_groups), out=offsets[1:])
    return rows, offsets


class ExactMerge:
    """An expression table exact-merged column-wise (NumPy/pandas, no loop over rows): one
    group per stock key, in first-appearance order, holding what :func:`expression_records`
    puts in each record.  Records (:meth:`record`) and stock row columns (:meth:`columns`)
    are built from it on demand; a text is turned into a Python string only where a group
    or an occurrence uses it.

    Per group: its first row gives ``expression`` (the lemma when blank) and ``lemma``
    (the expression when blank); every other text field and ``level_score`` is the first
    non-blank value of the group; occurrences are its rows with a (recording, start) not
    seen before in it; variants its distinct expressions; ``first_seen``/``last_seen``
    name the recordings of its first and last occurrence."""

    def __init__(self, expressions: pd.DataFrame, at: str, analyses: Mapping[str, str] | None = None) -> None:
        self.at = at
        self.analyses = dict(analyses or {})
        if len(expressions) and "recording" not in expressions.columns:
            raise ValueError("expression table needs a 'recording' column")
        texts = {name: text_values(expressions, name)
                 for name in (*TEXT_FIELDS, "recording", "recording_title", "url")}  # fmt: skip
        texts["lemma"] = _or(texts["lemma"], texts["expression"])
        texts["expression"] = _or(texts["expression"], texts["lemma"])
        live = np.flatnonzero(~_blank(texts["lemma"]))  # rows without any text are ignored
        if len(live) < len(expressions):
            texts = {name: _reindexed(values.take(live)) for name, values in texts.items()}
        self.texts = texts
        starts, ends = start_column(expressions, "start"), start_column(expressions, "end")
        self.starts = starts[live] if len(live) < len(starts) else starts
        self.ends = ends[live] if len(live) < len(ends) else ends
        self.scores = np.asarray(float_column(expressions, "level_score"), dtype=np.float64)[live]
        self._rows: dict[str, list[str]] = {}
        self._recording_values: np.ndarray | None = None

        # group = stock key; each distinct lemma and reading normalised once
        lemma_codes, lemma_values = _factorize(texts["lemma"])
        reading_codes, reading_values = _factorize(texts["reading"])
        self.norm_lemma_values = np.array(normalize_many(lemma_values) + [""], dtype=object)
        self.norm_reading_values = np.array(normalize_many(reading_values) + [""], dtype=object)
        radix = len(reading_values) + 1
        pair_codes, pairs = _factorize(lemma_codes * radix + reading_codes)
        pairs = np.asarray(pairs, dtype=np.int64)
        pair_groups, match = _factorize(_join_keys(self.norm_lemma_values[pairs // radix],
                                                  self.norm_reading_values[pairs % radix]))  # fmt: skip
        groups = pair_groups[pair_codes] if len(pair_codes) else np.empty(0, np.int64)
        self.groups, self.n_groups = groups, len(match)
        self.keys = [hashlib.sha256(mk.encode("utf-8")).hexdigest()[:16] for mk in match]
        self.lemma_codes, self.reading_codes = lemma_codes, reading_codes

        n_groups, rows = self.n_groups, np.arange(len(groups), dtype=np.int64)
        self.first_row = _first_per_group(groups, rows, n_groups)
        self.fill_row = {"expression": self.first_row, "lemma": self.first_row}
        for field in TEXT_FIELDS[2:]:  # reading, meaning, ...: the first non-blank of the group
            self.fill_row[field] = _first_per_group(groups, np.flatnonzero(~_blank(texts[field])), n_groups)
        self.fields = {field: _take_text(texts[field], at) for field, at in self.fill_row.items()}
        first = _first_per_group(groups, np.flatnonzero(~np.isnan(self.scores)), n_groups)
        self.level_score = np.where(first >= 0, self.scores[np.maximum(first, 0)], math.nan)

        self.recording_codes, self.recordings = _factorize(texts["recording"])
        new = _first_unique(groups, self.recording_codes, _factorize(self.starts)[0]) if len(rows) else rows
        self.occ_rows, self.occ_offsets = _grouped(groups, np.flatnonzero(new), n_groups)
        self.last_row = _first_per_group(groups, np.flatnonzero(new), n_groups, last=True)
        expression_codes, self.expression_values = _factorize(texts["expression"])
        distinct = _first_unique(groups, expression_codes) if len(rows) else rows
        self.variant_rows, self.variant_offsets = _grouped(groups, np.flatnonzero(distinct), n_groups)
        self.expression_codes = expression_codes

    def __len__(self) -> int:
        return self.n_groups

    def normalised(self) -> tuple[list[str], list[str]]:
        """Normalised lemma and reading of every group (as :func:`kana.normalize_many` gives them)."""
        lemma = self.norm_lemma_values[self.lemma_codes[self.first_row]] if self.n_groups else []
        at = self.fill_row["reading"]
        reading = np.where(at >= 0, self.norm_reading_values[self.reading_codes[np.maximum(at, 0)]], "")
        return list(lemma), reading.tolist()

    def _row_texts(self, name: str) -> list[str]:
        if name not in self._rows:
            self._rows[name] = self.texts[name].tolist()
        return self._rows[name]

    def _occurrence(self, row: int) -> dict[str, Any]:
        recording = self.recordings[self.recording_codes[row]]
        occ = {
            "recording": recording,
            "recording_title": self._row_texts("recording_title")[row],
            "start": self.starts[row],  # (a Python float or None: the arrays hold objects)
            "end": self.ends[row],
            "url": self._row_texts("url")[row] or None,
        }
        if recording in self.analyses:
            occ["analysis"] = self.analyses[recording]
        return occ

    def _recording_of(self, rows: np.ndarray) -> list[str]:
        if self._recording_values is None:
            self._recording_values = np.array(self.recordings, dtype=object)
        return self._recording_values[self.recording_codes[rows]].tolist()

    def record(self, group: int) -> dict[str, Any]:
        """The merged record of one group (fresh objects: the caller may change them)."""
        rec: dict[str, Any] = {"key": self.keys[group]}
        for field in TEXT_FIELDS:
            rec[field] = self.fields[field][group]
        rec["level_score"] = float(self.level_score[group])
        rec["theme"] = ""
        lo, hi = self.occ_offsets[group], self.occ_offsets[group + 1]
        rec["occurrences"] = [self._occurrence(row) for row in self.occ_rows[lo:hi].tolist()]
        lo, hi = self.variant_offsets[group], self.variant_offsets[group + 1]
        rec["variants"] = [self.expression_values[c] for c in self.expression_codes[self.variant_rows[lo:hi]].tolist()]
        rec["alias_keys"] = []
        rec["first_seen"] = seen_entry(self.recordings[self.recording_codes[self.first_row[group]]], self.at)
        rec["last_seen"] = seen_entry(self.recordings[self.recording_codes[self.last_row[group]]], self.at)
        return rec

    def records(self) -> dict[str, dict[str, Any]]:
        return {self.keys[g]: self.record(g) for g in range(self.n_groups)}

    def columns(self) -> dict[str, list[Any]]:
        """Every group as stock row columns (nested columns built column-wise)."""
        occ = self.occ_rows
        cols: dict[str, list[Any]] = {"key": list(self.keys)}
        cols.update(self.fields)
        cols["level_score"] = self.level_score.tolist()
        cols["occurrences"] = grouped(
            occurrence_rows(
                self._recording_of(occ), _take_text(self.texts["recording_title"], occ),
                self.starts[occ].tolist(), self.ends[occ].tolist(),
                _take_text(self.texts["url"], occ), self.analyses,
            ),
            self.occ_offsets,
        )  # fmt: skip
        cols["count"] = np.diff(self.occ_offsets).tolist()
        cols["first_seen"] = seen_rows(self._recording_of(self.first_row), self.at)
        cols["last_seen"] = seen_rows(self._recording_of(self.last_row), self.at)
        values = self.expression_values
        cols["variants"] = grouped([values[c] for c in self.expression_codes[self.variant_rows].tolist()],
                                   self.variant_offsets)  # fmt: skip
        cols["alias_keys"] = [[] for _ in range(self.n_groups)]
        cols["theme"] = [""] * self.n_groups
        return cols


def _join_keys(norm_lemmas: np.ndarray, norm_readings: np.ndarray) -> np.ndarray:
    """:func:`kana.join_key` of aligned object arrays (elementwise, not a call per pair):
    a blank reading is the lemma's when the lemma is all kana."""
    readings = norm_readings.copy()
    for i in np.flatnonzero(readings == "").tolist():  # few: a reading is rarely blank
        readings[i] = norm_lemmas[i] if is_kana(norm_lemmas[i]) else ""
    return norm_lemmas + "|" + readings


Texts = np.ndarray | pd.Series  # what :func:`text_values` gives


def _blank(values: Texts) -> np.ndarray:
    return np.asarray(values == "", dtype=bool)


def _or(values: Texts, fallback: Texts) -> Texts:
    """``values``, with ``fallback`` where a value is blank."""
    blank = _blank(values)
    if isinstance(values, pd.Series):
        return values.where(~blank, fallback)
    return np.where(blank, fallback, values)


def _reindexed(values: Texts) -> Texts:
    return values.reset_index(drop=True) if isinstance(values, pd.Series) else values


def _take_text(values: Texts, rows: np.ndarray) -> list[str]:
    """``values`` at ``rows`` as Python strings ("" where a row is -1)."""
    found = rows >= 0
    if found.all():
        return values.take(rows).tolist()
    out = np.full(len(rows), "", dtype=object)
    out[found] = np.asarray(values.take(rows[found]), dtype=object)
    return out.tolist()


@gc_paused()
def expression_records(
    expressions: pd.DataFrame, at: str, analyses: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Exact aggregation of an expression table into records keyed by stock key, in
    first-appearance order.  Rows without any expression/lemma text are ignored.

    ``analyses``: the version of each recording's analysis, kept in its occurrences."""
    return ExactMerge(expressions, at, analyses).records()


@gc_paused()
def aggregate_expressions(
    expressions: pd.DataFrame, *, seen_at: datetime | str | None = None
) -> pd.DataFrame:
    """Exact-merge an expression table (one or many recordings) into stock rows."""
    return frame_from_columns(ExactMerge(expressions, iso_time(seen_at)).columns())

