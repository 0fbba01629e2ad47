"""Sending queued requests as Batch API jobs, once each, even across crashes.

A batch goes through three recorded steps, each written before the next remote action:

1. ``preparing``: the batch row is written and the queued requests are moved into it in one
   transaction (a request in a batch is never queued again), *before* anything is uploaded;
2. ``uploaded``: the JSONL file (``aivlingual-batch-<id>.jsonl``) was uploaded; its file id is recorded;
3. the batch was created (with ``metadata.aivlingual_batch = <id>``); its id and status are recorded.

A process that dies between two steps leaves the row in ``preparing`` or ``uploaded``. Whoever
resumes it (the same process, or any process once the owner is dead or its lease has run out)
first looks at the provider for what the dead one may have done: a file of that name is reused
instead of uploaded again, a batch carrying that metadata is recorded instead of created again.
So a crash between an upload and its record never sends the requests twice.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import BudgetExceededError
from ..ledger import owner_is_dead
from .jsonl import batch_file
from .pricing import batch_cost, model_config
from .store import (
    FALLBACK,
    FINAL_REMOTE,
    PREPARING,
    QUEUED,
    REFUSED,
    UPLOADED,
    BatchRow,
    BatchStore,
    RequestRow,
)

log = logging.getLogger("aivlingual.ai.batch")

ENDPOINT = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"
METADATA_KEY = "aivlingual_batch"
# a batch half-submitted by a process that may still be alive on another host is resumed after this
RESUME_AFTER_SECONDS = 900.0


@dataclass
class Submitted:
    batch_id: str
    remote_id: str
    status: str
    requests: int


def file_name(batch_id: str) -> str:
    return f"aivlingual-batch-{batch_id}.jsonl"


def submit_queued(core: Any, keys: Iterable[str] | None = None) -> list[Submitted]:
    """Submits the queued requests (only ``keys`` when given), one batch per provider and model, after resuming
    any batch left half-submitted. Returns the batches submitted by this call."""
    store = BatchStore(core.ledger)
    done = [s for b in resumable(store, core.owner) if (s := _resume(core, store, b)) is not None]
    groups: dict[tuple[str, str], list[str]] = {}
    for row in store.requests(keys=keys, state=QUEUED):
        groups.setdefault((row.provider, row.model), []).append(row.cache_key)
    for (provider, model), group in groups.items():
        batch = store.open_batch(group, provider=provider, model=model, owner=core.owner)
        if batch is not None:
            submitted = _resume(core, store, batch)
            if submitted is not None:
                done.append(submitted)
    return done


def resumable(store: BatchStore, owner: str, now: float | None = None) -> list[BatchRow]:
    """Batches recorded but not yet created whose owner is this process, dead, or silent for too long."""
    now = time.time() if now is None else now
    return [b for b in store.batches([PREPARING, UPLOADED])
            if b.owner == owner or owner_is_dead(b.owner) or b.updated_at < now - RESUME_AFTER_SECONDS]


def _resume(core: Any, store: BatchStore, batch: BatchRow) -> Submitted | None:
    if batch.owner != core.owner and not store.take_over(batch.id, batch.owner, core.owner):
        return None  # another process resumed it first
    requests = store.requests(batch_id=batch.id)
    client = core.provider(batch.provider).client
    if batch.status == PREPARING:
        try:
            _check_budget(core, requests)
        except BudgetExceededError as exc:  # nothing sent: its requests are asked normally, where the budget decides
            store.update_batch(batch.id, status=REFUSED, error=str(exc))
            store.set_request_state([r.cache_key for r in requests], FALLBACK, str(exc))
            raise
        file_id = _existing_file(client, batch.id) or client.files.create(
            file=(file_name(batch.id), batch_file(requests, ENDPOINT)), purpose="batch").id
        store.update_batch(batch.id, status=UPLOADED, input_file_id=file_id)
        batch = store.batch(batch.id)
    remote = _existing_batch(client, batch.id) or client.batches.create(
        input_file_id=batch.input_file_id, endpoint=ENDPOINT, completion_window=COMPLETION_WINDOW,
        metadata={METADATA_KEY: batch.id})
    # a batch that ended at once (an input file the provider refused) is left for the collector to settle
    status = "submitted" if remote.status in FINAL_REMOTE else remote.status
    store.update_batch(batch.id, status=status, remote_id=remote.id)
    log.info("submitted %d request(s) as %s batch %s (%s)", len(requests), batch.provider, remote.id, batch.model)
    return Submitted(batch.id, remote.id, remote.status, len(requests))


def _existing_file(client: Any, batch_id: str) -> str | None:
    name = file_name(batch_id)
    for item in client.files.list(purpose="batch"):
        if item.filename == name:
            return item.id
    return None


def _existing_batch(client: Any, batch_id: str) -> Any | None:
    for item in client.batches.list(limit=100):
        if (item.metadata or {}).get(METADATA_KEY) == batch_id:
            return item
    return None


def _check_budget(core: Any, requests: list[RequestRow]) -> None:
    """Refuses (``BudgetExceededError``) a batch whose worst case at the batch price would pass a budget now.

    The reservation is released at once: a batch answers within a day, far beyond a reservation's lease;
    its real cost is written to the ledger when the results are collected."""
    by_channel: dict[str | None, float] = {}
    for row in requests:
        config = model_config(core, row.provider, row.model)
        # UTF-8 bytes bound the token count of byte-level BPE tokenizers from above (as the AI core estimates)
        prompt_bytes = len(json.dumps(row.body.get("messages"), ensure_ascii=False).encode()) + 64
        max_out = int(row.body.get("max_completion_tokens") or row.body.get("max_tokens") or config["max_tokens"])
        by_channel[row.channel] = by_channel.get(row.channel, 0.0) + batch_cost(config, row.provider, prompt_bytes,
                                                                                max_out)
    for channel, estimate in by_channel.items():
        core.ledger.release_reservation(core.budgets.reserve(estimate, channel))
