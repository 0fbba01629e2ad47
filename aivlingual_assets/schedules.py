"""The nightly pipeline: catch up unfinished recordings, then refresh the stock, its publications and the report.

"Then" is kept by :mod:`.stock_refresh`: while there is catching up to do, the schedule asks
only for the recording runs and the stock refresh follows once they have all finished.
"""

import dagster as dg

from .assets.partitions import recordings_partitions
from .jobs import PER_RECORDING

# the last per-recording asset: a recording is fully processed once it exists
FINAL_PER_RECORDING = "shorts"


def unfinished_recordings(instance: dg.DagsterInstance) -> list[str]:
    keys = instance.get_dynamic_partitions(recordings_partitions.name)
    done = instance.get_materialized_partitions(dg.AssetKey(FINAL_PER_RECORDING))
    return [k for k in keys if k not in done]


def nightly_requests(instance: dg.DagsterInstance, day: str, stock_assets: list[str]) -> list[dg.RunRequest]:
    requests = [
        dg.RunRequest(
            run_key=f"nightly-{day}-{key}",
            partition_key=key,
            asset_selection=[dg.AssetKey(a) for a in PER_RECORDING],
            tags={"aivlingual/trigger": "nightly", "aivlingual/heavy": "recording"},
        )
        for key in unfinished_recordings(instance)
    ]
    if requests:  # stock_refresh_sensor refreshes the stock once these have finished
        return requests
    return [
        dg.RunRequest(
            run_key=f"nightly-{day}-stock",
            asset_selection=[dg.AssetKey(a) for a in stock_assets],
            tags={"aivlingual/trigger": "nightly", "aivlingual/stock": "refresh"},
        )
    ]


def build_nightly_schedule(stock_assets: list[str]) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="nightly_schedule",
        cron_schedule="0 3 * * *",
        target=dg.AssetSelection.assets(*PER_RECORDING, *stock_assets),
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="03:00 UTC: every recording not fully processed gets a run (stock_refresh_sensor refreshes the "
        "stock once they finish); with nothing to catch up, the vocabulary stock, its publications and the AI usage "
        "report are refreshed.",
    )
    def nightly_schedule(context: dg.ScheduleEvaluationContext):
        day = context.scheduled_execution_time.strftime("%Y-%m-%d")
        return nightly_requests(context.instance, day, stock_assets)

    return nightly_schedule
