"""Run monitoring in every shipped deployment: a run whose worker was killed does not stay STARTED for ever."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LAUNCHER_PROFILES = [ROOT, ROOT / "deploy" / "postgres", ROOT / "deploy" / "celery"]


@pytest.mark.parametrize("home", DEFAULT_LAUNCHER_PROFILES, ids=lambda p: str(p.relative_to(ROOT)) or "local")
def test_profiles_with_the_default_launcher_fail_a_run_whose_worker_died_after_a_runtime_limit(home, monkeypatch):
    monkeypatch.setenv("DAGSTER_PG_URL", "postgresql+psycopg2://u:p@localhost:5432/d")  # read, never connected to
    config, _ = dagster_instance_config(str(home))  # validated against Dagster's schema
    monitoring = config["run_monitoring"]
    # the default run launcher cannot check a worker's health: only a runtime limit ends a dead run
    assert monitoring["enabled"] is True and 3600 <= monitoring["max_runtime_seconds"] <= 86400
    assert monitoring["free_slots_after_run_end_seconds"] > 0  # a dead run's pool slots come back
    assert config["run_retries"]["enabled"] and config["run_retries"]["retry_on_asset_or_op_failure"] is False


def test_kubernetes_checks_run_pods_and_retries_a_run_whose_pod_died():
    values = yaml.safe_load((ROOT / "deploy" / "k8s" / "values.yaml").read_text())
    daemon = values["dagsterDaemon"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"  # supports worker health checks
    assert daemon["runMonitoring"]["enabled"] is True and daemon["runMonitoring"]["maxResumeRunAttempts"] == 0
    assert daemon["runRetries"] == {"enabled": True, "maxRetries": 1}
