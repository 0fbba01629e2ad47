"""The overall deadline of one AI call, across its retries, repair attempt and fallbacks.

The core opens a scope per public call (``generate_text``, ``embed``, ``transcribe``,
``generate_audio``); every provider request inside it is sent with a timeout no longer than
the time left, retries stop when the next wait would pass the deadline, and no further model
is tried after it. Scopes nest: an inner scope never extends an outer one.
"""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

DEADLINE_ENV = "AIVLINGUAL_AI_CALL_DEADLINE_S"
DEFAULT_DEADLINE_SECONDS = 300.0

_ends: contextvars.ContextVar[float | None] = contextvars.ContextVar("aiv_call_deadline", default=None)


@contextmanager
def scope(seconds: float | None) -> Iterator[None]:
    """Everything inside must finish within ``seconds`` (None or <= 0: no deadline of its own)."""
    outer = _ends.get()
    end = time.monotonic() + seconds if seconds and seconds > 0 else None
    if outer is not None and (end is None or outer < end):
        end = outer
    token = _ends.set(end)
    try:
        yield
    finally:
        _ends.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (never negative); None outside any deadline."""
    end = _ends.get()
    return None if end is None else max(0.0, end - time.monotonic())


def expired() -> bool:
    left = remaining()
    return left is not None and left <= 0.0


def request_timeout(default: float) -> float:
    """The timeout of one provider request: ``default``, cut to the time left."""
    left = remaining()
    return default if left is None else max(0.001, min(default, left))


def bounded(method: F) -> F:
    """Runs an ``AICore`` method inside a scope of its ``settings.call_deadline_seconds``."""

    @functools.wraps(method)
    def wrapper(self, *args: Any, **kwargs: Any) -> Any:
        with scope(self.settings.call_deadline_seconds):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
