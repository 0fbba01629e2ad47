"""nightly_schedule and stock_refresh_sensor: catch-up runs for unfinished recordings, then one stock refresh."""

from __future__ import annotations

import datetime as dt

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.utils import make_new_run_id

from aivlingual_assets.definitions import defs


def _nightly_requests(instance):
    schedule = defs.resolve_schedule_def("nightly_schedule")
    context = dg.build_schedule_context(instance=instance, repository_def=defs.get_repository_def(),
                                        scheduled_execution_time=dt.datetime(2026, 11, 22, 3, tzinfo=dt.timezone.utc))
    return list(schedule.evaluate_tick(context).run_requests)


def test_nightly_schedule_catches_up_unfinished_recordings_and_leaves_the_stock_until_they_finish(instance):
    instance.add_dynamic_partitions("recordings", ["file-aaaaaaaaaaaa", "yt-dQw4w9WgXcQ"])
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="shorts", partition="file-aaaaaaaaaaaa"))
    requests = _nightly_requests(instance)
    assert [r.partition_key for r in requests] == ["yt-dQw4w9WgXcQ"]  # no stock run beside the catch-up
    assert dg.AssetKey("transcripts") in requests[0].asset_selection
    assert requests[0].run_key.startswith("nightly-2026-11-22")


def test_nightly_schedule_refreshes_the_stock_and_report_when_nothing_is_left_to_catch_up(instance):
    instance.add_dynamic_partitions("recordings", ["file-aaaaaaaaaaaa"])
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="shorts", partition="file-aaaaaaaaaaaa"))
    (stock,) = _nightly_requests(instance)
    assert stock.partition_key is None and stock.run_key == "nightly-2026-11-22-stock"
    assert {dg.AssetKey("vocabulary"), dg.AssetKey("notion_entries"), dg.AssetKey("ai_usage_report")} <= set(stock.asset_selection)


def _stock_sensor_tick(instance):
    sensor = defs.resolve_sensor_def("stock_refresh_sensor")
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def()))


def _run(instance, job_name, status):
    instance.add_run(DagsterRun(job_name=job_name, run_id=make_new_run_id(), status=status))


def test_stock_refresh_waits_for_recording_runs_then_runs_once(instance):
    assert not _stock_sensor_tick(instance).run_requests  # nothing analysed yet
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="difficulty", partition="file-aaaaaaaaaaaa"))
    _run(instance, "recording_job", dg.DagsterRunStatus.STARTED)
    waiting = _stock_sensor_tick(instance)
    assert not waiting.run_requests and "1 recording run" in waiting.skip_message

    for run in instance.get_runs():
        instance.delete_run(run.run_id)
    _run(instance, "recording_job", dg.DagsterRunStatus.SUCCESS)
    (request,) = _stock_sensor_tick(instance).run_requests
    assert request.job_name in (None, "stock_job") and request.run_key.startswith("stock-after-")
    assert _stock_sensor_tick(instance).run_requests[0].run_key == request.run_key  # same key: deduplicated by Dagster

    _run(instance, "stock_job", dg.DagsterRunStatus.STARTED)
    assert not _stock_sensor_tick(instance).run_requests  # one refresh at a time


def test_stock_refresh_skips_when_the_stock_is_newer_than_every_analysis(instance):
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="difficulty", partition="file-aaaaaaaaaaaa"))
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="vocabulary"))
    result = _stock_sensor_tick(instance)
    assert not result.run_requests and "already holds" in result.skip_message
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="difficulty", partition="yt-dQw4w9WgXcQ"))
    assert len(_stock_sensor_tick(instance).run_requests) == 1
