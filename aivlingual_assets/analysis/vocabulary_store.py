"""Keeps the vocabulary stock and its FAISS index up to date with the recordings analysed so far.

Recordings not yet in the stock are merged, recordings analysed again since they were
merged have their rows replaced, recordings no longer registered leave it; only new
expressions are embedded. The index remembers which embedding model built it; a
different model (a provider was configured since) rebuilds it from cached vectors.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..ai.errors import AIError
from ..storage.frame_store import FrameStore
from .stock import StockEditor, empty_stock, native_stock, recordings_held, stock_texts
from .stock_columns import NESTED_FIELDS
from .stock_index import StockIndex, similar
from .themes import assign_themes

STOCK_ASSET = "vocabulary"
SOURCE_ASSET = "difficulty"
_META = "embedding.json"


@dataclass
class VocabularyRefresh:
    stock: pd.DataFrame
    merged_recordings: list[str] = field(default_factory=list)  # recordings new to the stock
    replaced_recordings: list[str] = field(default_factory=list)  # analysed again: old rows replaced
    removed_recordings: list[str] = field(default_factory=list)  # no longer registered: rows removed
    retitled_recordings: list[str] = field(default_factory=list)  # a title learnt since their analysis
    removed_keys: list[str] = field(default_factory=list)  # stock keys gone since the last stock
    added: int = 0
    merged_exact: int = 0
    merged_near: int = 0
    embedded: int = 0


def analysis_version(data: bytes) -> str:
    """Version of a recording's analysis: a digest of its stored ``difficulty`` table
    (the Parquet bytes of one table are the same whenever it is written again)."""
    return hashlib.sha256(data).hexdigest()[:16]


def refresh_vocabulary(
    *,
    frames: FrameStore,
    index_dir: Path,
    partitions: Sequence[str],
    embed: Callable[[list[str]], object],
    rebuild: bool = False,
    threshold: float = 0.92,
    titles: Mapping[str, str] | None = None,
) -> VocabularyRefresh:
    """Brings the stock up to date with the analysed recordings ``partitions``.

    A recording the stock does not hold yet is merged; one whose analysis changed since
    it was merged (a new lexicon, a provider, a new title: its ``difficulty`` table is
    not the one merged) has its rows replaced; one that is no longer among
    ``partitions`` leaves the stock.  Unchanged recordings are not read again beyond
    their stored bytes.  ``titles`` (recording → title the registry knows now) wins over
    the title an analysis was made with, so a title learnt later reaches the stock.
    ``embed`` is the AI core's ``embed``: it returns a result with ``vectors``,
    ``provider`` and ``model``; vectors come from its cache when seen before.
    """
    previous = frames.read(STOCK_ASSET) if frames.exists(STOCK_ASSET) else None
    if previous is not None and any(previous[c].dtype != object for c in NESTED_FIELDS if c in previous.columns):
        previous = native_stock(previous)  # stored with JSON text (before the columns were native): written back nested
    stock = None if rebuild else previous
    model = _embedding_model(embed)
    index = (None if rebuild else load_index(index_dir, model)) or StockIndex()
    vectors = _one_model(embed, model)
    result = VocabularyRefresh(stock=empty_stock())
    editor = _apply_recordings(stock, index, vectors, threshold, frames, partitions,
                               {p: title for p, title in (titles or {}).items() if title}, result)  # fmt: skip
    if editor is not None:
        stock = editor.frame()
        for name in ("added", "merged_exact", "merged_near", "embedded"):
            setattr(result, name, editor.counts[name])
    keys = [] if stock is None else stock["key"].tolist()
    index.remove(set(index.keys) - set(keys))  # removed rows, or rows of a stock that was never written
    missing = index.missing(keys)
    if missing:
        texts = dict(zip(keys, stock_texts(stock), strict=True))
        index.add(missing, vectors([texts[k] for k in missing]))
        result.embedded += len(missing)
    result.removed_keys = sorted(set() if previous is None else set(previous["key"]) - set(keys))
    if keys:
        result.stock = stock.copy()
        result.stock["theme"] = assign_themes(stock, index.vectors_for(keys)).to_numpy()
    save_index(index, index_dir, model)
    return result


def _apply_recordings(
    stock: pd.DataFrame | None,
    index: StockIndex,
    vectors: Callable[[list[str]], np.ndarray],
    threshold: float,
    frames: FrameStore,
    partitions: Sequence[str],
    titles: Mapping[str, str],
    result: VocabularyRefresh,
) -> StockEditor | None:
    """Merges, replaces, retitles and removes recordings (noted in ``result``); the editor
    holding the new stock, or None when nothing changed."""
    held = recordings_held(stock)
    editor: StockEditor | None = None

    def opened() -> StockEditor:  # on the first change: one pass over the stock for all of them
        nonlocal editor
        editor = editor or StockEditor(stock, embed=vectors, index=index, threshold=threshold)
        return editor

    for partition in partitions:
        if not frames.exists(SOURCE_ASSET, partition):
            continue
        data = frames.path(SOURCE_ASSET, partition).read_bytes()
        version, title = analysis_version(data), titles.get(partition)
        if partition in held and held[partition].versions == {version}:  # merged, and analysed the same since
            if title and held[partition].titles != {title}:
                opened().retitle(partition, title)
                result.retitled_recordings.append(partition)
            continue
        new = pd.read_parquet(io.BytesIO(data))
        if partition in held:
            opened().replace(partition, new, analysis=version)
            result.replaced_recordings.append(partition)
        elif not new.empty:
            opened().merge(new, analyses={partition: version})
            result.merged_recordings.append(partition)
        if title and editor is not None and editor.retitle(partition, title):
            result.retitled_recordings.append(partition)
    result.removed_recordings = sorted(set(held) - set(partitions))
    if result.removed_recordings:
        opened().remove(result.removed_recordings)
    return editor


def _one_model(embed: Callable[[list[str]], object], model: str) -> Callable[[list[str]], np.ndarray]:
    """``embed`` as vectors, refusing answers from any model but ``model`` (the index's)."""

    def vectors(texts: list[str]) -> np.ndarray:
        answer = embed(texts)
        if f"{answer.provider}/{answer.model}" != model:  # the core fell back to another model
            raise EmbeddingModelChangedError(model, f"{answer.provider}/{answer.model}")
        return np.asarray(answer.vectors, dtype=np.float32)

    return vectors


class EmbeddingModelChangedError(AIError):
    """One stock index holds one model's vectors: never a mix of two."""

    def __init__(self, expected: str, got: str):
        super().__init__(
            f"The vocabulary index holds {expected} embeddings, but the AI core answered with {got} (it fell back "
            f"after {expected} failed). Nothing was written. Rerun once {expected} answers again, or rebuild the "
            "stock with the other model (vocabulary config rebuild: true).")


def _embedding_model(embed: Callable[[list[str]], object]) -> str:
    probe = embed(["語"])
    return f"{probe.provider}/{probe.model}"


def load_index(index_dir: Path, model: str) -> StockIndex | None:
    meta = index_dir / _META
    if not meta.exists():
        return None
    if json.loads(meta.read_text()).get("model") != model:
        return None
    try:
        return StockIndex.load(index_dir)
    except (OSError, ValueError):
        return None  # unreadable index: rebuilt from the (cached) embeddings


def save_index(index: StockIndex, index_dir: Path, model: str) -> None:
    index.save(index_dir)
    tmp = index_dir / (_META + ".tmp")
    tmp.write_text(json.dumps({"model": model, "rows": len(index)}))
    tmp.replace(index_dir / _META)


def similar_expressions(stock: pd.DataFrame, index_dir: Path, text: str, embed, k: int = 5
                        ) -> list[tuple[str, str, float]]:
    """"Expressions similar to X" against the persisted index."""
    model = _embedding_model(embed)
    index = load_index(index_dir, model)
    if index is None:
        return []
    return similar(stock, index, text, lambda texts: np.asarray(embed(texts).vectors, dtype=np.float32), k=k)
