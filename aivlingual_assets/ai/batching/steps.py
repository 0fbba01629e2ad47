"""What a pipeline step needs to wait for a batch: whether its run may wait, and what it reports while it does."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..errors import BudgetExceededError
from ..redaction import redact
from .deferral import PendingRequests, batch_allowed
from .store import BatchStore

log = logging.getLogger("aivlingual.ai.batch")

TRIGGER_TAG = "aivlingual/trigger"
# the nightly catch-up and the re-runs batch_results_sensor makes of it (a step after the one that waited may
# batch its own new requests; what a batch did not answer is asked at once, see deferral)
NON_URGENT_TRIGGERS = ("nightly", "batch")
WAITING = "waiting for batch"


def non_urgent_run(tags: Mapping[str, str], channel: str | None = None, *, channel_setting: bool | None = None,
                   database_url: str | None = None) -> bool:
    """A run whose AI requests may wait up to a day for half-price answers: the nightly catch-up, when the
    recording's channel (or the service) allows it (``batch_allowed``)."""
    return tags.get(TRIGGER_TAG) in NON_URGENT_TRIGGERS and batch_allowed(
        channel, channel_setting=channel_setting, database_url=database_url)


def submit_waiting(core: Any, pending: PendingRequests) -> dict[str, Any]:
    """Submits what a step deferred and returns the step's metadata while it waits.

    A submission that fails (network, provider) leaves the requests recorded; ``batch_results_sensor``
    submits them on its next tick, so the step still only waits. One the budget refuses raises
    ``BudgetExceededError`` (nothing uploaded; its requests are left to normal calls).
    """
    from .submitter import submit_queued

    problem = None
    try:
        submit_queued(core, pending.keys)
    except BudgetExceededError:
        raise  # nothing was sent, and a normal call would be refused too: the step fails saying so
    except Exception as exc:  # noqa: BLE001 - any other failure is retried by the sensor, never lost
        problem = redact(f"{exc.__class__.__name__}: {exc}", core.settings.secrets())
        log.warning("batch submission failed, batch_results_sensor retries it: %s", problem)
    store = BatchStore(core.ledger)
    requests = store.requests(keys=pending.keys)
    batch_ids = sorted({r.batch_id for r in requests if r.batch_id})
    remote = [b.remote_id or f"(being submitted: {b.id})" for b in map(store.batch, batch_ids)]
    metadata: dict[str, Any] = {
        "status": WAITING,
        "batch/requests": len(pending.keys),
        "batch/request_types": ", ".join(f"{k} x{v}" for k, v in sorted(pending.request_types.items())),
        "batch/batches": ", ".join(remote) or "none yet",
        "batch/what_next": "batch_results_sensor re-runs this recording once the answers are in (within 24 h; "
                           "a batch that fails or expires is answered by normal calls then)",
    }
    if problem:
        metadata["batch/submission_error"] = problem
    return metadata
