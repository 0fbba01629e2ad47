"""stock_refresh_sensor: the stock and its publications follow the recordings, once they have settled.

Recording runs come from the inbox sensor, the channel feeds and the nightly catch-up, a
few at a time through the run queue. Refreshing the stock after each of them would
re-publish it many times a night, and refreshing it beside them (as a schedule tick that
asks for both at once would) publishes it before tonight's recordings are in. So the
refresh waits until no recording run is queued or running, then runs once for all the
recording runs that ended since the last stock run began.
"""

from __future__ import annotations

import dagster as dg

from .jobs import stock_job
from .run_owners import fail_orphaned_runs

# Runs are found by tag, not job name: the nightly schedule's runs belong to an anonymous asset job.
RECORDING_RUNS = {"aivlingual/heavy": "recording"}
STOCK_RUNS = {"aivlingual/stock": "refresh"}
_UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
_FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def _latest(instance: dg.DagsterInstance, tags: dict[str, str], order_by: str,
            statuses: list[dg.DagsterRunStatus] | None = None):
    records = instance.get_run_records(filters=dg.RunsFilter(tags=tags, statuses=statuses or []), limit=1,
                                       order_by=order_by)
    return records[0] if records else None


def _in_flight(instance: dg.DagsterInstance, tags: dict[str, str]) -> int:
    return instance.get_runs_count(dg.RunsFilter(tags=tags, statuses=_UNFINISHED))


def stock_refresh_request(instance: dg.DagsterInstance) -> dg.RunRequest | dg.SkipReason:
    """A stock run when a recording run ended after the last stock run began, and none is still going.

    Comparing run times, not materialisations, keeps two cases right: a recording analysed while
    the stock was being built (it may be missing from it) and a recording that failed again
    tonight (the stock is still refreshed after the catch-up). A failed stock run waits for the
    next recording run or the nightly schedule rather than being retried every tick.
    """
    recording = _latest(instance, RECORDING_RUNS, "end_time", _FINISHED)
    if recording is None or recording.end_time is None:
        return dg.SkipReason("no recording run has finished yet")
    if _in_flight(instance, STOCK_RUNS):
        return dg.SkipReason("a stock refresh is already queued or running")
    stock = _latest(instance, STOCK_RUNS, "create_timestamp")
    if stock is not None and stock.create_timestamp.timestamp() >= recording.end_time:
        return dg.SkipReason("the stock was refreshed after the last recording run")
    waiting = _in_flight(instance, RECORDING_RUNS)
    if waiting:
        return dg.SkipReason(f"waiting for {waiting} recording run(s) to finish")
    return dg.RunRequest(run_key=f"stock-after-{recording.dagster_run.run_id}",
                         tags={"aivlingual/trigger": "stock_refresh_sensor"})


@dg.sensor(
    job=stock_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Refreshes the vocabulary stock, Notion and the Anki deck once the recording runs have settled, "
    "for every recording analysed since the stock last changed.",
)
def stock_refresh_sensor(context: dg.SensorEvaluationContext):
    # a killed `aivlingual process` leaves its run STARTED: without this the refresh would wait for it for ever
    for run_id in fail_orphaned_runs(context.instance, by="stock_refresh_sensor"):
        context.log.warning(f"run {run_id} was left unfinished by a killed process: marked failed")
    return stock_refresh_request(context.instance)
