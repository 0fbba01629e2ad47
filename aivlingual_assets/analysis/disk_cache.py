"""Derived data the offline engine rebuilds only when its inputs change.

The phrase index (JMdict expressions tokenised by Sudachi) and the parsed lexicon and
grammar files cost from a few hundred milliseconds to seconds to build, on every process
start. They are pickled under ``$AIVLINGUAL_CACHE_DIR`` (default ``$XDG_CACHE_HOME/aivlingual``
or ``~/.cache/aivlingual``), named by a fingerprint of what they were built from, written
atomically; a cache that cannot be read or written is simply rebuilt. Entries built from other
inputs are pruned to the newest ``KEEP_OTHERS``.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

__all__ = ["cache_dir", "cached", "KEEP_OTHERS"]

KEEP_OTHERS = 2  # entries of the same name built from other inputs, newest first

T = TypeVar("T")


def cache_dir() -> Path:
    override = os.environ.get("AIVLINGUAL_CACHE_DIR", "").strip()
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "aivlingual"


def cached(name: str, fingerprint: str, build: Callable[[], T]) -> T:
    """``build()``'s value, from ``<cache dir>/<name>-<fingerprint>.pickle`` when it is there."""
    path = cache_dir() / f"{name}-{fingerprint}.pickle"
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError, ImportError):
        pass
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(fh.name, path)
        # Built from other inputs: gone, or another checkout's on the same machine (a second venv, a CI
        # clone). The newest few are kept so two checkouts do not evict each other's on every start.
        others = sorted((p for p in path.parent.glob(f"{name}-*.pickle") if p != path),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in others[KEEP_OTHERS:]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only home: rebuilt next time, nothing lost
    return value
