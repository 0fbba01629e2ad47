"""Training data exports: verified AI outputs as OpenAI chat fine-tuning JSONL, one batch at a time.

What goes in
    Only AI memory rows a person verified (``verified`` and ``use_for_training``, never
    ``rejected``), text outputs only, that no earlier batch exported.  Each becomes
    ``{"messages": [{"role": "system", ...}, {"role": "user", ...}, {"role": "assistant", ...}]}``:
    system = the row's system prompt (left out when it had none), user = its prompt,
    assistant = its output text.  Every message is scrubbed of personal data first
    (:mod:`.scrub`); an output that was valid JSON and is not after scrubbing is dropped.

Duplicates
    *Exact*: SHA-256 over the canonical JSON of the normalised messages (NFKC, whitespace
    collapsed) - the ``example_hash`` kept in ``aiv_training_data``.  *Near*: Jaccard
    similarity of the character 5-gram sets of user + assistant text >= 0.9 among examples
    with the same system prompt, found with MinHash (64 hash functions, 16 bands x 4 rows
    LSH) and confirmed with the exact Jaccard.  Both are checked against this batch and
    against every example exported before.  Of a group of duplicates the highest rated,
    then most reused, then oldest output is kept.  The skipped ones are recorded in
    ``aiv_training_data`` too, with split ``duplicate`` (never written to a file, never
    trained on), so they no longer count as "ready" and are not looked at again.

Split
    Deterministic and content-based: an example goes to validation when
    ``sha256("aivlingual-split-v1:" + example_hash)`` read as a fraction is below the
    validation fraction (10 %), so the same example always lands on the same side.  A batch
    of 10 or more examples always gets at least one validation example (the lowest score);
    a batch whose training side would be empty keeps everything for training.

Files and ledger
    ``$AIVLINGUAL_HOME/training/<batch_id>/train.jsonl`` and ``validation.jsonl`` (plus
    ``manifest.json``) are written into a temporary folder and renamed into place inside
    the same database transaction that records every example in ``aiv_training_data``
    with its batch id: either both exist or neither does.  A concurrent second export
    cannot claim the same rows (its transaction fails and leaves nothing behind).

Token estimate
    ``ceil(UTF-8 bytes / 3)`` per message + 4 tokens of message framing + 3 per example.
    Japanese kana/kanji are 3 bytes in UTF-8 and usually one token or less in OpenAI's
    o200k tokenizer, and ASCII JSON is about 4 characters per token, so this estimate errs
    on the high side - right for a cost ceiling.  Cost = tokens x epochs x the training
    price per 1M tokens of the base model (see :data:`.fine_tune.FINE_TUNE_PRICES`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
import unicodedata
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from ..ai.ledger import Ledger, ai_memory, training_data
from .fine_tune import (
    DEFAULT_BASE_MODEL,
    DEFAULT_EPOCHS,
    PRICE_DATE,
    PRICE_SOURCE,
    estimate_training_cost,
    training_price,
)
from .scrub import ScrubReport, scrub_messages

__all__ = [
    "ExportResult",
    "TrainingExample",
    "build_messages",
    "estimate_tokens",
    "example_hash",
    "export_training_batch",
    "near_duplicate_groups",
    "remove_duplicates",
    "split_examples",
    "training_dir",
]

SPLIT_SALT = "aivlingual-split-v1:"
DUPLICATE_SPLIT = "duplicate"  # recorded, never exported: a duplicate of an exported example
DEFAULT_VALIDATION_FRACTION = 0.10
DEFAULT_NEAR_DUPLICATE_THRESHOLD = 0.90
SHINGLE = 5
NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
_PRIME = np.uint64(4294967311)  # smallest prime above 2**32: (a*x + b) stays below 2**64
_rng = np.random.default_rng(20240611)
_PERM_A = _rng.integers(1, 2**32 - 1, size=NUM_PERM, dtype=np.uint64)
_PERM_B = _rng.integers(0, 2**32 - 1, size=NUM_PERM, dtype=np.uint64)


@dataclass
class TrainingExample:
    memory_id: int
    request_type: str
    messages: list[dict[str, str]]
    example_hash: str
    tokens: int
    rating: int | None = None
    usage_count: int = 1
    created_at: float = 0.0
    split: str = "train"

    def jsonl(self) -> str:
        return json.dumps({"messages": self.messages}, ensure_ascii=False, separators=(",", ":"))


@dataclass
class ExportResult:
    batch_id: str | None
    path: Path | None
    examples: int = 0
    train_examples: int = 0
    validation_examples: int = 0
    tokens: int = 0
    estimated_cost_usd: float | None = None
    base_model: str = DEFAULT_BASE_MODEL
    n_epochs: int = DEFAULT_EPOCHS
    candidates: int = 0
    left_out: int = 0  # verified outputs the ``exclude`` callback kept out of this export (switched-off channels)
    dropped_exact_duplicates: int = 0
    dropped_near_duplicates: int = 0
    dropped_invalid: int = 0
    request_types: dict[str, int] = field(default_factory=dict)
    scrubbed: ScrubReport = field(default_factory=ScrubReport)

    @property
    def message(self) -> str:
        if not self.batch_id:
            return (f"No new training examples: {self.candidates} verified output(s) waiting, "
                    f"{self.dropped_exact_duplicates + self.dropped_near_duplicates} duplicate(s), "
                    f"{self.dropped_invalid} unusable after scrubbing.")
        return (f"Exported {self.examples} example(s) ({self.train_examples} train / {self.validation_examples} "
                f"validation) as batch {self.batch_id}.")


# ---- building examples ---------------------------------------------------------------------------
def build_messages(system: str | None, prompt: str, output_text: str) -> list[dict[str, str]]:
    messages = []
    if system and system.strip():
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": prompt})
    messages.append({"role": "assistant", "content": output_text})
    return messages


def _normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text or "").split())


def example_hash(messages: Sequence[dict[str, str]]) -> str:
    canonical = [{"role": m["role"], "content": _normalise(m.get("content", ""))} for m in messages]
    return hashlib.sha256(json.dumps(canonical, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def estimate_tokens(messages: Sequence[dict[str, str]]) -> int:
    """Upper-leaning token estimate (see the module docstring)."""
    return 3 + sum(math.ceil(len((m.get("content") or "").encode("utf-8")) / 3) + 4 for m in messages)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (TypeError, ValueError):
        return False
    return True


# ---- near duplicates ---------------------------------------------------------------------------
def _shingles(text: str) -> set[str]:
    norm = _normalise(text).lower()
    if len(norm) <= SHINGLE:
        return {norm}
    return {norm[i : i + SHINGLE] for i in range(len(norm) - SHINGLE + 1)}


def _signature(shingles: set[str]) -> np.ndarray:
    hashes = np.fromiter((zlib.crc32(s.encode("utf-8")) for s in shingles), dtype=np.uint64, count=len(shingles))
    values = (_PERM_A[:, None] * hashes[None, :] + _PERM_B[:, None]) % _PRIME
    return values.min(axis=1)


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _similarity_text(messages: Sequence[dict[str, str]]) -> tuple[str, str]:
    """(system, user + assistant): the system prompt groups, the rest is compared."""
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    rest = "\n".join(m["content"] for m in messages if m["role"] != "system")
    return hashlib.sha256(_normalise(system).encode()).hexdigest()[:16], rest


class _NearIndex:
    """MinHash LSH over kept examples; ``add_if_new`` keeps an example unless a kept one is near it."""

    def __init__(self, threshold: float):
        self.threshold = threshold
        self.buckets: dict[tuple[str, int, bytes], list[int]] = {}
        self.shingles: list[set[str]] = []

    def _bands(self, group: str, signature: np.ndarray) -> list[tuple[str, int, bytes]]:
        return [(group, b, signature[b * ROWS : (b + 1) * ROWS].tobytes()) for b in range(BANDS)]

    def near(self, messages: Sequence[dict[str, str]]) -> tuple[int | None, Any]:
        group, text = _similarity_text(messages)
        shingles = _shingles(text)
        bands = self._bands(group, _signature(shingles))
        seen: set[int] = set()
        for band in bands:
            for index in self.buckets.get(band, ()):
                if index in seen:
                    continue
                seen.add(index)
                if _jaccard(shingles, self.shingles[index]) >= self.threshold:
                    return index, (bands, shingles)
        return None, (bands, shingles)

    def add(self, prepared: Any) -> int:
        bands, shingles = prepared
        index = len(self.shingles)
        self.shingles.append(shingles)
        for band in bands:
            self.buckets.setdefault(band, []).append(index)
        return index


def _priority(example: TrainingExample) -> tuple:
    return (-(example.rating or 0), -example.usage_count, example.created_at, example.memory_id)


def remove_duplicates(
    examples: Sequence[TrainingExample],
    *,
    previous_hashes: set[str] | None = None,
    previous_messages: Sequence[Sequence[dict[str, str]]] = (),
    threshold: float = DEFAULT_NEAR_DUPLICATE_THRESHOLD,
) -> tuple[list[TrainingExample], list[tuple[TrainingExample, str]]]:
    """(kept examples in memory-id order, dropped examples with "exact" or "near")."""
    seen_hashes = set(previous_hashes or ())
    index = _NearIndex(threshold)
    for messages in previous_messages:
        _, prepared = index.near(messages)
        index.add(prepared)
    kept: list[TrainingExample] = []
    dropped: list[tuple[TrainingExample, str]] = []
    for example in sorted(examples, key=_priority):
        if example.example_hash in seen_hashes:
            dropped.append((example, "exact"))
            continue
        match, prepared = index.near(example.messages)
        if match is not None:
            dropped.append((example, "near"))
            continue
        seen_hashes.add(example.example_hash)
        index.add(prepared)
        kept.append(example)
    kept.sort(key=lambda e: e.memory_id)
    return kept, dropped


def near_duplicate_groups(texts: Sequence[str], threshold: float = DEFAULT_NEAR_DUPLICATE_THRESHOLD) -> list[int]:
    """For each text, the index of the first earlier text it nearly duplicates (itself if none)."""
    index = _NearIndex(threshold)
    owners: list[int] = []
    result = []
    for i, text in enumerate(texts):
        messages = [{"role": "user", "content": text}]
        match, prepared = index.near(messages)
        if match is None:
            index.add(prepared)
            owners.append(i)
            result.append(i)
        else:
            result.append(owners[match])
    return result


# ---- split ---------------------------------------------------------------------------------------
def _split_score(example_hash_: str) -> float:
    return int(hashlib.sha256((SPLIT_SALT + example_hash_).encode()).hexdigest()[:12], 16) / float(16**12)


def split_examples(examples: Sequence[TrainingExample],
                   validation_fraction: float = DEFAULT_VALIDATION_FRACTION) -> list[TrainingExample]:
    """Sets ``split`` on each example (deterministic, content-based; see the module docstring)."""
    if not 0 <= validation_fraction < 1:
        raise ValueError("validation_fraction must be in [0, 1)")
    scored = sorted(((_split_score(e.example_hash), e) for e in examples), key=lambda p: (p[0], p[1].example_hash))
    for score, example in scored:
        example.split = "validation" if score < validation_fraction else "train"
    if validation_fraction > 0 and len(scored) >= 10 and not any(e.split == "validation" for _, e in scored):
        scored[0][1].split = "validation"
    if scored and all(e.split == "validation" for _, e in scored):
        for _, example in scored:
            example.split = "train"
    return list(examples)


# ---- ledger queries ------------------------------------------------------------------------------
def _ready_rows(conn, request_types: Sequence[str] | None):
    m = ai_memory.c
    query = sa.select(m.id, m.request_type, m.system, m.prompt, m.output_text, m.rating, m.usage_count,
                      m.created_at).where(
        m.kind == "text",
        m.output_text.is_not(None),
        m.verified.is_(True),
        m.rejected.is_(False),
        m.use_for_training.is_(True),
        m.id.not_in(sa.select(training_data.c.memory_id)),
    ).order_by(m.id)
    if request_types:
        query = query.where(m.request_type.in_(list(request_types)))
    return conn.execute(query).all()


def training_dir(home: Path | str) -> Path:
    return Path(home) / "training"


def _new_batch_id(examples: Sequence[TrainingExample], now: float) -> str:
    digest = hashlib.sha256("".join(sorted(e.example_hash for e in examples)).encode()).hexdigest()[:8]
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)) + "-" + digest


def _write_jsonl(path: Path, examples: Sequence[TrainingExample]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for example in examples:
            fh.write(example.jsonl())
            fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


def _record(ledger: Ledger, batch_id: str, examples: Sequence[TrainingExample], now: float,
            before_commit=None) -> None:
    """Records the batch's examples in one transaction; fails if another export claimed any of them."""
    with ledger.begin() as conn:
        if not ledger.is_sqlite:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(4242101)"))
        conn.execute(training_data.insert(), [
            {"memory_id": e.memory_id, "request_type": e.request_type, "batch_id": batch_id, "split": e.split,
             "example_hash": e.example_hash, "messages": json.dumps(e.messages, ensure_ascii=False),
             "tokens": e.tokens, "created_at": now}
            for e in examples
        ])
        ids = [e.memory_id for e in examples]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            claimed = conn.execute(
                sa.select(training_data.c.memory_id).where(training_data.c.memory_id.in_(chunk))
                .group_by(training_data.c.memory_id).having(sa.func.count() > 1)
            ).first()
            if claimed is not None:
                raise ConcurrentExportError(
                    f"output {claimed.memory_id} was exported by another batch meanwhile; run the export again")
        if before_commit is not None:
            before_commit()


