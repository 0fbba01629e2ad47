"""The nightly pipeline: catch up unfinished recordings, then refresh the stock, its publications and the report.

"Then" is kept by :mod:`.stock_refresh`: while there is catching up to do, the schedule asks
only for the recording runs and the stock refresh follows once they have all finished.

Only registered recordings are caught up. A partition key that is not in the recording registry
(one added by hand in the UI's "Add a partition", or a recording removed from the registry) would
fail every night and keep the schedule from ever reaching its stock refresh, so it is skipped and
named in the tick's log; `aivlingual recordings remove KEY` deletes it for good.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from .assets.partitions import recordings_partitions
from .jobs import PER_RECORDING
from .resources.pipeline import PipelineResource

# the last per-recording asset: a recording is fully processed once it exists
FINAL_PER_RECORDING = "shorts"


@dataclass
class NightlyPlan:
    requests: list[dg.RunRequest]
    unregistered: list[str] = field(default_factory=list)  # partitions skipped: no recording behind them

    def skipped_message(self) -> str:
        if not self.unregistered:
            return ""
        return (f"skipped {len(self.unregistered)} partition(s) that are not registered recordings: "
                f"{', '.join(self.unregistered)}. Remove them with `aivlingual recordings remove KEY`, or register "
                "the recording with `aivlingual process PATH_OR_URL`.")


def unfinished_recordings(instance: dg.DagsterInstance, registered: set[str]) -> tuple[list[str], list[str]]:
    """(registered recordings not fully processed, partition keys with no registered recording)."""
    keys = instance.get_dynamic_partitions(recordings_partitions.name)
    done = instance.get_materialized_partitions(dg.AssetKey(FINAL_PER_RECORDING))
    unfinished = [k for k in keys if k not in done]
    return [k for k in unfinished if k in registered], [k for k in keys if k not in registered]


def nightly_plan(instance: dg.DagsterInstance, registered: set[str], day: str, stock_assets: list[str]) -> NightlyPlan:
    catch_up, unregistered = unfinished_recordings(instance, registered)
    requests = [
        dg.RunRequest(
            run_key=f"nightly-{day}-{key}",
            partition_key=key,
            asset_selection=[dg.AssetKey(a) for a in PER_RECORDING],
            tags={"aivlingual/trigger": "nightly", "aivlingual/heavy": "recording"},
        )
        for key in catch_up
    ]
    if not requests:  # else stock_refresh_sensor refreshes the stock once these have finished
        requests = [
            dg.RunRequest(
                run_key=f"nightly-{day}-stock",
                asset_selection=[dg.AssetKey(a) for a in stock_assets],
                tags={"aivlingual/trigger": "nightly", "aivlingual/stock": "refresh"},
            )
        ]
    return NightlyPlan(requests, unregistered)


def build_nightly_schedule(stock_assets: list[str]) -> dg.ScheduleDefinition:
    # a named job: the UI shows its name and description where an anonymous target shows an internal name
    nightly_job = dg.define_asset_job(
        name="nightly_job",
        selection=dg.AssetSelection.assets(*PER_RECORDING, *stock_assets),
        description="What the nightly schedule runs: one run per recording not fully processed, or, with none, "
        "the vocabulary stock, its publications and the AI usage report.",
    )

    @dg.schedule(
        name="nightly_schedule",
        cron_schedule="0 3 * * *",
        job=nightly_job,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="03:00 UTC: every recording not fully processed gets a run (stock_refresh_sensor refreshes the "
        "stock once they finish); with nothing to catch up, the vocabulary stock, its publications and the AI usage "
        "report are refreshed. Partitions that are not registered recordings are skipped and named in the log.",
    )
    def nightly_schedule(context: dg.ScheduleEvaluationContext, pipeline: PipelineResource):
        day = context.scheduled_execution_time.strftime("%Y-%m-%d")
        plan = nightly_plan(context.instance, set(pipeline.registry().keys()), day, stock_assets)
        if plan.unregistered:
            context.log.warning(plan.skipped_message())
        return plan.requests

    return nightly_schedule
