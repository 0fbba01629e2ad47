"""The daemon on the PostgreSQL profile: a sensor tick and a schedule tick each launch a run that succeeds, and the
stock refresh follows the recording run."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from .processes import background
from .test_postgres_deployment import postgres_profile  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
DAEMON = Path(sys.executable).with_name("dagster-daemon")


@pytest.mark.slow
def test_daemon_processes_a_sensor_tick_and_a_schedule_tick(postgres_profile, tmp_path, aiv_home):  # noqa: F811
    inbox = aiv_home / "inbox"
    inbox.mkdir()
    shutil.copy(ROOT / "examples" / "sample_stream.ja.srt", inbox / "stream.ja.srt")
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: aivlingual_tests.deploy.schedule_location\n"
        f"      working_directory: {ROOT}\n"
    )
    with background([str(DAEMON), "run", "-w", str(workspace)], log_path=tmp_path / "daemon.log", cwd=ROOT,
                    env=dict(os.environ)) as daemon:
        deadline = time.monotonic() + 480  # three runs, each a fresh process, on a loaded 2-core machine
        sensor_run = schedule_run = refresh_run = None
        with dg.DagsterInstance.get() as instance:
            while time.monotonic() < deadline and not (sensor_run and schedule_run and refresh_run):
                assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
                for run in instance.get_runs():
                    done = run.status == dg.DagsterRunStatus.SUCCESS
                    if done and run.tags.get("dagster/sensor_name") == "recordings_sensor":
                        sensor_run = run
                    if done and run.tags.get("dagster/schedule_name") == "every_minute_report":
                        schedule_run = run
                    if done and run.tags.get("dagster/sensor_name") == "stock_refresh_sensor":
                        refresh_run = run
                time.sleep(3)
            failed = [(r.job_name, r.status) for r in instance.get_runs() if r.status == dg.DagsterRunStatus.FAILURE]
            assert sensor_run is not None and schedule_run is not None and refresh_run is not None, (
                failed, (tmp_path / "daemon.log").read_text()[-3000:])
            assert sensor_run.job_name == "recording_job" and sensor_run.tags["dagster/partition"].startswith("file-")
            assert refresh_run.job_name == "stock_job"
            recording_end = instance.get_run_record_by_id(sensor_run.run_id).end_time
            assert instance.get_run_record_by_id(refresh_run.run_id).create_timestamp.timestamp() >= recording_end
            assert instance.get_latest_materialization_event(dg.AssetKey("vocabulary")) is not None
            assert instance.get_dynamic_partitions("recordings") == [sensor_run.tags["dagster/partition"]]
