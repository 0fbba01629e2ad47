"""The production profile: Dagster storage and the AI ledger in a real PostgreSQL, multiprocess runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from aivlingual_assets.ingestion.recording import recording_from_path
from aivlingual_assets.storage.recording_registry import RecordingRegistry

ROOT = Path(__file__).resolve().parents[2]
DAGSTER = Path(sys.executable).with_name("dagster")


@pytest.fixture
def postgres_profile(tmp_path, postgres_cluster, monkeypatch, aiv_home):
    """DAGSTER_HOME with deploy/postgres/dagster.yaml; Dagster and the ledger in two fresh databases."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    dagster_db = postgres_cluster.create_database("dagster")
    monkeypatch.setenv("DAGSTER_PG_URL", dagster_db.replace("postgresql://", "postgresql+psycopg2://"))
    monkeypatch.setenv("AIVLINGUAL_DATABASE_URL", postgres_cluster.create_database("ledger"))
    return home


def _execute(job: str, *, partition: str | None = None) -> subprocess.CompletedProcess:
    tags = {"dagster/partition": partition} if partition else {}
    return subprocess.run(
        [str(DAGSTER), "job", "execute", "-m", "aivlingual_assets", "-j", job, "--tags", json.dumps(tags)],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=600,
    )


@pytest.mark.slow
def test_sample_pipeline_runs_with_storage_and_ledger_in_postgres(postgres_profile, tmp_path):
    media = tmp_path / "sample_stream.mp4"
    shutil.copy(ROOT / "examples" / "sample_stream.mp4", media)
    shutil.copy(ROOT / "examples" / "sample_stream.ja.srt", tmp_path / "sample_stream.ja.srt")
    recording = recording_from_path(media)
    RecordingRegistry(os.environ["AIVLINGUAL_DATABASE_URL"]).register(recording)
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions("recordings", [recording.partition_key])

    per_recording = _execute("recording_job", partition=recording.partition_key)
    assert per_recording.returncode == 0, per_recording.stdout[-3000:] + per_recording.stderr[-3000:]
    stock = _execute("stock_job")
    assert stock.returncode == 0, stock.stdout[-3000:] + stock.stderr[-3000:]

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PooledPostgresRunStorage"  # deploy/postgres names the pooled storage
        runs = instance.get_runs()
        assert {r.job_name for r in runs} == {"recording_job", "stock_job"}
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        # the steps ran in their own processes (multiprocess executor)
        recording_run = next(r for r in runs if r.job_name == "recording_job")
        records = instance.get_records_for_run(recording_run.run_id).records
        pids = {r.event_log_entry.dagster_event.pid for r in records if r.event_log_entry.dagster_event
                and r.event_log_entry.dagster_event.is_step_start}
        assert len(pids) > 1
        assert instance.get_latest_materialization_event(dg.AssetKey("vocabulary")) is not None
    ledger = sa.create_engine(os.environ["AIVLINGUAL_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg2://"))
    with ledger.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM aiv_usage_log")).scalar_one() > 0
        assert conn.execute(sa.text("SELECT count(*) FROM aiv_recordings")).scalar_one() == 1
    ledger.dispose()


def test_shipped_deployment_configs_are_valid_yaml():
    for path in (ROOT / "deploy").rglob("*.yaml"):
        assert yaml.safe_load(path.read_text()) is not None, path
