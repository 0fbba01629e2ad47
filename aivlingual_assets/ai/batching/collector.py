"""Polling submitted batches and storing their answers where the synchronous path finds them.

An answered line becomes the cache row its request's key names (the same row a normal call would
have written, so the next run is a cache hit) and one usage-log row priced at the batch price
(``catalogue.BATCH_DISCOUNTS``) with ``selection_mode = "batch"``. A line that failed, an answer
that does not validate against the request's schema, and every request of a batch that failed,
expired or was cancelled fall back: their state becomes ``fallback`` and the next call of that
request is a normal call. Collecting is idempotent: only requests still ``submitted`` are read,
and a batch is marked final only after all of its requests were settled.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import openai
from openai.types.chat import ChatCompletion
from pydantic import ValidationError

from ..catalogue import prompt_cache_usage
from .jsonl import LineResult, read_lines
from .pricing import batch_cost, batch_share, model_config
from .store import (
    DONE,
    FALLBACK,
    FINAL_REMOTE,
    OPEN_REMOTE,
    SUBMITTED,
    BatchRow,
    BatchStore,
    RequestRow,
)

log = logging.getLogger("aivlingual.ai.batch")

BATCH_MODE = "batch"  # the usage log's selection_mode of an answer that came through a Batch API


@dataclass
class Collected:
    """What one batch gave when it ended."""

    batch_id: str
    remote_id: str
    status: str
    answered: list[str] = field(default_factory=list)
    fell_back: dict[str, str] = field(default_factory=dict)  # cache key -> why
    cost_usd: float = 0.0
    waiters: list[str] = field(default_factory=list)


def poll(core: Any, *, problems: list[str] | None = None) -> tuple[list[Collected], list[BatchRow]]:
    """Asks the provider about every open batch; collects those that ended. Returns (ended, still open).

    With a ``problems`` list, a batch the provider cannot be asked about now (network, 5xx) is noted there and
    stays open for the next poll while the others are collected; without one, the error is raised.
    """
    store = BatchStore(core.ledger)
    ended: list[Collected] = []
    still_open: list[BatchRow] = []
    for batch in store.batches(OPEN_REMOTE):
        if not batch.remote_id:
            continue
        try:
            outcome = _poll_one(core, store, batch)
        except openai.OpenAIError as exc:
            if problems is None:
                raise
            problems.append(f"batch {batch.remote_id}: {exc.__class__.__name__}: {exc}")
            outcome = None
        if isinstance(outcome, Collected):
            ended.append(outcome)
        else:
            still_open.append(store.batch(batch.id))
    return ended, still_open


def _poll_one(core: Any, store: BatchStore, batch: BatchRow) -> Collected | None:
    """The batch's collection once it ended (None while it runs)."""
    client = core.provider(batch.provider).client
    try:
        remote = client.batches.retrieve(batch.remote_id)
    except openai.NotFoundError:  # deleted at the provider: nothing will come, its requests are asked normally
        remote = _gone(batch.remote_id)
    if remote.status not in FINAL_REMOTE:
        if remote.status != batch.status:
            store.update_batch(batch.id, status=remote.status)
        return None
    return collect(core, store, batch, remote, client)


def collect(core: Any, store: BatchStore, batch: BatchRow, remote: Any, client: Any) -> Collected:
    result = Collected(batch.id, remote.id, remote.status)
    pending = {r.cache_key: r for r in store.requests(batch_id=batch.id, state=SUBMITTED)}
    waiting_for = list(pending)
    latency = max(0.0, (time.time() - batch.created_at) * 1000)
    lines: list[LineResult] = []
    for file_id in (remote.output_file_id, remote.error_file_id):
        if file_id:
            lines.extend(read_lines(client.files.content(file_id).text))
    config = model_config(core, batch.provider, batch.model)
    for line in lines:
        row = pending.pop(line.custom_id, None)
        if row is None:
            continue  # settled by an earlier, interrupted collection (or not ours)
        answer = _read_answer(row, config, line.body or {}, latency) if line.answered else None
        problem = answer.problem if answer is not None else (line.error or "no answer")
        # the request is settled before its ledger rows are written: a collection interrupted in between is
        # never paid twice in the ledger (at worst that one answer is asked again by a normal call)
        if not store.settle(row.cache_key, FALLBACK if problem else DONE, problem):
            continue  # another collector settled it
        if answer is not None:
            result.cost_usd += answer.cost
            _write_answer(core, row, answer)
            _charge_recordings(core, store.waiters([row.cache_key]), answer.cost)
        if problem:
            result.fell_back[row.cache_key] = problem
        else:
            result.answered.append(row.cache_key)
    reason = _batch_reason(remote)
    for key in pending:  # no line at all: the batch failed, expired or was cancelled before reaching it
        if store.settle(key, FALLBACK, reason):
            result.fell_back[key] = reason
    store.update_batch(batch.id, status=remote.status, error=reason if remote.status != "completed" else None)
    result.waiters = store.waiters(waiting_for)
    log.info("batch %s %s: %d answered, %d fall back to normal calls, $%.6f", remote.id, remote.status,
             len(result.answered), len(result.fell_back), result.cost_usd)
    return result


