"""The vocabulary stock: one row per expression across all recordings.

Each recording yields an expression table; the stock folds them together so a learner
sees "てぇてぇ — seen 14 times in 9 streams" instead of 14 separate cards.

Merging happens in two stages:

* **Exact** — rows with the same :func:`kana.match_key` (normalised lemma + reading) are
  the same expression.  The stock ``key`` is the first 16 hex digits of its SHA-256, so
  it is stable across runs and machines.
* **Near-duplicate** — embeddings of ``lemma + " " + reading`` propose candidates with
  cosine ≥ ``threshold``: :func:`update_stock` searches the stock's FAISS index
  (:class:`StockIndex`) with the new rows; :func:`merge_near_duplicates` compares a whole
  table block-wise (see :func:`_candidate_pairs`).  A candidate is accepted
  only if :func:`near_duplicate_compatible` holds: the two share the normalised lemma *or*
  the normalised reading, *and* their meanings are compatible (either blank, or they
  share content words).  So spelling variants (お疲れ様でした / お疲れさまでした) merge
  while homophones (橋 "bridge" / 箸 "chopsticks", both はし) never do, whatever the
  threshold.  A word and its kana spelling (可愛い / かわいい: same reading, one lemma *is*
  the reading) is a candidate whatever its cosine, since character n-grams of two
  scripts barely overlap; the same rule then decides.  The absorbed key is remembered
  in ``alias_keys`` so the next recording resolves it exactly, without embedding it again.

Occurrences are identified by (recording, start); re-running a recording adds nothing,
which makes :func:`update_stock` idempotent.  List/dict columns (``occurrences``,
``variants``, ``alias_keys``, ``first_seen``, ``last_seen``) are JSON strings so the
stock round-trips through Parquet unchanged.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import faiss
import numpy as np
import pandas as pd

from .kana import match_key, match_keys, normalize, normalize_many
from .stock_index import StockIndex

__all__ = [
    "STOCK_COLUMNS",
    "StockUpdate",
    "aggregate_expressions",
    "embedding_text",
    "empty_stock",
    "meanings_compatible",
    "merge_near_duplicates",
    "near_duplicate_compatible",
    "stock_key",
    "stock_texts",
    "update_stock",
]

Embed = Callable[[list[str]], np.ndarray]

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
DEFAULT_K = 8  # neighbours per query: near-duplicate groups are small, union-find chains the rest
_BLOCK_ALL_PAIRS = 64  # blocks up to this size are compared all-pairs, larger via FAISS k-NN
_PAIR_CHUNK = 65_536  # pairs scored per einsum call (bounds scratch memory to ~130 MB)


# ---------------------------------------------------------------------------------------
# scalar helpers
# ---------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    """Stripped string; None/NaN/NA become "" so blanks compare equal."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip()


