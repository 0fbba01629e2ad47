"""stock_refresh_sensor: the stock and its publications follow the recordings, once they have settled.

Recording runs come from the inbox sensor, the channel feeds and the nightly catch-up, a
few at a time through the run queue. Refreshing the stock after each of them would
re-publish it many times a night, and refreshing it beside them (as a schedule tick that
asks for both at once would) publishes it before tonight's recordings are in. So the
refresh waits until no recording run is queued or running, then runs once for every
recording analysed since the stock last changed.
"""

from __future__ import annotations

import dagster as dg

from .jobs import STOCK, recording_job, stock_job

# a recording counts for the stock once its expressions have levels
STOCK_INPUT = "difficulty"
_UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def _latest_materialization(instance: dg.DagsterInstance, asset: str) -> float | None:
    event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    return event.timestamp if event is not None else None


def recording_runs_in_flight(instance: dg.DagsterInstance) -> int:
    return instance.get_runs_count(dg.RunsFilter(job_name=recording_job.name, statuses=_UNFINISHED))


def stock_refresh_request(instance: dg.DagsterInstance) -> dg.RunRequest | dg.SkipReason:
    """A stock run when a recording was analysed after the stock last changed and none is still running."""
    analysed = _latest_materialization(instance, STOCK_INPUT)
    if analysed is None:
        return dg.SkipReason("no recording has been analysed yet")
    stocked = _latest_materialization(instance, STOCK[0])
    if stocked is not None and stocked >= analysed:
        return dg.SkipReason("the stock already holds every analysed recording")
    if instance.get_runs_count(dg.RunsFilter(job_name=stock_job.name, statuses=_UNFINISHED)):
        return dg.SkipReason("a stock refresh is already queued or running")
    in_flight = recording_runs_in_flight(instance)
    if in_flight:
        return dg.SkipReason(f"waiting for {in_flight} recording run(s) to finish")
    return dg.RunRequest(run_key=f"stock-after-{analysed:.6f}", tags={"aivlingual/trigger": "stock_refresh_sensor"})


@dg.sensor(
    job=stock_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Refreshes the vocabulary stock, Notion and the Anki deck once the recording runs have settled, "
    "for every recording analysed since the stock last changed.",
)
def stock_refresh_sensor(context: dg.SensorEvaluationContext):
    return stock_refresh_request(context.instance)
