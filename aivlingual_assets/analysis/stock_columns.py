"""The stock's columns and how its values are stored.

A stock row is held in two shapes: the *row* (a frame's row, what the Parquet file
holds) and the *record* (the same row as plain Python values, owned by whoever merges
into it).  The nested columns (:data:`NESTED_FIELDS`) are native: ``occurrences`` a list
of dicts, ``variants`` and ``alias_keys`` lists of strings, ``first_seen``/``last_seen``
a dict ``{"recording", "at"}`` (None when unknown), in object columns that pyarrow writes
to Parquet as list<struct>, list<string> and struct.  Read back, a list comes as a NumPy
array; a stock written before the columns were native holds them as JSON text.  Both are
read by :func:`nested` (and its typed forms :func:`occurrence_list`, :func:`string_list`,
:func:`seen_dict`).  This module converts between rows and records, reads columns of
expression tables, and builds frames with the canonical columns and dtypes.

An occurrence is ``{"recording", "recording_title", "start", "end", "url"}`` plus, when
the caller knows it, ``"analysis"``: the version of the recording's analysis it came
from (so a re-analysed recording is recognised, see :mod:`.stock_removal`).  It is
identified by (recording, start).  ``start``/``end`` are seconds (rounded to ms) or None,
so a Parquet column of occurrences has one type.
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

TEXT_FIELDS = (
    "expression",
    "lemma",
    "reading",
    "meaning",
    "category",
    "level",
    "explanation",
    "example",
)
NESTED_FIELDS = ("occurrences", "variants", "alias_keys", "first_seen", "last_seen")
STOCK_COLUMNS = (
    "key",
    "expression",
    "lemma",
    "reading",
    "meaning",
    "category",
    "level",
    "level_score",
    "explanation",
    "example",
    "occurrences",
    "count",
    "first_seen",
    "last_seen",
    "variants",
    "alias_keys",
    "theme",
)


# ---------------------------------------------------------------------------------------
# scalar helpers
# ---------------------------------------------------------------------------------------
def clean_text(value: Any) -> str:
    """Stripped string; None/NaN/NA become "" so blanks compare equal."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip()


