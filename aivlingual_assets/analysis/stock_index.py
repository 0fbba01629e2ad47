"""Persistent FAISS index over the vocabulary stock, addressed by stock key.

Why ``IndexFlatIP``: the stock grows by a few hundred expressions per recording and is
queried with those few hundred vectors.  At 100,000 rows x 256 dims a flat index is 100 MB
and one recording's query batch (~1,000 vectors) costs ~25 GFLOP, well under a second on
two cores.  It is exact (merge decisions never depend on graph randomness or training
data, so reruns are reproducible), needs no training (IVF would need a retrain as the
vocabulary drifts) and supports cheap incremental ``add``.  HNSW would only pay off for
interactive single-query latency at millions of rows (and its multi-threaded build is
not reproducible).  All-pairs work over a whole table goes through
:func:`stock.merge_near_duplicates`, which restricts the search to rows that may merge.

FAISS ids are positions in :attr:`StockIndex.keys`, so no ``IndexIDMap`` is needed.
Vectors are L2-normalised on the way in so inner product == cosine similarity.

:meth:`StockIndex.save` is crash-safe: the index goes to a new generation file
(tmp + fsync + ``os.replace``), then ``keys.json`` — which names that file — is replaced
the same way.  ``keys.json`` is the commit point: a crash at any moment leaves either the
old or the new (index, keys) pair readable, never a mix or a half-written file.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import faiss
import numpy as np
import pandas as pd

__all__ = ["StockIndex", "similar", "unit_vectors"]

KEYS_FILE = "keys.json"
_FORMAT_VERSION = 1


def unit_vectors(vectors: np.ndarray, *, rows: int | None = None, dim: int | None = None) -> np.ndarray:
    """Contiguous float32 copy with unit-length rows (zero rows stay zero), so inner
    product == cosine; ``rows``/``dim``, when given, are the expected shape."""
    arr = np.array(vectors, dtype=np.float32, copy=True, ndmin=2)
    if arr.ndim != 2 or (rows is not None and arr.shape[0] != rows):
        raise ValueError(f"vectors have shape {arr.shape}, expected ({'n' if rows is None else rows}, dim)")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"vector dim {arr.shape[1]} does not match index dim {dim}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("vectors contain NaN or infinity")
    arr = np.ascontiguousarray(arr)
    if len(arr):
        faiss.normalize_L2(arr)
    return arr


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a fsynced temp file and ``os.replace``."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class StockIndex:
    """FAISS inner-product index whose ids are stock keys (strings).

    The dimension is fixed by the first :meth:`add` when not given, so an empty index
    can be created before the embedding model is known.
    """

    def __init__(self, dim: int | None = None) -> None:
        self._dim = dim
        self._index: faiss.Index | None = faiss.IndexFlatIP(dim) if dim else None
        self._keys: list[str] = []
        self._pos: dict[str, int] = {}

    # -- inspection ---------------------------------------------------------------
    @property
    def dim(self) -> int | None:
        return self._dim

    @property
    def keys(self) -> list[str]:
        """Keys in FAISS id order (a copy)."""
        return list(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._pos

    def missing(self, keys: Iterable[str]) -> list[str]:
        """Keys not yet indexed, in input order and without repeats."""
        seen: set[str] = set()
        out = []
        for key in keys:
            if key not in self._pos and key not in seen:
                seen.add(key)
                out.append(key)
        return out

    def vectors_for(self, keys: Sequence[str]) -> np.ndarray:
        """Stored (normalised) vectors of ``keys``; raises KeyError for unknown keys."""
        if self._index is None or not keys:
            return np.zeros((len(keys), self._dim or 0), dtype=np.float32)
        ids = np.fromiter((self._pos[k] for k in keys), dtype=np.int64, count=len(keys))
        return np.ascontiguousarray(self._index.reconstruct_batch(ids), dtype=np.float32)

    # -- mutation -----------------------------------------------------------------
    def add(self, keys: Sequence[str], vectors: np.ndarray) -> int:
        """Add vectors under ``keys``; keys already present (or repeated) are skipped.

        Returns how many vectors were added.  Skipping makes re-adding idempotent.
        """
        keys = list(keys)
        arr = unit_vectors(vectors, dim=self._dim) if len(keys) else None
        if arr is None:
            return 0
        if len(arr) != len(keys):
            raise ValueError(f"{len(keys)} keys but {len(arr)} vectors")
        keep = []
        seen: set[str] = set()
        for i, key in enumerate(keys):
            if not isinstance(key, str) or not key:
                raise ValueError(f"stock keys must be non-empty strings, got {key!r}")
            if key not in self._pos and key not in seen:
                seen.add(key)
                keep.append(i)
        if not keep:
            return 0
        if self._index is None:
            self._dim = arr.shape[1]
            self._index = faiss.IndexFlatIP(self._dim)
        self._index.add(np.ascontiguousarray(arr[keep]))
        for i in keep:
            self._pos[keys[i]] = len(self._keys)
            self._keys.append(keys[i])
        return len(keep)

    def remove(self, keys: Iterable[str]) -> int:
        """Remove the vectors of ``keys`` (unknown keys are ignored); returns how many.

        The remaining vectors keep their order, so :attr:`keys` stays aligned with them.
        """
        ids = sorted({self._pos[key] for key in keys if key in self._pos})
        if not ids:
            return 0
        assert self._index is not None
        removed = self._index.remove_ids(np.asarray(ids, dtype=np.int64))
        if removed != len(ids):
            raise RuntimeError(f"FAISS removed {removed} vectors, expected {len(ids)}")
        gone = set(ids)
        self._keys = [key for pos, key in enumerate(self._keys) if pos not in gone]
        self._pos = {key: pos for pos, key in enumerate(self._keys)}
        return len(ids)

    # -- queries ------------------------------------------------------------------
    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` cosine neighbours of each query row.

        Returns ``(scores, keys)``, both shaped ``(n_queries, k)``: float32 scores in
        descending order and an object array of keys, with ``-inf`` / ``None`` where the
        index holds fewer than ``k`` vectors.
        """
        if k < 1:
            raise ValueError("k must be >= 1")
        queries = unit_vectors(vectors, dim=self._dim)
        n = len(queries)
        scores = np.full((n, k), -np.inf, dtype=np.float32)
        keys = np.full((n, k), None, dtype=object)
        if self._index is None or not self._keys or n == 0:
            return scores, keys
        kk = min(k, len(self._keys))
        found_scores, found_ids = self._index.search(queries, kk)
        valid = found_ids >= 0
        scores[:, :kk] = np.where(valid, found_scores, -np.inf)
        key_array = np.array(self._keys, dtype=object)
        keys[:, :kk] = np.where(valid, key_array[np.clip(found_ids, 0, None)], None)
        return scores, keys

    # -- persistence --------------------------------------------------------------
    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Persist to ``folder`` crash-safely (see module docstring); returns keys path."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        index_name = None
        if self._index is not None:
            index_name = f"index-{uuid.uuid4().hex}.faiss"
            blob = faiss.serialize_index(self._index)
            _write_atomic(folder / index_name, np.asarray(blob).tobytes())
        manifest = {
            "format": _FORMAT_VERSION,
            "kind": "IndexFlatIP",
            "dim": self._dim,
            "ntotal": len(self._keys),
            "index_file": index_name,
            "keys": self._keys,
        }
        _fsync_dir(folder)
        keys_path = folder / KEYS_FILE
        _write_atomic(keys_path, json.dumps(manifest, ensure_ascii=False).encode("utf-8"))
        _fsync_dir(folder)
        for stale in folder.glob("index-*.faiss"):  # older generations, now unreferenced
            if stale.name != index_name:
                stale.unlink(missing_ok=True)
        return keys_path

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> StockIndex:
        """Load what :meth:`save` wrote; a missing folder/manifest gives an empty index."""
        keys_path = Path(folder) / KEYS_FILE
        if not keys_path.exists():
            return cls()
        manifest = json.loads(keys_path.read_text(encoding="utf-8"))
        if manifest.get("format") != _FORMAT_VERSION:
            raise ValueError(f"unsupported stock index format {manifest.get('format')!r}")
        out = cls(manifest.get("dim"))
        keys = list(manifest["keys"])
        if manifest.get("index_file"):
            try:
                index = faiss.read_index(str(Path(folder) / manifest["index_file"]))
            except RuntimeError as exc:  # FAISS reports unreadable files as RuntimeError
                raise ValueError(f"unreadable stock index: {exc}") from exc
            if index.ntotal != len(keys):
                raise ValueError(
                    f"corrupt stock index: {index.ntotal} vectors but {len(keys)} keys"
                )
            out._index = index
            out._dim = index.d
        elif keys:
            raise ValueError("corrupt stock index: keys without an index file")
        out._keys = keys
        out._pos = {key: i for i, key in enumerate(keys)}
        return out


def similar(
    stock: pd.DataFrame,
    index: StockIndex,
    text: str,
    embed: Callable[[list[str]], np.ndarray],
    k: int = 5,
) -> list[tuple[str, str, float]]:
    """"Expressions similar to X": ``(key, expression, cosine)`` best first.

    Index entries whose key is no longer a stock row are skipped (the index may lag
    behind a rewritten stock), so up to ``k`` live rows are returned.
    """
    if k < 1 or len(index) == 0 or stock is None or stock.empty:
        return []
    expression_of = dict(zip(stock["key"], stock["expression"], strict=True))
    query = embed([text])
    want = min(len(index), k + max(8, k))
    scores, keys = index.search(query, want)
    out: list[tuple[str, str, float]] = []
    for score, key in zip(scores[0], keys[0], strict=True):
        if key is None or key not in expression_of:
            continue
        out.append((key, str(expression_of[key]), float(score)))
        if len(out) == k:
            break
    return out
