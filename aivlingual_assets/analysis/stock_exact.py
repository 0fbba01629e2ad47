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

import pandas as pd

from .kana import match_key, match_keys
from .stock_columns import (
    TEXT_FIELDS,
    float_column,
    frame_from_records,
    iso_time,
    occurrence_id,
    seen_entry,
    start_column,
    text_column,
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


def expression_records(
    expressions: pd.DataFrame, at: str, analyses: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Exact aggregation of an expression table into records keyed by stock key, in
    first-appearance order.  Rows without any expression/lemma text are ignored.

    ``analyses``: the version of each recording's analysis, kept in its occurrences."""
    analyses = analyses or {}
    n = len(expressions)
    if n and "recording" not in expressions.columns:
        raise ValueError("expression table needs a 'recording' column")
    cols = {
        name: text_column(expressions, name)
        for name in (*TEXT_FIELDS, "recording", "recording_title", "url")
    }
    starts, ends = start_column(expressions, "start"), start_column(expressions, "end")
    scores = float_column(expressions, "level_score")
    lemmas = [lem or expr for lem, expr in zip(cols["lemma"], cols["expression"], strict=True)]
    keys = [
        hashlib.sha256(mk.encode("utf-8")).hexdigest()[:16]
        for mk in match_keys(lemmas, cols["reading"])
    ]
    fill = TEXT_FIELDS[2:]  # reading, meaning, ...: coalesced from later rows when blank
    fill_cols = [cols[f] for f in fill]
    seen_cache: dict[str, dict[str, str]] = {}
    records: dict[str, dict[str, Any]] = {}
    ids: dict[str, set[tuple[str, Any]]] = {}
    rows = zip(
        range(n), keys, lemmas, cols["expression"], cols["recording"],
        cols["recording_title"], starts, ends, cols["url"], scores,
    )  # fmt: skip
    for i, key, lemma, expression, recording, title, start, end, url, score in rows:
        if not lemma:
            continue
        seen = seen_cache.get(recording)
        if seen is None:
            seen = seen_cache[recording] = seen_entry(recording, at)
        expression = expression or lemma
        occ = {
            "recording": recording,
            "recording_title": title,
            "start": start,
            "end": end,
            "url": url or None,
        }
        if recording in analyses:
            occ["analysis"] = analyses[recording]
        rec = records.get(key)
        if rec is None:
            rec = {"key": key, "expression": expression, "lemma": lemma}
            for field, values in zip(fill, fill_cols, strict=True):
                rec[field] = values[i]
            rec["level_score"] = score
            rec["theme"] = ""
            rec["occurrences"] = [occ]
            rec["variants"] = [expression]
            rec["alias_keys"] = []
            rec["first_seen"] = rec["last_seen"] = seen
            records[key] = rec
            ids[key] = {(recording, start)}
            continue
        known = ids[key]
        if (recording, start) not in known:
            known.add((recording, start))
            rec["occurrences"].append(occ)
            rec["last_seen"] = seen
        if expression not in rec["variants"]:
            rec["variants"].append(expression)
        for field, values in zip(fill, fill_cols, strict=True):
            if not rec[field]:
                rec[field] = values[i]
        if score == score and rec["level_score"] != rec["level_score"]:  # NaN-safe fill
            rec["level_score"] = score
    return records


def aggregate_expressions(
    expressions: pd.DataFrame, *, seen_at: datetime | str | None = None
) -> pd.DataFrame:
    """Exact-merge an expression table (one or many recordings) into stock rows."""
    return frame_from_records(expression_records(expressions, iso_time(seen_at)).values())

