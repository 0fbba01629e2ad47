"""Taking recordings out of the stock: a re-analysed recording's old occurrences, or a
recording that is no longer registered.

Each occurrence may carry the version of its recording's analysis (``"analysis"``), so
:func:`recordings_held` tells which versions (and titles) of each recording the stock
holds and a caller can tell a recording whose analysis changed from one already merged.

:func:`remove_recordings` drops the recordings' occurrences; rows left without any
occurrence leave the stock and its FAISS index.  A surviving row whose first or last
sighting was a removed recording is re-pointed at its earliest / latest remaining one.
Variants and alias keys stay: they only route later spellings to the row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .stock_columns import empty_stock, nested, seen_dict, seen_entry
from .stock_index import StockIndex
from .stock_table import StockTable

__all__ = [
    "HeldRecording",
    "Removal",
    "drop_recordings",
    "recording_analyses",
    "recordings_held",
    "remove_recordings",
    "seen_times",
]


@dataclass(frozen=True)
class Removal:
    stock: pd.DataFrame
    removed_keys: tuple[str, ...]  # rows left without any occurrence, in stock order
    changed: int  # rows that lost occurrences but keep others


@dataclass(frozen=True)
class HeldRecording:
    """What the stock holds of one recording."""

    versions: frozenset[str | None]  # versions of its analysis (``None``: merged without one)
    titles: frozenset[str]  # the titles its occurrences show


def recordings_held(stock: pd.DataFrame | None) -> dict[str, HeldRecording]:
    """Each recording the stock holds occurrences of, with their analysis versions and titles."""
    versions: dict[str, set[str | None]] = {}
    titles: dict[str, set[str]] = {}
    if stock is not None and len(stock):
        for raw in stock["occurrences"].tolist():
            for occ in nested(raw, ()):
                recording = occ.get("recording", "")
                versions.setdefault(recording, set()).add(occ.get("analysis"))
                titles.setdefault(recording, set()).add(occ.get("recording_title") or "")
    return {r: HeldRecording(frozenset(v), frozenset(titles[r])) for r, v in versions.items()}


def recording_analyses(stock: pd.DataFrame | None) -> dict[str, set[str | None]]:
    """Versions of each recording's analysis the stock holds (``None``: merged without one)."""
    return {recording: set(held.versions) for recording, held in recordings_held(stock).items()}


def seen_times(stock: pd.DataFrame | None) -> dict[str, str]:
    """When the stock first took in each recording, from the rows' first and last sightings."""
    times: dict[str, str] = {}
    if stock is None or len(stock) == 0:
        return times
    for column in ("first_seen", "last_seen"):
        if column not in stock.columns:
            continue
        for recording, at in _distinct_sightings(stock[column].tolist()):
            if recording and at and (recording not in times or at < times[recording]):
                times[recording] = at
    return times


def _distinct_sightings(values: list[Any]) -> set[tuple[Any, Any]]:
    """(recording, at) of each distinct sighting (a few per recording)."""
    out: set[tuple[Any, Any]] = set()
    texts: set[str] = set()
    for raw in values:
        if isinstance(raw, dict):  # the native form, the usual case
            out.add((raw.get("recording"), raw.get("at")))
        elif isinstance(raw, str) and raw not in texts:  # a stock stored with JSON text: each text decoded once
            texts.add(raw)
            seen = seen_dict(raw)
            out.add((seen.get("recording"), seen.get("at")))
    return out


def remove_recordings(
    stock: pd.DataFrame | None, recordings: Iterable[str], *, index: StockIndex | None = None
) -> Removal:
    """The stock without any occurrence of ``recordings`` (see the module doc).

    ``index`` is updated in place: the vectors of removed rows leave it.
    """
    if stock is None or len(stock) == 0:
        return Removal(empty_stock() if stock is None else stock, (), 0)
    table = StockTable(stock)
    removed_keys, changed = drop_recordings(table, recordings, lambda: seen_times(stock))
    if index is not None:
        index.remove(removed_keys)
    return Removal(table.to_frame(), tuple(removed_keys), changed)


def drop_recordings(
    table: StockTable, recordings: Iterable[str], times: Callable[[], Mapping[str, str]]
) -> tuple[list[str], int]:
    """:func:`remove_recordings` on a table in memory: (keys of the dropped rows, rows changed).

    ``times`` gives :func:`seen_times` of the table, asked only when a sighting must move.
    """
    gone = set(recordings)
    dropped: list[str] = []
    changed = 0
    known: Mapping[str, str] | None = None
    for pos in table.positions_mentioning(gone):
        rec = table.record(pos)
        kept = [occ for occ in rec["occurrences"] if occ.get("recording") not in gone]
        if not kept:
            dropped.append(rec["key"])
            table.drop(pos)
            continue
        rec["occurrences"] = kept
        changed += 1
        if rec["first_seen"].get("recording") in gone or rec["last_seen"].get("recording") in gone:
            known = times() if known is None else known
            _resight(rec, gone, known)
    table.forget_recordings(gone)
    return dropped, changed


def _resight(rec: dict[str, Any], gone: set[str], times: Mapping[str, str]) -> None:
    """Point first/last sightings that named a removed recording at the remaining ones."""
    remaining = list(dict.fromkeys(occ.get("recording", "") for occ in rec["occurrences"]))
    known = sorted((times[r], r) for r in remaining if r in times)
    if rec["first_seen"].get("recording") in gone:
        at, recording = known[0] if known else (rec["first_seen"].get("at", ""), remaining[0])
        rec["first_seen"] = seen_entry(recording, at)
    if rec["last_seen"].get("recording") in gone:
        at, recording = known[-1] if known else (rec["last_seen"].get("at", ""), remaining[-1])
        rec["last_seen"] = seen_entry(recording, at)
