"""Offline text embedding: hashed character 1–3-grams of the kana-normalised text.

The offline engine has no model, yet the stock still needs "is this a spelling variant
of something we already have?" and clustering.  Character n-grams of the normalised text
(see :mod:`kana`) make spelling variants (てぇてぇ / てーてー / テェテェ) identical and
kanji-vs-kana spellings (可愛い かわいい / かわいい かわいい) close, while unrelated words
share almost no n-grams.

Hashing is deterministic across processes (blake2b of the n-gram's UTF-8, *not* Python's
salted ``hash()``), so vectors saved in a FAISS index stay valid after a restart.  Signed
feature hashing keeps collisions unbiased.  The n-gram extraction is vectorised with
NumPy over the concatenated code points; only the distinct n-grams of a batch are hashed
in Python, so 100,000 short strings embed in about a second.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from .kana import normalize_many

__all__ = ["DEFAULT_DIM", "NGRAM_SIZES", "ngram_vectors"]

DEFAULT_DIM = 256
NGRAM_SIZES = (1, 2, 3)
_CHUNK_ROWS = 8_192  # bounds the dense float64 scratch matrix to ~16 MB at dim=256
_CP_BITS = 21  # every Unicode code point fits in 21 bits, so 3 of them fit in uint64


def _gram_hashes(codes: np.ndarray) -> np.ndarray:
    """blake2b-64 of each packed n-gram's UTF-8 text, as uint64 (stable across runs)."""
    mask = np.uint64((1 << _CP_BITS) - 1)
    chars = np.stack(
        [((codes >> np.uint64(_CP_BITS * j)) & mask).astype(np.uint32) for j in range(3)],
        axis=1,
    )
    grams = chars.view("<U3").ravel().tolist()  # NumPy drops the trailing NUL padding
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(g.encode("utf-8"), digest_size=8).digest() for g in grams])
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


def _packed_ngrams(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(row index, packed n-gram code) for every n-gram of every normalised text.

    Texts are joined with NUL separators (spaces become NUL too, so n-grams never cross
    word boundaries); an n-gram is valid when none of its code points is NUL.
    """
    normalised = [t.replace(" ", "\0") for t in normalize_many(texts, keep_spaces=True)]
    joined = "\0".join(normalised) + "\0"
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter((len(t) + 1 for t in normalised), dtype=np.int64, count=len(texts))
    row_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)

    rows, codes = [], []
    valid = cps != 0
    for n in NGRAM_SIZES:
        m = len(cps) - n + 1
        if m <= 0:
            continue
        ok = valid[:m].copy()
        code = cps[:m].copy()
        for j in range(1, n):
            ok &= valid[j : j + m]
            code |= cps[j : j + m] << np.uint64(_CP_BITS * j)
        rows.append(row_of[:m][ok])
        codes.append(code[ok])
    if not rows:
        return np.empty(0, np.int64), np.empty(0, np.uint64)
    return np.concatenate(rows), np.concatenate(codes)


def ngram_vectors(texts: Sequence[str], dim: int = DEFAULT_DIM) -> np.ndarray:
    """Embed ``texts`` as float32 rows of length ``dim``, L2-normalised.

    Texts with no characters left after normalisation get an all-zero row (they are
    similar to nothing).  Output is identical across runs and machines.
    """
    if dim < 2:
        raise ValueError(f"dim must be >= 2, got {dim}")
    n_texts = len(texts)
    out = np.zeros((n_texts, dim), dtype=np.float32)
    if n_texts == 0:
        return out
    rows, codes = _packed_ngrams(texts)
    if len(codes) == 0:
        return out
    uniq, inverse = np.unique(codes, return_inverse=True)
    hashes = _gram_hashes(uniq)
    bucket_of = (hashes % np.uint64(dim)).astype(np.int64)[inverse]
    sign_of = np.where((hashes >> np.uint64(63)) == 1, -1.0, 1.0)[inverse]

    # rows are grouped per n-gram size, not per text: sort once so chunks are contiguous
    order = np.argsort(rows, kind="stable")
    rows, bucket_of, sign_of = rows[order], bucket_of[order], sign_of[order]
    bounds = np.searchsorted(rows, np.arange(0, n_texts + _CHUNK_ROWS, _CHUNK_ROWS))
    for c, start_row in enumerate(range(0, n_texts, _CHUNK_ROWS)):
        lo, hi = bounds[c], bounds[c + 1]
        n_rows = min(_CHUNK_ROWS, n_texts - start_row)
        flat = (rows[lo:hi] - start_row) * dim + bucket_of[lo:hi]
        block = np.bincount(flat, weights=sign_of[lo:hi], minlength=n_rows * dim)
        out[start_row : start_row + n_rows] = block.reshape(n_rows, dim)

    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out
