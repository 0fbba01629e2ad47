"""The stock's columns and how its values are stored.

A stock row is held in two shapes: the *row* (what the Parquet file holds: list/dict
columns as compact JSON strings, so the stock round-trips through Parquet unchanged) and
the *record* (the same row with its JSON columns decoded, for merging).  This module
converts between them, reads columns of expression tables, and builds frames with the
canonical columns and dtypes.

An occurrence is ``{"recording", "recording_title", "start", "end", "url"}`` plus, when
the caller knows it, ``"analysis"``: the version of the recording's analysis it came
from (so a re-analysed recording is recognised, see :mod:`.stock_removal`).  It is
identified by (recording, start).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
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
JSON_FIELDS = ("occurrences", "variants", "alias_keys", "first_seen", "last_seen")
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


def to_start(value: Any) -> float | str | None:
    """Occurrence start as seconds (rounded to ms) when numeric, else its text."""
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
        return text
    return None if math.isnan(number) else round(number, 3)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
DECODER = json.JSONDecoder()


def dumps(value: Any) -> str:
    """Compact JSON, readable Japanese (one shared encoder: 3x faster than json.dumps)."""
    return _ENCODER.encode(value)


@lru_cache(maxsize=4_096)
def _dumps_seen(recording: str, at: str) -> str:
    return _ENCODER.encode({"recording": recording, "at": at})


def loads(value: Any, default: Any) -> Any:
    text = clean_text(value)
    if not text:
        return default
    return DECODER.decode(text)


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


# ---------------------------------------------------------------------------------------
# records: a stock row with its JSON columns decoded
# ---------------------------------------------------------------------------------------
def seen_entry(recording: str, at: str) -> dict[str, str]:
    return {"recording": recording, "at": at}


def record_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    rec: dict[str, Any] = {"key": clean_text(row.get("key"))}
    for field in TEXT_FIELDS:
        rec[field] = clean_text(row.get(field))
    rec["level_score"] = to_score(row.get("level_score"))
    rec["theme"] = clean_text(row.get("theme"))
    rec["occurrences"] = loads(row.get("occurrences"), [])
    rec["variants"] = loads(row.get("variants"), [])
    rec["alias_keys"] = loads(row.get("alias_keys"), [])
    rec["first_seen"] = loads(row.get("first_seen"), {})
    rec["last_seen"] = loads(row.get("last_seen"), {})
    return rec


_OCCURRENCE_FIELDS = frozenset({"recording", "recording_title", "start", "end", "url"})
_VERSIONED_OCCURRENCE_FIELDS = _OCCURRENCE_FIELDS | {"analysis"}
encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]
if json.encoder.c_encode_basestring is not None:  # type: ignore[attr-defined]
    encode_str = json.encoder.c_encode_basestring  # type: ignore[attr-defined]


@lru_cache(maxsize=8_192)
def _encode_cached(text: str) -> str:
    """JSON string literal of a value that repeats a lot (recording keys and titles)."""
    return encode_str(text)


def _json_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is float and math.isfinite(value):
        return float.__repr__(value)  # what json.dumps writes for a float
    return dumps(value)


def _occurrence_json(occ: Mapping[str, Any]) -> str:
    """Same text as ``dumps(occ)`` for the usual occurrence (5 fields, or 6 with its
    ``analysis`` version last), ~4x faster."""
    rec, title, url = occ.get("recording"), occ.get("recording_title"), occ.get("url")
    analysis = occ.get("analysis")
    if (
        len(occ) not in (5, 6)
        or occ.keys() != (_OCCURRENCE_FIELDS if len(occ) == 5 else _VERSIONED_OCCURRENCE_FIELDS)
        or type(rec) is not str
        or type(title) is not str
        or not (url is None or type(url) is str)
        or not (analysis is None or type(analysis) is str)
    ):
        return dumps(occ)
    version = "" if len(occ) == 5 else f',"analysis":{"null" if analysis is None else _encode_cached(analysis)}'
    return (
        f'{{"recording":{_encode_cached(rec)},"recording_title":{_encode_cached(title)},'
        f'"start":{_json_scalar(occ["start"])},"end":{_json_scalar(occ["end"])},'
        f'"url":{"null" if url is None else encode_str(url)}{version}}}'
    )


def occurrence_jsons(
    recordings: list[str],
    titles: list[str],
    starts: list[Any],
    ends: list[Any],
    urls: list[str],
    analyses: Mapping[str, Any],
) -> list[str]:
    """``dumps`` of each occurrence ``{"recording", "recording_title", "start", "end",
    "url": url or None}`` (+ ``"analysis"`` of its recording, when ``analyses`` has it),
    built column-wise: the same text as :func:`row_from_record` writes, with recordings,
    titles and analyses encoded once each."""
    rec_lit = {r: _encode_cached(r) for r in dict.fromkeys(recordings)}
    title_lit = {t: _encode_cached(t) for t in dict.fromkeys(titles)}
    version = {r: f',"analysis":{dumps(analyses[r])}' if r in analyses else "" for r in rec_lit}
    return [
        f'{{"recording":{rec_lit[r]},"recording_title":{title_lit[t]},"start":{s},'
        f'"end":{e},"url":{encode_str(u) if u else "null"}{version[r]}}}'
        for r, t, s, e, u in zip(recordings, titles, _json_scalars(starts), _json_scalars(ends), urls, strict=True)
    ]


def _json_scalars(values: list[Any]) -> list[str]:
    """:func:`_json_scalar` of each value (finite floats, the usual case, without a call each)."""
    return [float.__repr__(v) if type(v) is float and v - v == 0.0 else _json_scalar(v) for v in values]


def json_lists(items: list[str], offsets: Any) -> list[str]:
    """JSON lists of already encoded ``items``: list ``g`` is ``items[offsets[g]:offsets[g + 1]]``."""
    bounds = np.asarray(offsets).tolist()
    return ["[" + ",".join(items[lo:hi]) + "]" for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def seen_jsons(recordings: list[str], at: str) -> list[str]:
    """``first_seen``/``last_seen`` text of each recording seen at ``at``."""
    return [_dumps_seen(r, at) for r in recordings]


def row_from_record(rec: Mapping[str, Any]) -> dict[str, Any]:
    row = {"key": rec["key"]}
    for field in TEXT_FIELDS:
        row[field] = rec[field]
    row["level_score"] = rec["level_score"]
    row["occurrences"] = "[" + ",".join(map(_occurrence_json, rec["occurrences"])) + "]"
    row["count"] = len(rec["occurrences"])
    row["first_seen"] = _dumps_json_seen(rec["first_seen"])
    row["last_seen"] = _dumps_json_seen(rec["last_seen"])
    row["variants"] = "[" + ",".join(map(encode_str, rec["variants"])) + "]"
    row["alias_keys"] = dumps(rec["alias_keys"]) if rec["alias_keys"] else "[]"
    row["theme"] = rec["theme"]
    return row


def _dumps_json_seen(seen: Mapping[str, str]) -> str:
    if set(seen) == {"recording", "at"}:
        return _dumps_seen(seen["recording"], seen["at"])
    return dumps(seen)


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


def start_column(frame: pd.DataFrame, name: str) -> list[float | str | None]:
    if name not in frame.columns:
        return [None] * len(frame)
    col = frame[name]
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        rounded = col.astype("float64").round(3)
        return [None if math.isnan(v) else v for v in rounded.tolist()]
    return [to_start(v) for v in col.tolist()]


DEFAULTS: dict[str, Any] = {name: "" for name in STOCK_COLUMNS}
DEFAULTS.update(
    level_score=math.nan,
    count=0,
    occurrences="[]",
    variants="[]",
    alias_keys="[]",
    first_seen="{}",
    last_seen="{}",
)


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
        else:  # callers pass cleaned str values ("" for blanks, never NaN)
            data[name] = pd.Series(values, dtype="str")
    return pd.DataFrame(data)


def frame_from_records(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    columns: dict[str, list[Any]] = {c: [] for c in STOCK_COLUMNS}
    for rec in records:
        for name, value in row_from_record(rec).items():
            columns[name].append(value)
    return frame_from_columns(columns)

