"""Deferring non-urgent text requests to a Batch API instead of calling at once.

Inside ``non_urgent(waiter)`` (the nightly catch-up, when ``batch_allowed()``), a text request
that misses the cache and would go to a provider with a Batch API is written into the batch
queue and ``BatchPending`` is raised instead of a call. A request already cached never gets here
(the core looks the cache up first); a key already queued or submitted is not queued again; a key
whose batch failed, expired or whose line failed (state ``fallback``) is called normally.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .. import cache_key as ck
from ..catalogue import batch_price_factor
from .store import WAITING_STATES, BatchStore

BATCH_ENV = "AIVLINGUAL_BATCH"  # the service default of the channels' ``batch`` setting


def batch_allowed(channel: str | None = None, *, channel_setting: bool | None = None,
                  database_url: str | None = None) -> bool:
    """Whether non-urgent work may wait for a Batch API: the cascade of the ``batch`` setting, i.e. the channel's
    own setting (``aivlingual channels set NAME batch on``), else ``AIVLINGUAL_BATCH``, else off.

    ``channel_setting`` decides instead when given; ``database_url`` is where the channel registry lives
    (default: the service's ledger database)."""
    if channel_setting is not None:
        return channel_setting
    from ...channels.cascade import resolve

    found = None
    if channel:
        from ... import settings
        from ...channels.store import channel_store

        found = channel_store(database_url or settings.database_url()).get(channel)
    return bool(resolve("batch", found).value)


class BatchPending(Exception):
    """A request went into the batch queue; its answer arrives with the batch (not an error)."""

    def __init__(self, cache_key: str, request_type: str, provider: str, model: str):
        self.cache_key, self.request_type, self.provider, self.model = cache_key, request_type, provider, model
        super().__init__(f"'{request_type}' waits for a {provider} batch ({model}, request {cache_key[:12]})")


@dataclass
class PendingRequests:
    """What one non-urgent step sent to the batch queue (its ``waiter`` is who re-runs for the answers)."""

    waiter: str | None
    keys: list[str] = field(default_factory=list)
    request_types: dict[str, int] = field(default_factory=dict)

    def add(self, pending: BatchPending) -> None:
        if pending.cache_key not in self.keys:
            self.keys.append(pending.cache_key)
            self.request_types[pending.request_type] = self.request_types.get(pending.request_type, 0) + 1

    def __bool__(self) -> bool:
        return bool(self.keys)

    def tolerant(self, run_task: Callable[..., Any]) -> Callable[..., Any]:
        """``run_task`` that notes a pending request and answers it with ``PENDING_RESULT`` so the step asks every
        other request too (one batch for the whole step); the step's output is then not used."""

        def run(task: Any, task_input: Any, **kwargs: Any) -> Any:
            try:
                return run_task(task, task_input, **kwargs)
            except BatchPending as pending:
                self.add(pending)
                return PENDING_RESULT

        return run


class _NoItems:
    """The parsed answer of a pending request: no items (what a step reads before its output is dropped)."""

    @property
    def items(self) -> list[Any]:
        return []

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"a request waiting for its batch has no answer yet ({name})")


@dataclass(frozen=True)
class _PendingResult:
    parsed: Any = field(default_factory=_NoItems)
    text: str = ""
    provider: str = "batch"
    model: str = "pending"
    cache_hit: bool = False


PENDING_RESULT = _PendingResult()

_mode: contextvars.ContextVar[PendingRequests | None] = contextvars.ContextVar("aiv_batch_mode", default=None)


@contextmanager
def non_urgent(waiter: str | None = None, *, enabled: bool = True) -> Iterator[PendingRequests]:
    """Text requests made inside may wait for a Batch API (when ``enabled``); yields what was deferred."""
    pending = PendingRequests(waiter)
    token = _mode.set(pending if enabled else None)
    try:
        yield pending
    finally:
        _mode.reset(token)


def current() -> PendingRequests | None:
    return _mode.get()


def schema_ref(schema: type[BaseModel] | dict[str, Any] | None) -> str:
    """How the collector finds the schema again: an importable class, "json" for a dict schema, "" for none."""
    if schema is None:
        return ""
    if isinstance(schema, dict):
        return "json"
    return f"{schema.__module__}:{schema.__qualname__}"


def defer(core: Any, candidates: Sequence[Any], keys: Sequence[str], *, request_type: str, prompt: str,
          system: str | None, schema: Any, options: dict[str, Any], base_log: dict[str, Any]) -> None:
    """Raises ``BatchPending`` when this cache miss goes to the batch queue; returns to call normally."""
    pending = _mode.get()
    if pending is None:
        return
    chosen = next(((c, k) for c, k in zip(candidates, keys) if batch_price_factor(c.provider) is not None), None)
    if chosen is None:
        return
    candidate, key = chosen
    store = BatchStore(core.ledger)
    state = store.state(key)
    if state is not None and state not in WAITING_STATES:
        return  # its batch did not answer it, or its answer was cached and since rejected: ask now
    if state is None:
        from ..providers.openai_provider import chat_body

        provider_options = ck.output_options(options)
        provider_options.setdefault("max_tokens", candidate.config["max_tokens"])
        memory = {
            "cache_key": key, "request_type": request_type, "kind": "text",
            "prompt_hash": ck.sha256_text(ck.normalise_prompt(prompt)), "prompt": prompt, "system": system,
            "options": json.dumps(ck.output_options(options), ensure_ascii=False, default=str), "audio_path": None,
            "provider": candidate.provider, "model": candidate.model,
        }
        state = store.enqueue({
            "cache_key": key, "request_type": request_type, "provider": candidate.provider, "model": candidate.model,
            "channel": base_log.get("channel"), "endpoint": base_log.get("endpoint"),
            "body": chat_body(candidate.provider, candidate.model, prompt, system=system, schema=schema,
                              options=provider_options),
            "memory": memory, "schema_ref": schema_ref(schema),
        }, pending.waiter)
    elif pending.waiter:
        store.add_waiter(key, pending.waiter)
    if state in WAITING_STATES:
        raise BatchPending(key, request_type, candidate.provider, candidate.model)