def _score(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _start(value: Any) -> float | str | None:
    """Occurrence start as seconds (rounded to ms) when numeric, else its text."""
    if isinstance(value, timedelta):  # includes pd.Timedelta
        return round(value.total_seconds(), 3)
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return None if math.isnan(float(value)) else round(float(value), 3)
    text = _text(value)
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    return None if math.isnan(number) else round(number, 3)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_DECODER = json.JSONDecoder()


def _dumps(value: Any) -> str:
    """Compact JSON, readable Japanese (one shared encoder: 3x faster than json.dumps)."""
    return _ENCODER.encode(value)


@lru_cache(maxsize=4_096)
def _dumps_seen(recording: str, at: str) -> str:
    return _ENCODER.encode({"recording": recording, "at": at})


def _loads(value: Any, default: Any) -> Any:
    text = _text(value)
    if not text:
        return default
    return _DECODER.decode(text)


def _iso(seen_at: datetime | str | None) -> str:
    if seen_at is None:
        return datetime.now(UTC).isoformat(timespec="seconds")
    if isinstance(seen_at, str):
        datetime.fromisoformat(seen_at)  # validates
        return seen_at
    if seen_at.tzinfo is None:
        seen_at = seen_at.replace(tzinfo=UTC)
    return seen_at.isoformat(timespec="seconds")


@lru_cache(maxsize=262_144)
def stock_key(lemma: str, reading: str) -> str:
    """Stable id of an expression: first 16 hex of sha256(match_key(lemma, reading))."""
    return hashlib.sha256(match_key(lemma, reading).encode("utf-8")).hexdigest()[:16]


def embedding_text(lemma: str, reading: str) -> str:
    """Text embedded for near-duplicate search: ``lemma + " " + reading``."""
    return f"{lemma} {reading}".strip()


def stock_texts(stock: pd.DataFrame) -> list[str]:
    """Embedding texts of every stock row (lemma falls back to expression)."""
    expressions = stock["expression"].tolist()
    lemmas = stock["lemma"].tolist()
    readings = stock["reading"].tolist()
    return [
        embedding_text(_text(lem) or _text(expr), _text(rd))
        for expr, lem, rd in zip(expressions, lemmas, readings, strict=True)
    ]


# ---------------------------------------------------------------------------------------
# the near-duplicate rule
# ---------------------------------------------------------------------------------------
_STOPWORDS = frozenset(
    "a an the to of in on at for and or be is are was it its this that as by with "
    "from one's someone something sb sth".split()
)
_WORD = re.compile(r"[a-z0-9']+")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


@lru_cache(maxsize=65_536)
def _meaning_tokens(meaning: str) -> frozenset[str]:
    """Content tokens of a gloss: English words (light plural stripping) and character
    bigrams of Japanese runs, so both English and Japanese glosses can be compared."""
    text = unicodedata.normalize("NFKC", meaning).casefold()
    tokens: set[str] = set()
    for word in _WORD.findall(text):
        word = word.strip("'")
        if len(word) < 2 or word in _STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        tokens.add(word)
    for run in _NON_ASCII_RUN.findall(text):
        run = normalize(run)
        if len(run) == 1:
            tokens.add(run)
        tokens.update(run[i : i + 2] for i in range(len(run) - 1))
    return frozenset(tokens)


def meanings_compatible(a: str, b: str) -> bool:
    """Could these two glosses describe the same expression?

    Blank (unknown) meanings are compatible with anything.  Otherwise at least half of
    the smaller gloss's content tokens must occur in the other ("bridge" vs "chopsticks"
    → no; "cute" vs "cute, adorable" → yes).
    """
    a, b = _text(a), _text(b)
    if not a or not b:
        return True
    ta, tb = _meaning_tokens(a), _meaning_tokens(b)
    if not ta or not tb:  # only stopwords/punctuation: as uninformative as a blank
        return True
    return len(ta & tb) / min(len(ta), len(tb)) >= 0.5


def near_duplicate_compatible(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """May two embedding-similar expressions be merged?  (the rule in the module doc)

    ``a``/``b`` need ``lemma``, ``reading`` and ``meaning`` (``expression`` is used when
    the lemma is blank).
    """
    return _rule_on_normalised(
        normalize(_text(a.get("lemma")) or _text(a.get("expression"))),
        normalize(_text(a.get("reading"))),
        _text(a.get("meaning")),
        normalize(_text(b.get("lemma")) or _text(b.get("expression"))),
        normalize(_text(b.get("reading"))),
        _text(b.get("meaning")),
    )


# ---------------------------------------------------------------------------------------
# records: a stock row with its JSON columns decoded
# ---------------------------------------------------------------------------------------
def _seen(recording: str, at: str) -> dict[str, str]:
    return {"recording": recording, "at": at}


def _record_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    rec: dict[str, Any] = {"key": _text(row.get("key"))}
    for field in TEXT_FIELDS:
        rec[field] = _text(row.get(field))
    rec["level_score"] = _score(row.get("level_score"))
    rec["theme"] = _text(row.get("theme"))
    rec["occurrences"] = _loads(row.get("occurrences"), [])
    rec["variants"] = _loads(row.get("variants"), [])
    rec["alias_keys"] = _loads(row.get("alias_keys"), [])
    rec["first_seen"] = _loads(row.get("first_seen"), {})
    rec["last_seen"] = _loads(row.get("last_seen"), {})
    return rec


_OCCURRENCE_FIELDS = frozenset({"recording", "recording_title", "start", "end", "url"})
_encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]
if json.encoder.c_encode_basestring is not None:  # type: ignore[attr-defined]
    _encode_str = json.encoder.c_encode_basestring  # type: ignore[attr-defined]


@lru_cache(maxsize=8_192)
def _encode_cached(text: str) -> str:
    """JSON string literal of a value that repeats a lot (recording keys and titles)."""
    return _encode_str(text)


def _json_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is float and math.isfinite(value):
        return float.__repr__(value)  # what json.dumps writes for a float
    return _dumps(value)


def _occurrence_json(occ: Mapping[str, Any]) -> str:
    """Same text as ``_dumps(occ)`` for the usual 5-field occurrence, ~4x faster."""
    rec, title, url = occ.get("recording"), occ.get("recording_title"), occ.get("url")
    if (
        len(occ) != 5
        or occ.keys() != _OCCURRENCE_FIELDS
        or type(rec) is not str
        or type(title) is not str
        or not (url is None or type(url) is str)
    ):
        return _dumps(occ)
    return (
        f'{{"recording":{_encode_cached(rec)},"recording_title":{_encode_cached(title)},'
        f'"start":{_json_scalar(occ["start"])},"end":{_json_scalar(occ["end"])},'
        f'"url":{"null" if url is None else _encode_str(url)}}}'
    )


def _row_from_record(rec: Mapping[str, Any]) -> dict[str, Any]:
    row = {"key": rec["key"]}
    for field in TEXT_FIELDS:
        row[field] = rec[field]
    row["level_score"] = rec["level_score"]
    row["occurrences"] = "[" + ",".join(map(_occurrence_json, rec["occurrences"])) + "]"
    row["count"] = len(rec["occurrences"])
    row["first_seen"] = _dumps_json_seen(rec["first_seen"])
    row["last_seen"] = _dumps_json_seen(rec["last_seen"])
    row["variants"] = "[" + ",".join(map(_encode_str, rec["variants"])) + "]"
    row["alias_keys"] = _dumps(rec["alias_keys"]) if rec["alias_keys"] else "[]"
    row["theme"] = rec["theme"]
    return row


def _dumps_json_seen(seen: Mapping[str, str]) -> str:
    if set(seen) == {"recording", "at"}:
        return _dumps_seen(seen["recording"], seen["at"])
    return _dumps(seen)


def _occurrence_id(occ: Mapping[str, Any]) -> tuple[str, Any]:
    return (occ.get("recording", ""), occ.get("start"))


def _absorb(target: dict[str, Any], source: Mapping[str, Any]) -> bool:
    """Fold ``source`` into ``target``; True when at least one occurrence was new.

    Occurrences are never duplicated (same recording + start); blank fields of the target
    are filled from the source; the source key and its aliases become target aliases.
    """
    ids = {_occurrence_id(o) for o in target["occurrences"]}
    added = False
    for occ in source["occurrences"]:
        oid = _occurrence_id(occ)
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
        if not target[field] and source[field]:
            target[field] = source[field]
    if math.isnan(target["level_score"]) and not math.isnan(source["level_score"]):
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


def _text_column(frame: pd.DataFrame, name: str) -> list[str]:
    """A column as stripped strings with "" for blanks (vectorised; 100k rows in ms)."""
    if name not in frame.columns:
        return [""] * len(frame)
    col = frame[name]
    return col.where(col.notna(), "").astype(str).str.strip().tolist()


def _float_column(frame: pd.DataFrame, name: str) -> list[float]:
    if name not in frame.columns:
        return [math.nan] * len(frame)
    return pd.to_numeric(frame[name], errors="coerce").astype("float64").tolist()


def _start_column(frame: pd.DataFrame, name: str) -> list[float | str | None]:
    if name not in frame.columns:
        return [None] * len(frame)
    col = frame[name]
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        rounded = col.astype("float64").round(3)
        return [None if math.isnan(v) else v for v in rounded.tolist()]
    return [_start(v) for v in col.tolist()]


def _expression_records(expressions: pd.DataFrame, at: str) -> dict[str, dict[str, Any]]:
    """Exact aggregation of an expression table into records keyed by stock key, in
    first-appearance order.  Rows without any expression/lemma text are ignored."""
    n = len(expressions)
    if n and "recording" not in expressions.columns:
        raise ValueError("expression table needs a 'recording' column")
    cols = {
        name: _text_column(expressions, name)
        for name in (*TEXT_FIELDS, "recording", "recording_title", "url")
    }
    starts, ends = _start_column(expressions, "start"), _start_column(expressions, "end")
    scores = _float_column(expressions, "level_score")
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
            seen = seen_cache[recording] = _seen(recording, at)
        expression = expression or lemma
        occ = {
            "recording": recording,
            "recording_title": title,
            "start": start,
            "end": end,
            "url": url or None,
        }
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


_DEFAULTS: dict[str, Any] = {name: "" for name in STOCK_COLUMNS}
_DEFAULTS.update(
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
    return _frame_from_columns({c: [] for c in STOCK_COLUMNS})


def _frame_from_columns(columns: Mapping[str, list[Any]]) -> pd.DataFrame:
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


def _frame_from_records(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    columns: dict[str, list[Any]] = {c: [] for c in STOCK_COLUMNS}
    for rec in records:
        for name, value in _row_from_record(rec).items():
            columns[name].append(value)
    return _frame_from_columns(columns)


def aggregate_expressions(
    expressions: pd.DataFrame, *, seen_at: datetime | str | None = None
) -> pd.DataFrame:
    """Exact-merge an expression table (one or many recordings) into stock rows."""
    return _frame_from_records(_expression_records(expressions, _iso(seen_at)).values())


# ---------------------------------------------------------------------------------------
# the stock as mutable columns (cheap at 100k rows: only touched rows are decoded)
# ---------------------------------------------------------------------------------------
class _StockTable:
    """The stock as column lists: lookups by key/alias and in-place merges touch only
    the affected rows (decoded to records on demand), so a per-recording update of a
    100k-row stock costs little more than copying its columns."""

    def __init__(self, stock: pd.DataFrame | None) -> None:
        if stock is None or len(stock) == 0:
            stock = empty_stock()
        if "key" not in stock.columns:
            raise ValueError("stock has no 'key' column")
        n = len(stock)
        self.cols: dict[str, list[Any]] = {}
        for name in STOCK_COLUMNS:
            if name not in stock.columns:
                self.cols[name] = [_DEFAULTS[name]] * n
            elif name == "level_score":
                self.cols[name] = _float_column(stock, name)
            elif name == "count":
                counts = pd.to_numeric(stock[name], errors="coerce").fillna(0)
                self.cols[name] = counts.astype("int64").tolist()
            else:
                values = _text_column(stock, name)
                if name in JSON_FIELDS:
                    values = [v or _DEFAULTS[name] for v in values]
                self.cols[name] = values
        self.pos_of_key: dict[str, int] = {}
        for pos, key in enumerate(self.cols["key"]):
            if not key:
                raise ValueError(f"stock row {pos} has a blank key")
            if key in self.pos_of_key:
                raise ValueError(f"stock has duplicate key {key!r}")
            self.pos_of_key[key] = pos
        self.pos_of_alias: dict[str, int] = {}
        for pos, aliases in enumerate(self.cols["alias_keys"]):
            if aliases != "[]":
                for alias in _DECODER.decode(aliases):
                    self.pos_of_alias.setdefault(alias, pos)
        self.touched: dict[int, dict[str, Any]] = {}
        self._by_reading: dict[str, list[int]] | None = None

    def __len__(self) -> int:
        return len(self.cols["key"])

    @property
    def keys(self) -> list[str]:
        return self.cols["key"]

    def resolve(self, key: str) -> int | None:
        pos = self.pos_of_key.get(key)
        return self.pos_of_alias.get(key) if pos is None else pos

    def record(self, pos: int) -> dict[str, Any]:
        rec = self.touched.get(pos)
        if rec is None:
            rec = _record_from_row({name: self.cols[name][pos] for name in STOCK_COLUMNS})
            self.touched[pos] = rec
        return rec

    def peek(self, pos: int) -> dict[str, str]:
        """Fields the near-duplicate rule needs, without decoding JSON."""
        rec = self.touched.get(pos)
        if rec is not None:
            return rec
        return {f: self.cols[f][pos] for f in ("expression", "lemma", "reading", "meaning")}

    def positions_by_reading(self) -> dict[str, list[int]]:
        """Rows by normalised reading, built on first use (kana-spelling look-ups)."""
        if self._by_reading is None:
            self._by_reading = {}
            for pos, reading in enumerate(normalize_many(self.cols["reading"])):
                if reading:
                    self._by_reading.setdefault(reading, []).append(pos)
        return self._by_reading

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

    def absorb(self, pos: int, source: Mapping[str, Any]) -> bool:
        target = self.record(pos)
        added = _absorb(target, source)
        for alias in (source["key"], *source["alias_keys"]):
            if alias != target["key"]:
                self.pos_of_alias.setdefault(alias, pos)
        return added

    def append(self, rec: dict[str, Any]) -> int:
        pos = len(self)
        for name in STOCK_COLUMNS:
            self.cols[name].append(None)
        self.touched[pos] = rec
        self.pos_of_key[rec["key"]] = pos
        for alias in rec["alias_keys"]:
            self.pos_of_alias.setdefault(alias, pos)
        return pos

    def to_frame(self) -> pd.DataFrame:
        for pos, rec in self.touched.items():
            for name, value in _row_from_record(rec).items():
                self.cols[name][pos] = value
        return _frame_from_columns(self.cols)


# ---------------------------------------------------------------------------------------
# FAISS candidate search + union-find
# ---------------------------------------------------------------------------------------
def _unit_rows(vectors: np.ndarray, n_expected: int) -> np.ndarray:
    arr = np.array(vectors, dtype=np.float32, copy=True, ndmin=2)
    if arr.ndim != 2 or arr.shape[0] != n_expected:
        raise ValueError(f"embed returned shape {arr.shape}, expected ({n_expected}, dim)")
    if not np.all(np.isfinite(arr)):
        raise ValueError("embed returned NaN or infinite values")
    arr = np.ascontiguousarray(arr)
    faiss.normalize_L2(arr)
    return arr


def _embed(embed: Embed, texts: list[str]) -> np.ndarray:
    return _unit_rows(embed(list(texts)), len(texts))


def _block_pairs(labels: list[str], vectors: np.ndarray, k: int) -> np.ndarray:
    """Candidate pairs (n_pairs, 2) of rows sharing a non-blank label.

    Blocks of up to ``_BLOCK_ALL_PAIRS`` rows contribute all their pairs (built for all
    blocks of one size at once).  Larger blocks (e.g. hundreds of spellings sharing one
    reading) are searched with a FAISS ``IndexFlatIP``, ``k`` neighbours per row, so the
    cost stays linear in the block size times ``k`` instead of quadratic in pairs.
    """
    codes, _ = pd.factorize(pd.Series(labels, dtype=object), use_na_sentinel=True)
    codes = np.where(np.array([not lab for lab in labels], dtype=bool), -1, codes)
    order = np.argsort(codes, kind="stable")  # members of a block stay in row order
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    real = (sorted_codes[starts] >= 0) & (sizes >= 2)
    starts, sizes = starts[real], sizes[real]
    out = []
    for size in np.unique(sizes[sizes <= _BLOCK_ALL_PAIRS]).tolist():
        members = order[starts[sizes == size][:, None] + np.arange(size)]
        ti, tj = np.triu_indices(size, 1)
        out.append(np.stack([members[:, ti].ravel(), members[:, tj].ravel()], axis=1))
    for start, size in zip(starts[sizes > _BLOCK_ALL_PAIRS], sizes[sizes > _BLOCK_ALL_PAIRS]):
        members = order[start : start + size]
        block = np.ascontiguousarray(vectors[members])
        index = faiss.IndexFlatIP(block.shape[1])
        index.add(block)
        kk = min(k + 1, int(size))  # +1: a row finds itself
        _, found = index.search(block, kk)
        rows = np.repeat(np.arange(size), kk)
        found = found.ravel()
        ok = (found >= 0) & (found != rows)
        out.append(np.stack([members[rows[ok]], members[found[ok]]], axis=1))
    if not out:
        return np.empty((0, 2), dtype=np.int64)
    return np.concatenate(out).astype(np.int64)


def _candidate_pairs(
    vectors: np.ndarray,
    norm_lemmas: list[str],
    norm_readings: list[str],
    threshold: float,
    k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique pairs (lo, hi, cosine), lo < hi, that pass the similarity threshold and
    share a normalised lemma or reading.

    Why blocks instead of one global k-NN search: the merge rule only ever accepts pairs
    sharing a normalised lemma or reading, so searching only inside those blocks finds
    exactly the mergeable pairs, while an all-pairs FAISS search over 100k x 256-d rows
    is ~5 TFLOP (minutes on two cores) and a k-NN cut-off could miss some of them.
    """
    n = len(norm_lemmas)
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32))
    if n < 2:
        return empty
    pairs = np.concatenate(
        [_block_pairs(norm_lemmas, vectors, k), _block_pairs(norm_readings, vectors, k)]
    )
    if len(pairs) == 0:
        return empty
    lo, hi = pairs.min(axis=1), pairs.max(axis=1)
    code = np.unique(lo * n + hi)
    lo, hi = code // n, code % n
    scores = np.empty(len(code), dtype=np.float32)
    for c in range(0, len(code), _PAIR_CHUNK):
        sl = slice(c, c + _PAIR_CHUNK)
        scores[sl] = np.einsum("ij,ij->i", vectors[lo[sl]], vectors[hi[sl]])
    keep = (scores >= threshold) | _kana_spelling_pairs(norm_lemmas, norm_readings, lo, hi)
    return lo[keep], hi[keep], scores[keep]


def _kana_spelling_pairs(norm_lemmas: list[str], norm_readings: list[str], lo: np.ndarray, hi: np.ndarray
                         ) -> np.ndarray:
    """Which pairs are a word and its kana spelling: same reading, and one side's lemma is that reading."""
    readings = np.array(norm_readings, dtype=object)
    spelled_in_kana = np.array([bool(r) and lem == r for lem, r in zip(norm_lemmas, norm_readings, strict=True)])
    return (readings[lo] == readings[hi]) & (spelled_in_kana[lo] | spelled_in_kana[hi])


def _rule_on_normalised(
    lemma_a: str, reading_a: str, meaning_a: str, lemma_b: str, reading_b: str, meaning_b: str
) -> bool:
    same_lemma = bool(lemma_a) and lemma_a == lemma_b
    same_reading = bool(reading_a) and reading_a == reading_b
    return (same_lemma or same_reading) and meanings_compatible(meaning_a, meaning_b)


def _near_duplicate_roots(
    vectors: np.ndarray,
    lemmas: list[str],
    readings: list[str],
    meanings: list[str],
    threshold: float,
    k: int = DEFAULT_K,
) -> np.ndarray:
    """Root (smallest member index) of each row's near-duplicate group.

    Pairs are unioned strongest first; a union also requires the two groups' meanings
    (first non-blank in each) to be compatible, so a blank-meaning row cannot chain two
    different words together.
    """
    n = len(lemmas)
    if n < 2:
        return np.arange(n, dtype=np.int64)
    norm_lemmas, norm_readings = normalize_many(lemmas), normalize_many(readings)
    lo, hi, scores = _candidate_pairs(vectors, norm_lemmas, norm_readings, threshold, k)
    parent = list(range(n))
    if len(lo) == 0:
        return np.arange(n, dtype=np.int64)
    order = np.lexsort((hi, lo, -scores))
    group_meaning = list(meanings)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(lo[order].tolist(), hi[order].tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if not _rule_on_normalised(
            norm_lemmas[a], norm_readings[a], meanings[a],
            norm_lemmas[b], norm_readings[b], meanings[b],
        ):  # fmt: skip
            continue
        if not meanings_compatible(group_meaning[ra], group_meaning[rb]):
            continue
        root, child = (ra, rb) if ra < rb else (rb, ra)
        parent[child] = root
        group_meaning[root] = group_meaning[root] or group_meaning[child]
    return np.fromiter((find(x) for x in range(n)), dtype=np.int64, count=n)


# ---------------------------------------------------------------------------------------
# public operations
# ---------------------------------------------------------------------------------------
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
    at = _iso(seen_at)
    table = _StockTable(stock)
    index = StockIndex() if index is None else index
    embedded = 0

    missing = index.missing(table.keys)
    if missing:
        index.add(missing, _embed(embed, table.texts(missing)))
        embedded += len(missing)

    added = merged_exact = merged_near = unchanged = 0
    unresolved: list[dict[str, Any]] = []
    for key, rec in _expression_records(new_expressions, at).items():
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

    vectors = _embed(embed, [embedding_text(r["lemma"], r["reading"]) for r in unresolved])
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

    roots = _near_duplicate_roots(
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


def _kana_spelling_target(table: _StockTable, rec: Mapping[str, Any]) -> int | None:
    """The stock row that ``rec`` is the kana spelling of (or that is the kana spelling of ``rec``), if any."""
    reading = normalize(_text(rec.get("reading")))
    if not reading:
        return None
    lemma = normalize(_text(rec.get("lemma")) or _text(rec.get("expression")))
    for pos in table.positions_by_reading().get(reading, ()):
        row = table.peek(pos)
        row_lemma = normalize(_text(row.get("lemma")) or _text(row.get("expression")))
        # same reading by construction, so the merge rule comes down to the meanings
        if (lemma == reading or row_lemma == reading) and meanings_compatible(_text(rec.get("meaning")),
                                                                             _text(row.get("meaning"))):
            return pos
    return None


def merge_near_duplicates(
    frame: pd.DataFrame,
    embed: Embed,
    threshold: float = 0.92,
    *,
    k: int = DEFAULT_K,
    seen_at: datetime | str | None = None,
) -> pd.DataFrame:
    """Merge near-duplicates across a whole table at once (blocked search + union-find).

    Candidates are pairs sharing a normalised lemma or reading (the only pairs the rule
    can accept), scored exactly; blocks over 64 rows use FAISS k-NN with ``k``.

    ``frame`` is a stock (has ``occurrences``) or an expression table, which is first
    exact-merged with :func:`aggregate_expressions`.  Each group keeps its earliest row
    (its key, position and fields); the others are absorbed into it.
    """
    if "occurrences" not in frame.columns:  # expression table: merge records in memory
        records = list(_expression_records(frame, _iso(seen_at)).values())
        lemmas = [r["lemma"] for r in records]
        readings = [r["reading"] for r in records]
        meanings = [r["meaning"] for r in records]
        roots = _merge_roots(embed, lemmas, readings, meanings, threshold, k)
        for pos in np.flatnonzero(roots != np.arange(len(records))).tolist():
            _absorb(records[int(roots[pos])], records[pos])
        return _frame_from_records(r for pos, r in enumerate(records) if roots[pos] == pos)

    table = _StockTable(frame.reset_index(drop=True))
    lemmas = table.lemmas()
    roots = _merge_roots(
        embed, lemmas, table.cols["reading"], table.cols["meaning"], threshold, k
    )
    for pos in np.flatnonzero(roots != np.arange(len(table))).tolist():
        table.absorb(int(roots[pos]), table.record(pos))
    keep = roots == np.arange(len(table))
    return table.to_frame().loc[keep].reset_index(drop=True)


def _merge_roots(
    embed: Embed,
    lemmas: list[str],
    readings: list[str],
    meanings: list[str],
    threshold: float,
    k: int,
) -> np.ndarray:
    if len(lemmas) < 2:
        return np.arange(len(lemmas), dtype=np.int64)
    texts = [embedding_text(lem, rd) for lem, rd in zip(lemmas, readings, strict=True)]
    vectors = _embed(embed, texts)
    return _near_duplicate_roots(vectors, lemmas, readings, meanings, threshold, k)
