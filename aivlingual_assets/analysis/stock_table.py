"""The stock as mutable columns (cheap at 100k rows: only touched rows become records)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .kana import normalize_many
from .stock_columns import (
    DEFAULTS,
    NESTED_FIELDS,
    STOCK_COLUMNS,
    embedding_text,
    empty_stock,
    float_column,
    frame_from_columns,
    gc_paused,
    nested_column,
    record_from_row,
    row_from_record,
    text_column,
)
from .stock_exact import absorb


class StockTable:
    """The stock as column lists: lookups by key/alias and in-place merges touch only
    the affected rows (made records on demand), so a per-recording update of a 100k-row
    stock costs little more than copying its columns.  Nested columns are read in their
    native form (:func:`.stock_columns.native`: a stock stored with JSON text is converted).

    Rows are addressed by position; a dropped row keeps its position (it is left out of
    look-ups and of :meth:`to_frame`), an appended row takes the next one."""

    @gc_paused()
    def __init__(self, stock: pd.DataFrame | None) -> None:
        if stock is None or len(stock) == 0:
            stock = empty_stock()
        if "key" not in stock.columns:
            raise ValueError("stock has no 'key' column")
        n = len(stock)
        self.cols: dict[str, list[Any]] = {}
        for name in STOCK_COLUMNS:
            if name in NESTED_FIELDS:
                self.cols[name] = nested_column(stock, name)
            elif name not in stock.columns:
                self.cols[name] = [DEFAULTS[name]] * n
            elif name == "level_score":
                self.cols[name] = float_column(stock, name)
            elif name == "count":
                counts = pd.to_numeric(stock[name], errors="coerce").fillna(0)
                self.cols[name] = counts.astype("int64").tolist()
            else:
                self.cols[name] = text_column(stock, name)
        self.pos_of_key: dict[str, int] = {}
        for pos, key in enumerate(self.cols["key"]):
            if not key:
                raise ValueError(f"stock row {pos} has a blank key")
            if key in self.pos_of_key:
                raise ValueError(f"stock has duplicate key {key!r}")
            self.pos_of_key[key] = pos
        self.pos_of_alias: dict[str, int] = {}
        for pos, aliases in enumerate(self.cols["alias_keys"]):
            for alias in aliases:
                self.pos_of_alias.setdefault(alias, pos)
        self.touched: dict[int, dict[str, Any]] = {}
        self.dropped: set[int] = set()
        self._by_reading: dict[str, list[int]] | None = None
        self._by_recording: dict[str, set[int]] | None = None
        self._scanned = False  # positions_mentioning's first call scans instead of building the look-up

    def __len__(self) -> int:
        """Positions in use, dropped rows included."""
        return len(self.cols["key"])

    @property
    def keys(self) -> list[str]:
        """Keys of the rows (dropped rows left out)."""
        if not self.dropped:
            return self.cols["key"]
        return [key for pos, key in enumerate(self.cols["key"]) if pos not in self.dropped]

    def positions_mentioning(self, recordings: Iterable[str]) -> list[int]:
        """Rows with an occurrence of one of ``recordings`` (dropped rows left out), in order.

        The first call scans the untouched rows' occurrences, so only candidates become
        records; later calls use a recording → rows look-up built then (one more pass) and
        kept a superset as rows are merged into, so taking many recordings out of a large
        stock costs their rows, not a pass over the stock each."""
        wanted = set(recordings)
        if self._by_recording is None and not self._scanned:
            self._scanned = True
            column = self.cols["occurrences"]
            candidates = [pos for pos in range(len(self)) if pos in self.touched
                          or any(occ.get("recording") in wanted for occ in column[pos])]  # fmt: skip
        else:
            if self._by_recording is None:
                self._by_recording = {}
                for pos in range(len(self)):
                    rec = self.touched.get(pos)
                    self._note_recordings(pos, self.cols["occurrences"][pos] if rec is None else rec["occurrences"])
            candidates = sorted(set().union(*(self._by_recording.get(r, ()) for r in wanted)))
        return [pos for pos in candidates if pos not in self.dropped
                and any(occ.get("recording") in wanted for occ in self.record(pos)["occurrences"])]  # fmt: skip

    def forget_recordings(self, recordings: Iterable[str]) -> None:
        """The rows no longer hold any occurrence of ``recordings``."""
        if self._by_recording is not None:
            for recording in recordings:
                self._by_recording.pop(recording, None)

    def _note_recordings(self, pos: int, occurrences: Iterable[Mapping[str, Any]]) -> None:
        if self._by_recording is not None:
            for occ in occurrences:
                self._by_recording.setdefault(occ.get("recording", ""), set()).add(pos)

    def resolve(self, key: str) -> int | None:
        pos = self.pos_of_key.get(key)
        return self.pos_of_alias.get(key) if pos is None else pos

    def record(self, pos: int) -> dict[str, Any]:
        rec = self.touched.get(pos)
        if rec is None:
            rec = record_from_row({name: self.cols[name][pos] for name in STOCK_COLUMNS})
            self.touched[pos] = rec
        return rec

    def peek(self, pos: int) -> dict[str, str]:
        """Fields the near-duplicate rule needs, without making a record."""
        rec = self.touched.get(pos)
        if rec is not None:
            return rec
        return {f: self.cols[f][pos] for f in ("expression", "lemma", "reading", "meaning")}

    def positions_by_reading(self) -> dict[str, list[int]]:
        """Rows by normalised reading, built on first use (kana-spelling look-ups)."""
        if self._by_reading is None:
            self._by_reading = {}
            readings = [
                reading if (rec := self.touched.get(pos)) is None else rec["reading"]
                for pos, reading in enumerate(self.cols["reading"])
            ]
            for pos, reading in enumerate(normalize_many(readings)):
                if reading and pos not in self.dropped:
                    self._by_reading.setdefault(reading, []).append(pos)
        return self._by_reading

    def _reading_of(self, pos: int) -> str:
        return normalize_many([self.peek(pos)["reading"]])[0]

    def lemmas(self) -> list[str]:
        """Lemma of every row, falling back to the expression."""
        return [lem or expr for lem, expr in zip(self.cols["lemma"], self.cols["expression"])]

    def texts(self, keys: Iterable[str]) -> list[str]:
        out = []
        for key in keys:
            pos = self.pos_of_key[key]
            lemma = self.cols["lemma"][pos] or self.cols["expression"][pos]
            out.append(embedding_text(lemma, self.cols["reading"][pos]))
        return out

    def absorb(self, pos: int, source: Mapping[str, Any], *, newer: bool = False) -> bool:
        target = self.record(pos)
        added = absorb(target, source, newer=newer)
        self._note_recordings(pos, source["occurrences"])
        for alias in (source["key"], *source["alias_keys"]):
            if alias != target["key"]:
                self.pos_of_alias.setdefault(alias, pos)
        return added

    def append(self, rec: dict[str, Any]) -> int:
        pos = len(self)
        for name in STOCK_COLUMNS:
            self.cols[name].append(None)  # written from the record by to_frame
        self.cols["key"][pos] = rec["key"]
        self.touched[pos] = rec
        self._note_recordings(pos, rec["occurrences"])
        self.pos_of_key[rec["key"]] = pos
        for alias in rec["alias_keys"]:
            self.pos_of_alias.setdefault(alias, pos)
        if self._by_reading is not None and (reading := self._reading_of(pos)):
            self._by_reading.setdefault(reading, []).append(pos)
        return pos

    def drop(self, pos: int) -> None:
        """Take the row out: its key and aliases no longer resolve, :meth:`to_frame` leaves it out."""
        rec = self.record(pos)
        self.dropped.add(pos)
        for key in (rec["key"], *rec["alias_keys"]):
            if self.pos_of_key.get(key) == pos:
                del self.pos_of_key[key]
            if self.pos_of_alias.get(key) == pos:
                del self.pos_of_alias[key]
        if self._by_reading is not None and pos in (bucket := self._by_reading.get(self._reading_of(pos), [])):
            bucket.remove(pos)  # (a reading filled in since the look-up was built has no bucket)

    @gc_paused()
    def to_frame(self) -> pd.DataFrame:
        """The table as a stock frame (dropped rows left out)."""
        for pos, rec in self.touched.items():
            if pos not in self.dropped:
                for name, value in row_from_record(rec).items():
                    self.cols[name][pos] = value
        if not self.dropped:
            return frame_from_columns(self.cols)
        keep = [pos for pos in range(len(self)) if pos not in self.dropped]
        return frame_from_columns({name: [values[pos] for pos in keep] for name, values in self.cols.items()})
