"""Retries of one provider call: exponential backoff with jitter, honouring Retry-After and the call's deadline."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import tenacity

from . import deadline
from .config import AISettings
from .providers.base import CallFailure

log = logging.getLogger("aivlingual.ai")


def call_with_retries(fn: Callable[[], Any], settings: AISettings, *, label: str,
                      on_failure: Callable[[CallFailure], None],
                      redact: Callable[[str], str] = lambda text: text) -> Any:
    """``fn()`` until it succeeds, fails for good, or ``max_attempts`` (or the deadline) are spent.

    Whatever ``fn`` raises becomes a ``CallFailure`` with ``redact``-ed text and no chained cause
    (the SDK's exception would carry the server's raw message); an exception other than a
    ``CallFailure`` is a provider's answer its SDK could not read, retried like a malformed response.

    The last failure is raised. Every failure that is retried is logged (``aivlingual.ai``,
    with its reason and the wait) and passed to ``on_failure``; the final one is the caller's.
    No attempt starts after the call's deadline, and no wait runs past it.
    """
    s = settings
    backoff = tenacity.wait_exponential_jitter(initial=s.retry_base_seconds, max=s.retry_max_seconds)

    def attempt() -> Any:
        if deadline.expired():
            raise CallFailure(f"{label}: the call's deadline passed before this attempt", retryable=False)
        try:
            return fn()
        except CallFailure as exc:
            # the SDK's exception (the cause) carries the server's raw message, which may echo a key
            exc.message = redact(exc.message)
            raise exc from None
        except Exception as exc:  # an SDK choking on a malformed answer (e.g. "No embedding data received")
            raise CallFailure(redact(f"{label} sent an answer that could not be read ({exc.__class__.__name__}: "
                                     f"{str(exc)[:300]})"), retryable=True) from None

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        delay = backoff(state)
        if isinstance(exc, CallFailure) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, s.retry_max_seconds))
        return delay

    def out_of_time(state: tenacity.RetryCallState) -> bool:
        left = deadline.remaining()
        return left is not None and left <= (state.upcoming_sleep or 0.0)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, CallFailure):
            log.warning("%s: attempt %d of %d failed (%s); retrying in %.1f s", label, state.attempt_number,
                        s.max_attempts, redact(str(exc)), state.upcoming_sleep)
            on_failure(exc)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, s.max_attempts)) | out_of_time,
        retry=tenacity.retry_if_exception(lambda e: isinstance(e, CallFailure) and e.retryable),
        wait=wait,
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(attempt)
