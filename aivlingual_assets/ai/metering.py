"""Usage meters: every call made inside ``with meter():`` is added to each open meter (nesting allowed)."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .results import UsageMeter

_active_meters: contextvars.ContextVar[tuple[UsageMeter, ...]] = contextvars.ContextVar("aiv_meters", default=())


@contextmanager
def meter() -> Iterator[UsageMeter]:
    """Collects the usage of every call made inside the block (nesting allowed)."""
    usage = UsageMeter()
    token = _active_meters.set(_active_meters.get() + (usage,))
    try:
        yield usage
    finally:
        _active_meters.reset(token)


def record(**values: Any) -> None:
    """Adds one call's usage to every open meter."""
    for usage in _active_meters.get():
        usage.add(**values)


def record_failure() -> None:
    for usage in _active_meters.get():
        usage.add_failure()
