"""Retries of one provider call: exponential backoff with jitter, honouring Retry-After."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tenacity

from .config import AISettings
from .providers.base import CallFailure


def call_with_retries(fn: Callable[[], Any], settings: AISettings, *,
                      on_failure: Callable[[CallFailure], None]) -> Any:
    """``fn()`` until it succeeds, fails for good, or ``max_attempts`` are spent; the last failure is raised.

    ``on_failure`` sees every failure that is retried (the final one is the caller's to handle).
    """
    s = settings
    backoff = tenacity.wait_exponential_jitter(initial=s.retry_base_seconds, max=s.retry_max_seconds)

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        delay = backoff(state)
        if isinstance(exc, CallFailure) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, s.retry_max_seconds))
        return delay

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, CallFailure):
            on_failure(exc)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, s.max_attempts)),
        retry=tenacity.retry_if_exception(lambda e: isinstance(e, CallFailure) and e.retryable),
        wait=wait,
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(fn)
