"""Pacing and retrying of Notion API calls.

Notion allows an average of three requests per second per integration, answers
429 with a ``Retry-After`` header when we are too fast, and occasionally fails
with 5xx or time-outs.  Every call to the API goes through :class:`RateLimiter`,
which waits for a token (so we rarely see a 429 at all), honours ``Retry-After``
when we do, and retries transient failures with exponential back-off + jitter.

Retrying a request that *may already have been executed* (a create that timed
out, a 5xx after the server committed) could duplicate data, so such
"ambiguous" failures are only retried for idempotent calls, or after a
``reconcile`` callback confirmed the effect did not happen.

The clock and the sleep function are injectable so tests run in milliseconds.
Build the ``notion_client.Client`` with ``retry=False``: its own retry loop
sleeps with the real clock and would retry on top of this one.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any, Callable, Protocol, TypeVar

import httpx
from notion_client.errors import HTTPResponseError, RequestTimeoutError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

T = TypeVar("T")

__all__ = [
    "ErrorKind",
    "LimiterStats",
    "LogLike",
    "RateLimiter",
    "TokenBucket",
    "classify_error",
    "retry_after_seconds",
]

_log = logging.getLogger(__name__)

NOTION_AVERAGE_RATE = 3.0  # requests per second, Notion's documented average
NOTION_BURST = 3  # a small burst above the average is tolerated
_EPSILON = 1e-9
_MIN_WAIT = 1e-4


class LogLike(Protocol):
    def info(self, msg: str, *args: Any) -> Any: ...

    def warning(self, msg: str, *args: Any) -> Any: ...


class ErrorKind(str, Enum):
    """How a failed API call may be retried."""

    RATE_LIMITED = "rate_limited"  # 429: not executed; wait Retry-After
    TRANSIENT = "transient"  # not executed (409 conflict, connect failure); retry
    AMBIGUOUS = "ambiguous"  # 5xx / time-out / dropped response: may have executed
    FATAL = "fatal"  # 4xx and programming errors: retrying cannot help


_AMBIGUOUS_CODES = {"internal_server_error", "service_unavailable", "gateway_timeout"}


def _error_code(exc: BaseException) -> str:
    code = getattr(exc, "code", "")
    return str(getattr(code, "value", code) or "")


def classify_error(exc: BaseException) -> ErrorKind:
    """Sort an exception raised by notion-client / httpx into an :class:`ErrorKind`."""
    if isinstance(exc, HTTPResponseError):
        status, code = exc.status, _error_code(exc)
        if status == 429 or code == "rate_limited":
            return ErrorKind.RATE_LIMITED
        if status == 409 or code == "conflict_error":
            return ErrorKind.TRANSIENT
        if status >= 500 or code in _AMBIGUOUS_CODES:
            return ErrorKind.AMBIGUOUS
        return ErrorKind.FATAL
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return ErrorKind.TRANSIENT  # the request never reached the server
    if isinstance(exc, (RequestTimeoutError, httpx.TransportError)):
        return ErrorKind.AMBIGUOUS
    return ErrorKind.FATAL


def retry_after_seconds(exc: BaseException, *, now: Callable[[], float] = time.time) -> float | None:
    """The server's ``Retry-After`` in seconds (delta-seconds or HTTP date), if any."""
    headers = getattr(exc, "headers", None)
    if headers is None:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        value = headers.get("retry-after")
    except AttributeError:
        return None
    if value is None:
        return None
    value = str(value).strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now()
        except (TypeError, ValueError, IndexError):
            return None
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


class TokenBucket:
    """Thread-safe token bucket: ``rate`` tokens per second, at most ``capacity`` saved up."""

    def __init__(
        self,
        rate: float = NOTION_AVERAGE_RATE,
        capacity: float = NOTION_BURST,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(capacity)
        self._stamp = clock()
        self._blocked_until = float("-inf")

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._stamp)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._stamp = now

    def try_acquire(self) -> float:
        """Take a token if one is available; otherwise return how long to wait (no token taken)."""
        with self._lock:
            now = self._clock()
            if now < self._blocked_until:
                return self._blocked_until - now
            self._refill(now)
            if self._tokens >= 1.0 - _EPSILON:  # tolerate float residue (no 1e-17 s sleeps)
                self._tokens = max(0.0, self._tokens - 1.0)
                return 0.0
            return max((1.0 - self._tokens) / self.rate, _MIN_WAIT)

    def acquire(self) -> float:
        """Block until a token is available; returns the seconds spent waiting."""
        waited = 0.0
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return waited
            self._sleep(wait)
            waited += wait

    def hold(self, seconds: float) -> None:
        """Hand out no tokens for ``seconds`` (every thread backs off after a 429)."""
        with self._lock:
            now = self._clock()
            self._blocked_until = max(self._blocked_until, now + max(0.0, seconds))
            self._tokens = 0.0
            self._stamp = max(self._stamp, now)


