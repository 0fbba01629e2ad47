"""nightly_schedule and stock_refresh_sensor: catch-up runs for unfinished recordings, then one stock refresh."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.utils import make_new_run_id

from aivlingual_assets import cli, settings
from aivlingual_assets.assets.ingestion import recordings
from aivlingual_assets.definitions import build_resources, defs
from aivlingual_assets.ingestion.recording import Recording, recording_from_youtube
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_assets.run_owners import OWNER_TAG
from aivlingual_assets.schedules import nightly_plan
from aivlingual_assets.storage.recording_registry import RecordingRegistry


def _nightly_requests(instance):
    schedule = defs.resolve_schedule_def("nightly_schedule")
    context = dg.build_schedule_context(instance=instance, repository_def=defs.get_repository_def(),
                                        resources={"pipeline": PipelineResource()},
                                        scheduled_execution_time=dt.datetime(2026, 11, 22, 3, tzinfo=dt.timezone.utc))
    return list(schedule.evaluate_tick(context).run_requests)


def _register(instance, *keys):
    """Recordings as `aivlingual process` or a sensor leave them: in the registry and as partitions."""
    registry = RecordingRegistry(settings.database_url())
    for key in keys:
        if key.startswith("yt-"):
            registry.register(recording_from_youtube(key[3:]))
        else:
            registry.register(Recording(partition_key=key, source="file", title=key, path=f"/streams/{key}.mp4"))
    instance.add_dynamic_partitions("recordings", list(keys))


def test_nightly_schedule_catches_up_unfinished_recordings_and_leaves_the_stock_until_they_finish(instance):
    _register(instance, "file-aaaaaaaaaaaa", "yt-dQw4w9WgXcQ")
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="shorts", partition="file-aaaaaaaaaaaa"))
    requests = _nightly_requests(instance)
    assert [r.partition_key for r in requests] == ["yt-dQw4w9WgXcQ"]  # no stock run beside the catch-up
    assert dg.AssetKey("transcripts") in requests[0].asset_selection
    assert requests[0].run_key.startswith("nightly-2026-11-22")


def test_nightly_schedule_refreshes_the_stock_and_report_when_nothing_is_left_to_catch_up(instance):
    _register(instance, "file-aaaaaaaaaaaa")
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="shorts", partition="file-aaaaaaaaaaaa"))
    (stock,) = _nightly_requests(instance)
    assert stock.partition_key is None and stock.run_key == "nightly-2026-11-22-stock"
    assert {dg.AssetKey("vocabulary"), dg.AssetKey("notion_entries"), dg.AssetKey("ai_usage_report")} <= set(stock.asset_selection)
    assert stock.tags["aivlingual/stock"] == "refresh"  # so stock_refresh_sensor sees it


def test_a_made_up_partition_is_skipped_and_named_so_the_nightly_still_refreshes_the_stock(instance):
    _register(instance, "file-aaaaaaaaaaaa")
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="shorts", partition="file-aaaaaaaaaaaa"))
    instance.add_dynamic_partitions("recordings", ["typo-in-the-ui"])  # the UI's "Add a partition" takes any key

    (stock,) = _nightly_requests(instance)
    assert stock.partition_key is None and stock.tags["aivlingual/stock"] == "refresh"

    plan = nightly_plan(instance, set(RecordingRegistry(settings.database_url()).keys()), "2026-11-22", ["vocabulary"])
    assert plan.unregistered == ["typo-in-the-ui"]
    assert "typo-in-the-ui" in plan.skipped_message() and "aivlingual recordings remove KEY" in plan.skipped_message()


def test_the_run_of_a_made_up_partition_says_how_to_remove_it(instance):
    instance.add_dynamic_partitions("recordings", ["typo-in-the-ui"])
    result = dg.materialize([recordings], partition_key="typo-in-the-ui", instance=instance,
                            resources=build_resources(), raise_on_error=False)
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "`aivlingual recordings remove typo-in-the-ui`" in failure.step_failure_data.user_failure_data.description


def test_an_unfinished_registered_recording_is_caught_up_beside_a_made_up_partition(instance):
    instance.add_dynamic_partitions("recordings", ["typo-in-the-ui"])
    _register(instance, "yt-dQw4w9WgXcQ")
    assert [r.partition_key for r in _nightly_requests(instance)] == ["yt-dQw4w9WgXcQ"]


def test_recordings_remove_forgets_the_registry_row_and_the_partition(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    with cli.get_instance() as instance:
        _register(instance, "file-aaaaaaaaaaaa", "yt-dQw4w9WgXcQ")
        instance.add_dynamic_partitions("recordings", ["typo-in-the-ui"])
        assert cli.main(["recordings", "list"]) == 0
        listed = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
        assert "NOT REGISTERED" in listed["typo-in-the-ui"] and "not processed" in listed["file-aaaaaaaaaaaa"]

        assert cli.main(["recordings", "remove", "typo-in-the-ui", "file-aaaaaaaaaaaa"]) == 0
        out = capsys.readouterr().out
        assert "✓ typo-in-the-ui: removed its partition;" in out
        assert "✓ file-aaaaaaaaaaaa: removed its registry row and partition;" in out and "Kept:" in out
        assert instance.get_dynamic_partitions("recordings") == ["yt-dQw4w9WgXcQ"]
        assert RecordingRegistry(settings.database_url()).keys() == ["yt-dQw4w9WgXcQ"]
        assert [r.partition_key for r in _nightly_requests(instance)] == ["yt-dQw4w9WgXcQ"]

        assert cli.main(["recordings", "remove", "file-aaaaaaaaaaaa"]) == 2  # gone already
        assert "no such recording" in capsys.readouterr().err


def test_a_recording_being_processed_is_not_removed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    with cli.get_instance() as instance:
        _register(instance, "yt-dQw4w9WgXcQ")
        _running(instance, {**RECORDING, "dagster/partition": "yt-dQw4w9WgXcQ"})
        assert cli.main(["recordings", "remove", "yt-dQw4w9WgXcQ"]) == 1
        assert "queued or running" in capsys.readouterr().err
        assert instance.get_dynamic_partitions("recordings") == ["yt-dQw4w9WgXcQ"]


def _stock_sensor_tick(instance):
    sensor = defs.resolve_sensor_def("stock_refresh_sensor")
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def()))


def _finished_run(instance, tags, succeed=True):
    """A real run on the instance (start and end times recorded by Dagster), tagged like ours."""
    @dg.asset(name=f"step_{'ok' if succeed else 'broken'}")
    def one_step():
        if not succeed:
            raise RuntimeError("this recording is broken")

    return dg.materialize([one_step], instance=instance, tags=tags, raise_on_error=False).run_id


def _running(instance, tags):
    instance.add_run(DagsterRun(job_name="__anonymous_asset_job_nightly_schedule", run_id=make_new_run_id(),
                                status=dg.DagsterRunStatus.STARTED, tags=tags))


RECORDING = {"aivlingual/heavy": "recording", "aivlingual/trigger": "nightly"}
STOCK = {"aivlingual/stock": "refresh"}


def test_stock_refresh_waits_for_every_recording_run_then_runs_once(instance):
    assert "no recording run" in _stock_sensor_tick(instance).skip_message
    finished = _finished_run(instance, RECORDING)
    _running(instance, RECORDING)  # a nightly catch-up run (an anonymous asset job) is still going
    waiting = _stock_sensor_tick(instance)
    assert not waiting.run_requests and "1 recording run" in waiting.skip_message

    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        instance.delete_run(run.run_id)
    (request,) = _stock_sensor_tick(instance).run_requests
    assert request.run_key == f"stock-after-{finished}"
    assert _stock_sensor_tick(instance).run_requests[0].run_key == request.run_key  # deduplicated by Dagster

    _running(instance, STOCK)
    assert "already queued or running" in _stock_sensor_tick(instance).skip_message


def test_a_recording_run_left_started_by_a_killed_process_does_not_hold_the_stock_refresh_for_ever(instance):
    _finished_run(instance, RECORDING)
    gone = subprocess.Popen(["true"])
    gone.wait()  # its pid names no process any more
    orphan = make_new_run_id()
    instance.add_run(DagsterRun(job_name="recording_job", run_id=orphan, status=dg.DagsterRunStatus.STARTED,
                                tags={**RECORDING, OWNER_TAG: f"{socket.gethostname()}:{gone.pid}:0badc0de"}))

    (request,) = _stock_sensor_tick(instance).run_requests  # not "waiting for 1 recording run" for ever
    assert instance.get_run_by_id(orphan).status == dg.DagsterRunStatus.FAILURE
    assert request.run_key == f"stock-after-{orphan}"  # it ended last (when it was marked failed)


def test_a_stock_run_begun_after_the_last_recording_run_means_nothing_to_do(instance):
    _finished_run(instance, RECORDING)
    _finished_run(instance, STOCK)
    assert "refreshed after the last recording run" in _stock_sensor_tick(instance).skip_message
    later = _finished_run(instance, RECORDING, succeed=False)  # a recording that fails again tonight ...
    (request,) = _stock_sensor_tick(instance).run_requests  # ... still gets the nightly stock refresh after it
    assert request.run_key == f"stock-after-{later}"


def test_the_project_tags_its_runs_so_the_sensor_can_find_them():
    assert defs.resolve_job_def("recording_job").tags["aivlingual/heavy"] == "recording"
    assert defs.resolve_job_def("stock_job").tags["aivlingual/stock"] == "refresh"
