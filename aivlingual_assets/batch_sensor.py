"""batch_results_sensor: follows the Batch API jobs of the nightly catch-up and re-runs what waited for them.

Each tick submits what is still queued (a step whose own submission failed, a batch half-submitted by a
process that died), asks the provider about every open batch, stores the answers of those that ended
(``ai.batching.poll``: same cache entries as a normal call, at the batch price) and requests a run of every
recording that waited for one of them, from ``expressions`` on. Those runs are tagged
``aivlingual/trigger=batch``: answered requests are cache hits, what the batch did not answer (failed,
expired, a line's error) is asked at once by normal calls, and a later step's new requests (``difficulty``
once ``expressions`` is in) may wait for a batch of their own, which the sensor follows the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from .ai import batching
from .ai.batching.store import OPEN_REMOTE, PREPARING, QUEUED, UPLOADED
from .ai.errors import BudgetExceededError
from .ai.redaction import redact
from .assets.partitions import recordings_partitions
from .jobs import PER_RECORDING, recording_job
from .resources import AICoreResource

# the steps that wait for a batch, and everything after them
RERUN_ASSETS = PER_RECORDING[PER_RECORDING.index("expressions"):]


def rerun_requests(ended: Iterable[batching.Collected], partitions: set[str]) -> tuple[list[dg.RunRequest], list[str]]:
    """One run per recording that waited for an ended batch (once per batch); waiters no longer registered as
    partitions are returned apart (a recording removed meanwhile)."""
    runs: dict[str, dg.RunRequest] = {}
    gone: list[str] = []
    for collected in ended:
        for waiter in collected.waiters:
            if waiter not in partitions:
                gone.append(waiter)
                continue
            runs.setdefault(waiter, dg.RunRequest(
                run_key=f"batch-{collected.remote_id}-{waiter}",
                partition_key=waiter,
                asset_selection=[dg.AssetKey(a) for a in RERUN_ASSETS],
                tags={"aivlingual/trigger": "batch", "aivlingual/heavy": "recording",
                      "aivlingual/batch": collected.remote_id},
            ))
    return list(runs.values()), sorted(set(gone))


@dg.sensor(
    job=recording_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Follows the OpenAI Batch API jobs of the nightly catch-up (AIVLINGUAL_BATCH=1): submits what is "
    "queued, stores finished batches' answers in the AI cache at the batch price, and re-runs each recording "
    "that waited for them (failed or expired requests are then answered by normal calls).",
)
def batch_results_sensor(context: dg.SensorEvaluationContext, ai: AICoreResource):
    core = ai.core
    store = batching.BatchStore(core.ledger)
    if not store.batches([*OPEN_REMOTE, PREPARING, UPLOADED]) and not store.requests(state=QUEUED):
        return dg.SkipReason("no batch is waiting")
    problems: list[str] = []
    try:
        submitted = batching.submit_queued(core)
    except BudgetExceededError as exc:  # that batch is dropped, its requests left to normal calls
        context.log.warning(f"a batch was refused before upload: {exc}")
        submitted = []
    except Exception as exc:  # noqa: BLE001 - the provider or network: the next tick submits it
        problems.append(f"submission: {exc.__class__.__name__}: {exc}")
        submitted = []
    ended, still_open = batching.poll(core, problems=problems)  # a batch that cannot be asked now stays open
    if problems:
        message = redact("; ".join(problems), core.settings.secrets())
        context.log.warning(f"not followed this tick, asked again next tick: {message}")
        if not ended:
            return dg.SkipReason(f"batch provider unavailable this tick: {message}")
    for s in submitted:
        context.log.info(f"submitted batch {s.remote_id} ({s.requests} request(s))")
    for e in ended:
        context.log.info(f"batch {e.remote_id} {e.status}: {len(e.answered)} answered (${e.cost_usd:.6f}), "
                         f"{len(e.fell_back)} to be asked by normal calls; waiting: {', '.join(e.waiters) or 'none'}")
    partitions = set(context.instance.get_dynamic_partitions(recordings_partitions.name))
    runs, gone = rerun_requests(ended, partitions)
    if gone:
        context.log.warning(f"no longer registered, not re-run: {', '.join(gone)}")
    if not runs:
        return dg.SkipReason(f"{len(still_open)} batch(es) still running" if still_open else "nothing to re-run")
    return dg.SensorResult(run_requests=runs)