@dataclass
class _Answer:
    """One answered line, read and priced: what the ledger gets (``problem``: why the cache does not)."""

    text: str
    cost: float
    log_row: dict[str, Any]
    problem: str | None


def _read_answer(row: RequestRow, config: dict[str, Any], body: dict[str, Any], latency: float) -> _Answer:
    try:
        completion = ChatCompletion.model_validate(body)
        message = completion.choices[0].message
    except (ValidationError, IndexError) as exc:
        return _Answer("", 0.0, {}, f"unreadable answer: {exc.__class__.__name__}")
    usage = completion.usage
    input_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
    output_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
    cached_tokens = int(getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", 0) or 0)
    factor = batch_share(row.provider)  # the batch discount applies to every token price
    cost = batch_cost(config, row.provider, input_tokens, output_tokens, cached_tokens)
    prompt_cache = prompt_cache_usage(config, cached_tokens)
    log_row = {"request_type": row.request_type, "kind": "text", "endpoint": row.endpoint, "channel": row.channel,
               "provider": row.provider, "model": row.model, "input_tokens": input_tokens,
               "output_tokens": output_tokens, "cost_usd": cost, "latency_ms": latency, "cache_hit": False,
               "selection_mode": BATCH_MODE, "cached_input_tokens": cached_tokens,
               "prompt_cache_saved_usd": prompt_cache["prompt_cache_saved_usd"] * factor}
    text = message.content or ""
    if not text:
        problem = f"refused: {message.refusal}" if message.refusal else "empty answer"
    elif completion.choices[0].finish_reason == "length":
        problem = "answer cut at max tokens"
    else:
        problem = _invalid(text, row.schema_ref)
    return _Answer(text, cost, log_row, problem)


def _write_answer(core: Any, row: RequestRow, answer: _Answer) -> None:
    """Caches a usable answer and logs it at the batch price; an unusable one is logged (it was paid), not cached."""
    if answer.problem:
        if answer.log_row:
            core.ledger.log_failure({**answer.log_row, "error": f"batch answer not used: {answer.problem}"})
        return
    memory = None
    if core.ledger.find_memory([row.cache_key]) is None:  # a normal call may have answered it meanwhile
        log_row = answer.log_row
        memory = {**row.memory, "output_text": answer.text, "input_tokens": log_row["input_tokens"],
                  "output_tokens": log_row["output_tokens"], "cost_usd": answer.cost,
                  "latency_ms": log_row["latency_ms"]}
    core.ledger.store_success(memory=memory, log={**answer.log_row, "success": True}, reservation_id=None)


def _charge_recordings(core: Any, waiters: list[str], cost: float) -> None:
    """Adds a batch answer's cost to what its recordings have cost (split between them when several asked it), so
    their channels' ``max_cost_per_recording_usd`` counts it for the calls that follow."""
    if cost <= 0 or not waiters:
        return
    from ...channels.recording_costs import RecordingCosts

    costs = RecordingCosts(core.ledger.engine)
    for waiter in waiters:
        costs.settle(waiter, cost / len(waiters))


def _invalid(text: str, schema_ref: str) -> str | None:
    """Why ``text`` would not parse as the synchronous path parses it (None when it does)."""
    if not schema_ref:
        return None
    try:
        if schema_ref == "json":
            json.loads(text)
            return None
        module, _, qualname = schema_ref.partition(":")
        schema: Any = importlib.import_module(module)
        for part in qualname.split("."):
            schema = getattr(schema, part)
        schema.model_validate_json(text)
    except (ValidationError, ValueError) as exc:
        return f"invalid structured output ({exc.__class__.__name__})"
    except (ImportError, AttributeError):
        return f"schema {schema_ref} not importable"
    return None


def _batch_reason(remote: Any) -> str:
    if remote.status == "completed":
        return "the batch completed without this request"
    errors = getattr(getattr(remote, "errors", None), "data", None) or []
    detail = "; ".join(f"{e.code}: {e.message}" for e in errors[:3])
    return f"batch {remote.status}" + (f" ({detail})" if detail else "")


def _gone(remote_id: str) -> Any:
    """A batch the provider no longer knows, as a failed one."""
    error = SimpleNamespace(code="not_found", message="the provider no longer knows this batch")
    return SimpleNamespace(id=remote_id, status="failed", output_file_id=None, error_file_id=None,
                           errors=SimpleNamespace(data=[error]))