def to_score(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def to_start(value: Any) -> float | None:
    """Occurrence start as seconds (rounded to ms); None when blank or not a number (the
    pipeline's tables hold seconds; a text such as "0:01" has no place in a Parquet
    column of seconds)."""
    if isinstance(value, timedelta):  # includes pd.Timedelta
        return round(value.total_seconds(), 3)
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return None if math.isnan(float(value)) else round(float(value), 3)
    text = clean_text(value)
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return None if math.isnan(number) else round(number, 3)


DECODER = json.JSONDecoder()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a stock's nested values are built.

    A 100k-expression stock is ~200k small lists and dicts, none of them cyclic garbage;
    with the collector on, every 700 allocations start a collection and the older
    generations, which hold all of them, are scanned again and again (a third of the
    merge's time).  It is switched back on (if it was) when the block ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def nested(value: Any, default: Any, *, lenient: bool = False) -> Any:
    """A stored nested value as it is held (a list, a NumPy array from Parquet, a dict),
    JSON text (a stock written before the columns were native) decoded; ``default`` when
    blank (None, NaN, "").  JSON text that does not decode raises ``ValueError``, or with
    ``lenient`` (readers that show a stock rather than merge into it) gives ``default``."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return default
        if not lenient:
            return DECODER.decode(text)
        try:
            return DECODER.decode(text)
        except ValueError:
            return default
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return default
    return value


def occurrence_list(value: Any) -> list[dict[str, Any]]:
    """Fresh occurrence dicts of a stored ``occurrences`` value (see :func:`nested`); an
    ``analysis`` that Parquet filled in with None (the column's other occurrences have
    one) is left out, as in an occurrence merged without one."""
    out = []
    for item in nested(value, ()):
        occ = dict(item)
        if "analysis" in occ and occ["analysis"] is None:
            del occ["analysis"]
        out.append(occ)
    return out


def string_list(value: Any) -> list[str]:
    """A stored ``variants``/``alias_keys`` value as a fresh list (see :func:`nested`)."""
    return list(nested(value, ()))


def seen_dict(value: Any) -> dict[str, str]:
    """A stored ``first_seen``/``last_seen`` as a fresh dict, {} when unknown (see :func:`nested`)."""
    seen = nested(value, None)
    return {} if not seen else {k: v for k, v in seen.items() if v is not None}


def native(name: str, value: Any) -> Any:
    """A stored value of nested column ``name`` in the form a frame holds (see the module doc):
    JSON text decoded, a NumPy array as a list (occurrences without the ``"analysis": None``
    Parquet fills in), a blank as the column's empty value."""
    if name in ("first_seen", "last_seen"):
        return seen_dict(value) or None
    if type(value) is list:  # already native
        return value
    items = nested(value, None)
    if items is None:
        return []
    items = items.tolist() if isinstance(items, np.ndarray) else list(items)
    if name == "occurrences":  # as Parquet gives them back: without the null analysis it filled in
        items = [_without_null_analysis(occ) for occ in items]
    return items


def _without_null_analysis(occ: Mapping[str, Any]) -> Mapping[str, Any]:
    if occ.get("analysis", "") is None:
        return {k: v for k, v in occ.items() if k != "analysis"}
    return occ


def nested_column(frame: pd.DataFrame, name: str) -> list[Any]:
    """Nested column ``name`` of a stored stock as :func:`native` values (old JSON text
    converted); the column's empty values when the frame lacks it."""
    if name not in frame.columns:
        return [native(name, None) for _ in range(len(frame))]
    return [native(name, value) for value in frame[name].tolist()]


def iso_time(seen_at: datetime | str | None) -> str:
    if seen_at is None:
        return datetime.now(UTC).isoformat(timespec="seconds")
    if isinstance(seen_at, str):
        datetime.fromisoformat(seen_at)  # validates
        return seen_at
    if seen_at.tzinfo is None:
        seen_at = seen_at.replace(tzinfo=UTC)
    return seen_at.isoformat(timespec="seconds")


def embedding_text(lemma: str, reading: str) -> str:
    """Text embedded for near-duplicate search: ``lemma + " " + reading``."""
    return f"{lemma} {reading}".strip()


def stock_texts(stock: pd.DataFrame) -> list[str]:
    """Embedding texts of every stock row (lemma falls back to expression)."""
    expressions = stock["expression"].tolist()
    lemmas = stock["lemma"].tolist()
    readings = stock["reading"].tolist()
    return [
        embedding_text(clean_text(lem) or clean_text(expr), clean_text(rd))
        for expr, lem, rd in zip(expressions, lemmas, readings, strict=True)
    ]


@gc_paused()
def native_stock(stock: pd.DataFrame) -> pd.DataFrame:
    """``stock`` (as read from Parquet, old JSON text or native) with its nested columns
    in the form :func:`frame_from_columns` gives them: lists, and dicts or None."""
    out = stock.copy()
    for name in NESTED_FIELDS:
        if name in out.columns:
            out[name] = pd.Series(nested_column(out, name), index=out.index, dtype=object)
    return out


# ---------------------------------------------------------------------------------------
# records: a stock row as plain Python values
# ---------------------------------------------------------------------------------------
def seen_entry(recording: str, at: str) -> dict[str, str]:
    return {"recording": recording, "at": at}


def record_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    rec: dict[str, Any] = {"key": clean_text(row.get("key"))}
    for field in TEXT_FIELDS:
        rec[field] = clean_text(row.get(field))
    rec["level_score"] = to_score(row.get("level_score"))
    rec["theme"] = clean_text(row.get("theme"))
    rec["occurrences"] = occurrence_list(row.get("occurrences"))
    rec["variants"] = string_list(row.get("variants"))
    rec["alias_keys"] = string_list(row.get("alias_keys"))
    rec["first_seen"] = seen_dict(row.get("first_seen"))
    rec["last_seen"] = seen_dict(row.get("last_seen"))
    return rec


def occurrence_rows(
    recordings: list[str],
    titles: list[str],
    starts: list[Any],
    ends: list[Any],
    urls: list[str],
    analyses: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """Each occurrence ``{"recording", "recording_title", "start", "end", "url": url or
    None}`` (+ ``"analysis"`` of its recording, when ``analyses`` has it), built
    column-wise: what :func:`row_from_record` writes for a record's occurrences."""
    out = [
        {"recording": r, "recording_title": t, "start": s, "end": e, "url": u or None}
        for r, t, s, e, u in zip(recordings, titles, starts, ends, urls, strict=True)
    ]
    if analyses:
        for occ in out:
            if (version := analyses.get(occ["recording"])) is not None:
                occ["analysis"] = version
    return out


def grouped(items: list[Any], offsets: Any) -> list[list[Any]]:
    """``items`` cut into lists: list ``g`` is ``items[offsets[g]:offsets[g + 1]]``."""
    bounds = np.asarray(offsets).tolist()
    return [items[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def seen_rows(recordings: list[str], at: str) -> list[dict[str, str]]:
    """``first_seen``/``last_seen`` of each recording seen at ``at``."""
    return [{"recording": r, "at": at} for r in recordings]


def row_from_record(rec: Mapping[str, Any]) -> dict[str, Any]:
    """The stock row of a record: its nested columns as fresh lists and dicts (the
    record stays the caller's to change), an empty sighting as None."""
    row = {"key": rec["key"]}
    for field in TEXT_FIELDS:
        row[field] = rec[field]
    row["level_score"] = rec["level_score"]
    row["occurrences"] = [dict(occ) for occ in rec["occurrences"]]
    row["count"] = len(rec["occurrences"])
    row["first_seen"] = dict(rec["first_seen"]) or None
    row["last_seen"] = dict(rec["last_seen"]) or None
    row["variants"] = list(rec["variants"])
    row["alias_keys"] = list(rec["alias_keys"])
    row["theme"] = rec["theme"]
    return row


def occurrence_id(occ: Mapping[str, Any]) -> tuple[str, Any]:
    return (occ.get("recording", ""), occ.get("start"))


_SMALL_TABLE = 2_000  # rows below which a Python loop beats pandas' vectorised string methods


def text_column(frame: pd.DataFrame, name: str) -> list[str]:
    """A column as stripped strings with "" for blanks (vectorised; 100k rows in ms)."""
    if name not in frame.columns:
        return [""] * len(frame)
    col = frame[name]
    if len(col) < _SMALL_TABLE:  # one recording's table: pandas' per-call overhead would be 6x the work
        return [clean_text(value) for value in col.tolist()]
    return col.where(col.notna(), "").astype(str).str.strip().tolist()


def text_values(frame: pd.DataFrame, name: str) -> np.ndarray | pd.Series:
    """:func:`text_column` for column-wise work: a NumPy object array for a small table
    (pandas' per-call overhead would dominate), else a Series with a fresh 0..n-1 index
    whose strings stay in Arrow, so only the values taken from it become Python strings.
    Both answer ``==``, ``take`` and ``tolist`` alike."""
    if name not in frame.columns or len(frame) < _SMALL_TABLE:
        return np.array(text_column(frame, name), dtype=object)
    col = frame[name].reset_index(drop=True)
    return col.where(col.notna(), "").astype(str).str.strip()


def float_column(frame: pd.DataFrame, name: str) -> list[float]:
    if name not in frame.columns:
        return [math.nan] * len(frame)
    return pd.to_numeric(frame[name], errors="coerce").astype("float64").tolist()


def start_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Occurrence times of a column (:func:`to_start` of each value) as an object array."""
    if name not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    col = frame[name]
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        rounded = col.to_numpy(dtype="float64", na_value=np.nan).round(3)
        out = rounded.astype(object)
        out[np.isnan(rounded)] = None
        return out
    out = np.empty(len(col), dtype=object)
    out[:] = [to_start(v) for v in col.tolist()]
    return out


DEFAULTS: dict[str, Any] = {name: "" for name in STOCK_COLUMNS if name not in NESTED_FIELDS}
DEFAULTS.update(level_score=math.nan, count=0)


def empty_stock() -> pd.DataFrame:
    """A stock with no rows and the canonical columns/dtypes."""
    return frame_from_columns({c: [] for c in STOCK_COLUMNS})


def frame_from_columns(columns: Mapping[str, list[Any]]) -> pd.DataFrame:
    data: dict[str, pd.Series] = {}
    for name in STOCK_COLUMNS:
        values = columns[name]
        if name == "count":
            data[name] = pd.Series(values, dtype="int64")
        elif name == "level_score":
            data[name] = pd.Series(values, dtype="float64")
        elif name in NESTED_FIELDS:  # lists and dicts (see the module doc)
            data[name] = pd.Series(values, dtype=object)
        else:  # callers pass cleaned str values ("" for blanks, never NaN)
            data[name] = pd.Series(values, dtype="str")
    return pd.DataFrame(data)


def frame_from_records(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    columns: dict[str, list[Any]] = {c: [] for c in STOCK_COLUMNS}
    for rec in records:
        for name, value in row_from_record(rec).items():
            columns[name].append(value)
    return frame_from_columns(columns)

