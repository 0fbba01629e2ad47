"""RateLimiter / TokenBucket with an injected clock (no real waiting, except one thread test)."""

from __future__ import annotations

import random
import threading
import time

import httpx
import pytest
from notion_client.errors import APIErrorCode, APIResponseError, RequestTimeoutError, UnknownHTTPResponseError

from aivlingual_assets.publishing.rate_limit import (
    ErrorKind,
    RateLimiter,
    TokenBucket,
    classify_error,
    retry_after_seconds,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def api_error(status: int, code: APIErrorCode, headers: dict | None = None) -> APIResponseError:
    return APIResponseError(
        code=code, status=status, message=f"{code.value}", headers=httpx.Headers(headers or {}), raw_body_text="{}"
    )


def limiter(clock: FakeClock, **kwargs) -> RateLimiter:
    return RateLimiter(clock=clock, sleep=clock.sleep, rng=random.Random(7), **kwargs)


def test_bucket_allows_a_burst_then_paces_at_the_average_rate():
    clock = FakeClock()
    bucket = TokenBucket(rate=3, capacity=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        assert bucket.acquire() == 0.0
    for _ in range(6):
        bucket.acquire()
    assert clock.now - 1000.0 == pytest.approx(2.0)  # 6 more tokens at 3/s
    assert all(s == pytest.approx(1 / 3) for s in clock.sleeps)


def test_bucket_hold_blocks_everyone_for_the_given_time():
    clock = FakeClock()
    bucket = TokenBucket(rate=3, capacity=3, clock=clock, sleep=clock.sleep)
    bucket.hold(5)
    waited = bucket.acquire()
    assert waited >= 5.0


def test_bucket_is_thread_safe_with_a_real_clock():
    bucket = TokenBucket(rate=400, capacity=1)
    taken = []
    start = time.monotonic()

    def worker() -> None:
        for _ in range(20):
            bucket.acquire()
            taken.append(1)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 80
    assert time.monotonic() - start >= 79 / 400 * 0.95


def test_classify_errors():
    assert classify_error(api_error(429, APIErrorCode.RateLimited)) is ErrorKind.RATE_LIMITED
    assert classify_error(api_error(409, APIErrorCode.ConflictError)) is ErrorKind.TRANSIENT
    assert classify_error(api_error(500, APIErrorCode.InternalServerError)) is ErrorKind.AMBIGUOUS
    assert classify_error(api_error(503, APIErrorCode.ServiceUnavailable)) is ErrorKind.AMBIGUOUS
    assert classify_error(UnknownHTTPResponseError(502)) is ErrorKind.AMBIGUOUS
    assert classify_error(RequestTimeoutError()) is ErrorKind.AMBIGUOUS
    assert classify_error(httpx.RemoteProtocolError("gone")) is ErrorKind.AMBIGUOUS
    assert classify_error(httpx.ConnectError("refused")) is ErrorKind.TRANSIENT
    assert classify_error(api_error(400, APIErrorCode.ValidationError)) is ErrorKind.FATAL
    assert classify_error(api_error(401, APIErrorCode.Unauthorized)) is ErrorKind.FATAL
    assert classify_error(ValueError("bug")) is ErrorKind.FATAL


def test_retry_after_parsing():
    assert retry_after_seconds(api_error(429, APIErrorCode.RateLimited, {"Retry-After": "2"})) == 2.0
    assert retry_after_seconds(api_error(429, APIErrorCode.RateLimited, {"Retry-After": "0.5"})) == 0.5
    http_date = "Wed, 21 Oct 2015 07:28:30 GMT"
    assert retry_after_seconds(
        api_error(429, APIErrorCode.RateLimited, {"Retry-After": http_date}), now=lambda: 1445412500.0
    ) == pytest.approx(10.0)
    assert retry_after_seconds(api_error(429, APIErrorCode.RateLimited)) is None
    assert retry_after_seconds(api_error(429, APIErrorCode.RateLimited, {"Retry-After": "soon"})) is None


def test_429_waits_exactly_retry_after_then_succeeds():
    clock = FakeClock()
    lim = limiter(clock)
    outcomes = [api_error(429, APIErrorCode.RateLimited, {"Retry-After": "4"})] * 2 + ["ok"]

    def call():
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    assert lim.call(call) == "ok"
    assert clock.sleeps.count(4.0) == 2
    assert lim.stats.rate_limited == 2 and lim.stats.attempts == 3


def test_429_without_header_backs_off_exponentially():
    clock = FakeClock()
    lim = limiter(clock, max_attempts=4, backoff_initial=1.0)
    calls = []

    def call():
        calls.append(1)
        if len(calls) < 4:
            raise api_error(429, APIErrorCode.RateLimited)
        return "ok"

    assert lim.call(call) == "ok"
    assert lim.stats.retries == 3


def test_5xx_retries_are_bounded_with_capped_jittered_backoff():
    clock = FakeClock()
    lim = limiter(clock, max_attempts=5, backoff_initial=0.5, backoff_max=1.5)
    calls = []

    def call():
        calls.append(1)
        raise api_error(500, APIErrorCode.InternalServerError)

    with pytest.raises(APIResponseError):
        lim.call(call)
    assert len(calls) == 5
    backoffs = [s for s in clock.sleeps if s >= 0.25 - 1e-9]
    assert len(backoffs) >= 4 and all(0.25 <= s <= 1.5 for s in backoffs)


def test_fatal_errors_are_not_retried():
    clock = FakeClock()
    lim = limiter(clock)
    calls = []

    def call():
        calls.append(1)
        raise api_error(400, APIErrorCode.ValidationError)

    with pytest.raises(APIResponseError):
        lim.call(call)
    assert len(calls) == 1


def test_ambiguous_failure_of_a_non_idempotent_call_needs_reconcile():
    clock = FakeClock()
    lim = limiter(clock)
    calls = []

    def create():
        calls.append(1)
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    with pytest.raises(httpx.RemoteProtocolError):
        lim.call(create, idempotent=False)
    assert len(calls) == 1


def test_reconcile_result_is_returned_instead_of_retrying():
    clock = FakeClock()
    lim = limiter(clock)
    calls = []

    def create():
        calls.append(1)
        raise api_error(502, APIErrorCode.InternalServerError)

    assert lim.call(create, idempotent=False, reconcile=lambda: {"id": "found"}) == {"id": "found"}
    assert len(calls) == 1 and lim.stats.reconciled == 1


def test_reconcile_none_allows_the_retry():
    clock = FakeClock()
    lim = limiter(clock)
    outcomes = [RequestTimeoutError(), {"id": "new"}]
    checks = []

    def create():
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def reconcile():
        checks.append(1)
        return None

    assert lim.call(create, idempotent=False, reconcile=reconcile) == {"id": "new"}
    assert checks == [1]


def test_429_on_a_non_idempotent_call_retries_without_reconciling():
    clock = FakeClock()
    lim = limiter(clock)
    outcomes = [api_error(429, APIErrorCode.RateLimited, {"Retry-After": "1"}), "created"]

    def create():
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def reconcile():
        raise AssertionError("a 429 was never executed: no reconcile needed")

    assert lim.call(create, idempotent=False, reconcile=reconcile) == "created"
