"""Half-price answers for work that can wait: OpenAI's Batch API behind the AI core's cache.

``non_urgent(waiter)`` makes the text requests inside deferrable (``deferral``); ``submit_queued``
sends what was deferred as JSONL batch files, once each and crash-safely (``submitter``); ``poll``
collects ended batches into the same cache entries and ledger the synchronous path uses, at the
batch price, and lets what a batch did not answer fall back to normal calls (``collector``).
``store`` holds the three tables; ``jsonl`` the file formats.
"""

from typing import Any

from .deferral import (
    BATCH_ENV,
    PENDING_RESULT,
    BatchPending,
    PendingRequests,
    batch_allowed,
    current,
    defer,
    non_urgent,
)
from .steps import WAITING, non_urgent_run, submit_waiting
from .store import BatchStore

# loaded on first use: they import the openai SDK, which the AI core itself only loads with its provider
_LAZY = {"BATCH_MODE": "collector", "Collected": "collector", "poll": "collector", "Submitted": "submitter",
         "submit_queued": "submitter"}

__all__ = [
    "BATCH_ENV",
    "BATCH_MODE",
    "PENDING_RESULT",
    "WAITING",
    "BatchPending",
    "BatchStore",
    "Collected",
    "PendingRequests",
    "Submitted",
    "batch_allowed",
    "current",
    "defer",
    "non_urgent",
    "non_urgent_run",
    "poll",
    "submit_queued",
    "submit_waiting",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
