"""Derived data the offline engine rebuilds only when its inputs change.

The phrase index (JMdict expressions tokenised by Sudachi) and the parsed lexicon and
grammar files cost from a few hundred milliseconds to seconds to build, on every process
start. They are pickled under ``$AIVLINGUAL_CACHE_DIR`` (default ``$XDG_CACHE_HOME/aivlingual``
or ``~/.cache/aivlingual``), named by a fingerprint of what they were built from, written
atomically; a cache that cannot be read or written is simply rebuilt.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

__all__ = ["cache_dir", "cached"]

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
        for stale in path.parent.glob(f"{name}-*.pickle"):
            if stale != path:
                stale.unlink(missing_ok=True)  # built from inputs that are gone
    except OSError:
        pass  # a read-only home: rebuilt next time, nothing lost
    return value