class ConcurrentExportError(RuntimeError):
    """Another export claimed some of the same outputs first; nothing of this one was kept."""


def export_training_batch(
    ledger: Ledger,
    home: Path | str,
    *,
    batch_id: str | None = None,
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION,
    near_duplicate_threshold: float = DEFAULT_NEAR_DUPLICATE_THRESHOLD,
    base_model: str = DEFAULT_BASE_MODEL,
    n_epochs: int = DEFAULT_EPOCHS,
    request_types: Sequence[str] | None = None,
    now: float | None = None,
    exclude: Callable[[Sequence[int]], Collection[int]] | None = None,
) -> ExportResult:
    """Exports every verified output not exported before as one batch (nothing when none is new).

    ``exclude`` gets the ids of the verified outputs waiting and returns those to leave out of this export
    (not recorded: they wait, and are exported once ``exclude`` lets them through).
    """
    now = now if now is not None else time.time()
    result = ExportResult(batch_id=None, path=None, base_model=base_model, n_epochs=n_epochs)
    with ledger.connect() as conn:
        rows = _ready_rows(conn, request_types)
        previous = conn.execute(sa.select(training_data.c.example_hash, training_data.c.messages)).all()
    if exclude is not None and rows:
        left_out = set(exclude([int(row.id) for row in rows]))
        rows = [row for row in rows if int(row.id) not in left_out]
        result.left_out = len(left_out)
    result.candidates = len(rows)
    counts: Counter = Counter()
    examples: list[TrainingExample] = []
    for row in rows:
        messages = scrub_messages(build_messages(row.system, row.prompt, row.output_text), counts)
        if _is_json(row.output_text) and not _is_json(messages[-1]["content"]):
            result.dropped_invalid += 1
            continue
        if not messages[-1]["content"].strip() or not messages[-2]["content"].strip():
            result.dropped_invalid += 1
            continue
        examples.append(TrainingExample(
            memory_id=int(row.id), request_type=row.request_type, messages=messages,
            example_hash=example_hash(messages), tokens=estimate_tokens(messages), rating=row.rating,
            usage_count=int(row.usage_count or 0), created_at=float(row.created_at)))
    result.scrubbed.add(counts)
    previous_messages = []
    for p in previous:
        try:
            previous_messages.append(json.loads(p.messages))
        except (TypeError, ValueError):
            continue
    kept, dropped = remove_duplicates(examples, previous_hashes={p.example_hash for p in previous},
                                      previous_messages=previous_messages, threshold=near_duplicate_threshold)
    result.dropped_exact_duplicates = sum(1 for _, why in dropped if why == "exact")
    result.dropped_near_duplicates = sum(1 for _, why in dropped if why == "near")
    for example, _ in dropped:
        example.split = DUPLICATE_SPLIT
    if not kept:
        if dropped:  # remembered, so they are not "ready" (nor looked at) again
            _record(ledger, f"{_new_batch_id([e for e, _ in dropped], now)}-dup", [e for e, _ in dropped], now)
        return result
    split_examples(kept, validation_fraction)
    batch_id = batch_id or _new_batch_id(kept, now)
    folder = training_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / batch_id
    if final.exists():
        raise FileExistsError(f"training batch folder {final} already exists")
    tmp = folder / f".{batch_id}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    train = [e for e in kept if e.split == "train"]
    validation = [e for e in kept if e.split == "validation"]
    tokens = sum(e.tokens for e in kept)
    by_type = Counter(e.request_type for e in kept)
    price = training_price(base_model)
    manifest = {
        "batch_id": batch_id, "created_at": now, "examples": len(kept), "train_examples": len(train),
        "validation_examples": len(validation), "estimated_tokens": tokens, "request_types": dict(by_type),
        "base_model": base_model, "n_epochs": n_epochs,
        "training_price_per_1m": price.training_per_1m if price else None,
        "price_source": PRICE_SOURCE, "price_date": PRICE_DATE,
        "format": "OpenAI chat fine-tuning JSONL", "scrubbed": dict(counts),
        "duplicates_skipped": len(dropped),
    }
    try:
        _write_jsonl(tmp / "train.jsonl", train)
        _write_jsonl(tmp / "validation.jsonl", validation)
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        # the rename happens inside the transaction: a failed rename rolls the rows back
        _record(ledger, batch_id, kept + [e for e, _ in dropped], now, before_commit=lambda: os.replace(tmp, final))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    result.batch_id = batch_id
    result.path = final
    result.examples = len(kept)
    result.train_examples = len(train)
    result.validation_examples = len(validation)
    result.tokens = tokens
    result.estimated_cost_usd = estimate_training_cost(tokens, base_model, n_epochs)
    result.request_types = dict(sorted(by_type.items()))
    return result
