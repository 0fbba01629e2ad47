"""Near-duplicate merge: embeddings of ``lemma + " " + reading`` propose candidates with
cosine >= ``threshold``, the rule of :mod:`.stock_rule` decides, union-find groups them.

A word and its kana spelling (可愛い / かわいい: same reading, one lemma *is* the reading)
is a candidate whatever its cosine, since character n-grams of two scripts barely
overlap; the same rule then decides.  :func:`merge_near_duplicates` compares a whole
table block-wise (see :func:`_candidate_pairs`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import compress

import faiss
import numpy as np
import pandas as pd

from .kana import normalize_many
from .stock_columns import embedding_text, frame_from_columns, gc_paused, iso_time, row_from_record
from .stock_exact import ExactMerge, absorb
from .stock_index import unit_vectors
from .stock_rule import meanings_compatible, rule_on_normalised
from .stock_table import StockTable

Embed = Callable[[list[str]], np.ndarray]

DEFAULT_K = 8  # neighbours per query: near-duplicate groups are small, union-find chains the rest
_BLOCK_ALL_PAIRS = 64  # blocks up to this size are compared all-pairs, larger via FAISS k-NN
_PAIR_CHUNK = 65_536  # pairs scored per einsum call (bounds scratch memory to ~130 MB)


def embed_rows(embed: Embed, texts: list[str]) -> np.ndarray:
    return unit_vectors(embed(list(texts)), rows=len(texts))


def _block_pairs(labels: list[str], vectors: np.ndarray, k: int) -> np.ndarray:
    """Candidate pairs (n_pairs, 2) of rows sharing a non-blank label.

    Blocks of up to ``_BLOCK_ALL_PAIRS`` rows contribute all their pairs (built for all
    blocks of one size at once).  Larger blocks (e.g. hundreds of spellings sharing one
    reading) are searched with a FAISS ``IndexFlatIP``, ``k`` neighbours per row, so the
    cost stays linear in the block size times ``k`` instead of quadratic in pairs.
    """
    codes, _ = pd.factorize(pd.Series(labels, dtype=object), use_na_sentinel=True)
    codes = np.where(_texts(labels) == "", -1, codes)
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
    readings = _texts(norm_readings)
    spelled_in_kana = (readings != "") & (_texts(norm_lemmas) == readings)
    return (readings[lo] == readings[hi]) & (spelled_in_kana[lo] | spelled_in_kana[hi])


def _texts(values: list[str]) -> np.ndarray:
    """Strings as a 1-d object array (elementwise ``==`` without a Python loop)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def near_duplicate_roots(
    vectors: np.ndarray,
    lemmas: list[str],
    readings: list[str],
    meanings: list[str],
    threshold: float,
    k: int = DEFAULT_K,
    *,
    normalised: tuple[list[str], list[str]] | None = None,
) -> np.ndarray:
    """Root (smallest member index) of each row's near-duplicate group.

    Pairs are unioned strongest first; a union also requires the two groups' meanings
    (first non-blank in each) to be compatible, so a blank-meaning row cannot chain two
    different words together.  ``normalised``: the lemmas and readings already normalised
    (:func:`kana.normalize_many`), when the caller has them.
    """
    n = len(lemmas)
    if n < 2:
        return np.arange(n, dtype=np.int64)
    norm_lemmas, norm_readings = normalised or (normalize_many(lemmas), normalize_many(readings))
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
        if not rule_on_normalised(
            norm_lemmas[a], norm_readings[a], meanings[a],
            norm_lemmas[b], norm_readings[b], meanings[b],
        ):  # fmt: skip
            continue
        if not meanings_compatible(group_meaning[ra], group_meaning[rb]):
            continue
        root, child = (ra, rb) if ra < rb else (rb, ra)
        parent[child] = root
        group_meaning[root] = group_meaning[root] or group_meaning[child]
    roots = np.asarray(parent, dtype=np.int64)
    while True:  # pointer jumping: every row reaches its root in O(log depth) vectorised steps
        jumped = roots[roots]
        if np.array_equal(jumped, roots):
            return roots
        roots = jumped


@gc_paused()
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
    if "occurrences" not in frame.columns:  # expression table: exact-merged column-wise
        merged = ExactMerge(frame, iso_time(seen_at))
        fields = merged.fields
        roots = _merge_roots(embed, fields["lemma"], fields["reading"], fields["meaning"], threshold, k,
                             normalised=merged.normalised())  # fmt: skip
        columns = merged.columns()
        absorbed: dict[int, dict] = {}  # only groups that take in near-duplicates become records
        for pos in np.flatnonzero(roots != np.arange(len(merged))).tolist():
            root = int(roots[pos])
            if root not in absorbed:
                absorbed[root] = merged.record(root)
            absorb(absorbed[root], merged.record(pos))
        for root, rec in absorbed.items():
            for name, value in row_from_record(rec).items():
                columns[name][root] = value
        keep = (roots == np.arange(len(merged))).tolist()
        return frame_from_columns({name: list(compress(values, keep)) for name, values in columns.items()})

    table = StockTable(frame.reset_index(drop=True))
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
    *,
    normalised: tuple[list[str], list[str]] | None = None,
) -> np.ndarray:
    """:func:`near_duplicate_roots` of rows embedded only where they can pair: a row whose
    normalised lemma and reading are both blank or shared with no other row is in no
    candidate pair (see :func:`_candidate_pairs`), so it is not embedded (a zero row)."""
    n = len(lemmas)
    if n < 2:
        return np.arange(n, dtype=np.int64)
    normalised = normalised or (normalize_many(lemmas), normalize_many(readings))
    paired = np.flatnonzero(_shared(normalised[0]) | _shared(normalised[1]))
    if len(paired) == 0:
        return np.arange(n, dtype=np.int64)
    rows = paired.tolist()
    embedded = embed_rows(embed, [embedding_text(lemmas[i], readings[i]) for i in rows])
    vectors = np.zeros((n, embedded.shape[1]), dtype=embedded.dtype)
    vectors[paired] = embedded
    return near_duplicate_roots(vectors, lemmas, readings, meanings, threshold, k, normalised=normalised)


def _shared(labels: list[str]) -> np.ndarray:
    """Which labels are non-blank and held by at least one other row."""
    codes, _ = pd.factorize(pd.Series(labels, dtype=object))
    shared = np.bincount(codes, minlength=1)[codes] >= 2
    return shared & (_texts(labels) != "")
