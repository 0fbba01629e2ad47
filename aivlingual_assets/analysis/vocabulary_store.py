"""Keeps the vocabulary stock and its FAISS index up to date with the recordings analysed so far.

Only recordings not yet in the stock are read and merged, and only their new
expressions are embedded. The index remembers which embedding model built it; a
different model (a provider was configured since) rebuilds it from cached vectors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..ai.errors import AIError
from ..storage.frame_store import FrameStore
from .stock import empty_stock, update_stock
from .stock_index import StockIndex, similar
from .themes import assign_themes

STOCK_ASSET = "vocabulary"
SOURCE_ASSET = "difficulty"
_META = "embedding.json"


@dataclass
class VocabularyRefresh:
    stock: pd.DataFrame
    merged_recordings: list[str] = field(default_factory=list)
    added: int = 0
    merged_exact: int = 0
    merged_near: int = 0
    embedded: int = 0


def recordings_in(stock: pd.DataFrame | None) -> set[str]:
    if stock is None or stock.empty:
        return set()
    found: set[str] = set()
    for raw in stock["occurrences"]:
        found.update(o["recording"] for o in json.loads(raw or "[]"))
    return found


def refresh_vocabulary(
    *,
    frames: FrameStore,
    index_dir: Path,
    partitions: Sequence[str],
    embed: Callable[[list[str]], object],
    rebuild: bool = False,
    threshold: float = 0.92,
) -> VocabularyRefresh:
    """Merges every analysed recording that the stock does not contain yet.

    ``embed`` is the AI core's ``embed``: it returns a result with ``vectors``, ``provider``
    and ``model``; vectors come from its cache when seen before.
    """
    stock = None if rebuild or not frames.exists(STOCK_ASSET) else frames.read(STOCK_ASSET)
    model = _embedding_model(embed)
    index = None if rebuild else load_index(index_dir, model)
    done = recordings_in(stock)
    todo = [p for p in partitions if p not in done and frames.exists(SOURCE_ASSET, p)]
    result = VocabularyRefresh(stock=stock if stock is not None else empty_stock())

    def vectors(texts: list[str]) -> np.ndarray:
        answer = embed(texts)
        if f"{answer.provider}/{answer.model}" != model:  # the core fell back to another model
            raise EmbeddingModelChangedError(model, f"{answer.provider}/{answer.model}")
        return np.asarray(answer.vectors, dtype=np.float32)

    for partition in todo:
        new = frames.read(SOURCE_ASSET, partition)
        if new.empty:
            continue
        update = update_stock(stock, new, embed=vectors, index=index, threshold=threshold)
        stock, index = update.stock, update.index
        result.merged_recordings.append(partition)
        result.added += update.added
        result.merged_exact += update.merged_exact
        result.merged_near += update.merged_near
        result.embedded += update.embedded
    if stock is None or stock.empty:
        result.stock = empty_stock()
        return result
    if index is None or index.missing(stock["key"].tolist()):
        index = index or StockIndex()
        missing = index.missing(stock["key"].tolist())
        from .stock import stock_texts

        texts = dict(zip(stock["key"], stock_texts(stock)))
        index.add(missing, vectors([texts[k] for k in missing]))
        result.embedded += len(missing)
    stock = stock.copy()
    stock["theme"] = assign_themes(stock, index.vectors_for(stock["key"].tolist())).to_numpy()
    save_index(index, index_dir, model)
    result.stock = stock
    return result


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