@dataclass
class LimiterStats:
    """Counters for run metadata (how hard we had to work to get through)."""

    calls: int = 0
    attempts: int = 0
    rate_limited: int = 0
    retries: int = 0
    reconciled: int = 0
    seconds_waited: float = 0.0


class RateLimiter:
    """Runs callables at Notion's pace, retrying 429 / transient failures a bounded number of times."""

    def __init__(
        self,
        rate: float = NOTION_AVERAGE_RATE,
        burst: int = NOTION_BURST,
        *,
        max_attempts: int = 6,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
        rng: random.Random | None = None,
        log: LogLike | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._log = log or _log
        self.bucket = TokenBucket(rate, burst, clock=clock, sleep=self._timed_sleep)
        self.stats = LimiterStats()
        self._stats_lock = threading.Lock()

    def _timed_sleep(self, seconds: float) -> None:
        with self._stats_lock:
            self.stats.seconds_waited += seconds
        self._sleep(seconds)

    def _bump(self, **fields: int) -> None:
        with self._stats_lock:
            for name, inc in fields.items():
                setattr(self.stats, name, getattr(self.stats, name) + inc)

    def _backoff(self, attempt_number: int) -> float:
        # "full jitter" on an exponential ceiling (AWS architecture blog), never below a floor
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** (attempt_number - 1)))
        return max(self.backoff_initial / 2, self._rng.uniform(0, ceiling))

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None and classify_error(exc) is ErrorKind.RATE_LIMITED:
            header = retry_after_seconds(exc)
            delay = header if header is not None else self._backoff(state.attempt_number)
            delay = min(delay, self.max_retry_after)
            self.bucket.hold(delay)  # other threads must back off too
            return delay
        return self._backoff(state.attempt_number)

    def call(
        self,
        fn: Callable[..., T],
        /,
        *args: Any,
        idempotent: bool = True,
        reconcile: Callable[[], T | None] | None = None,
        **kwargs: Any,
    ) -> T:
        """Run ``fn(*args, **kwargs)`` under the rate limit with bounded retries.

        ``idempotent=False`` marks calls (page creation) that must not be repeated
        blindly after an ambiguous failure; such a retry happens only if
        ``reconcile()`` ran first and returned ``None`` ("it did not happen").  A
        non-``None`` value from ``reconcile`` is returned as the call's result.
        """
        self._bump(calls=1)
        can_retry_ambiguous = idempotent or reconcile is not None

        def retryable(exc: BaseException) -> bool:
            kind = classify_error(exc)
            if kind is ErrorKind.AMBIGUOUS:
                return can_retry_ambiguous
            return kind in (ErrorKind.RATE_LIMITED, ErrorKind.TRANSIENT)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            kind = classify_error(exc) if exc is not None else ErrorKind.FATAL
            self._bump(retries=1, rate_limited=int(kind is ErrorKind.RATE_LIMITED))
            wait = state.next_action.sleep if state.next_action else 0.0
            self._log.warning(
                "Notion call %s failed (%s: %s); retry %d/%d in %.1f s",
                getattr(fn, "__qualname__", "request"),
                kind.value,
                type(exc).__name__,
                state.attempt_number,
                self.max_attempts - 1,
                wait,
            )

        retrying = Retrying(
            sleep=self._timed_sleep,
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(retryable),
            before_sleep=before_sleep,
            reraise=True,
        )
        must_reconcile = False
        for attempt in retrying:
            with attempt:
                if must_reconcile and reconcile is not None:
                    found = reconcile()
                    must_reconcile = False  # only once it answered: it did not happen
                    if found is not None:
                        self._bump(reconciled=1)
                        return found
                self.bucket.acquire()
                self._bump(attempts=1)
                try:
                    return fn(*args, **kwargs)
                except Exception as exc:
                    if not idempotent and classify_error(exc) is ErrorKind.AMBIGUOUS:
                        must_reconcile = True
                    raise
        raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover
