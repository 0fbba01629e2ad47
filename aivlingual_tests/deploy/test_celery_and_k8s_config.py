"""The shipped Celery and Kubernetes configurations, checked against the schemas of the code that reads them.

What is validated, and what is not:
- deploy/celery/celery.yaml: by dagster-celery's own validation, the one `dagster-celery worker start -y` runs;
  deploy/celery/definitions.py: every job's executor is the celery executor and its run config validates.
- deploy/k8s/values.yaml: the instance configuration the dagster Helm chart renders from it (run launcher,
  run coordinator, run monitoring, retries, storage: the keys our values set, renamed as the chart's
  instance ConfigMap template does) against Dagster's instance schema and K8sRunLauncher's config schema.
  Not validated: the chart's own values.schema.json and the rendering by Helm (neither the chart nor Helm
  is available from PyPI, npm or Debian's packages).
"""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._config import validate_config
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.instance.config import dagster_instance_config
from dagster._core.run_coordinator import QueuedRunCoordinator

ROOT = Path(__file__).resolve().parents[2]
CELERY = ROOT / "deploy" / "celery"
VALUES = ROOT / "deploy" / "k8s" / "values.yaml"


@pytest.fixture
def broker_env(monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://broker:6379/0")
    monkeypatch.setenv("CELERY_RESULT_BACKEND", "redis://broker:6379/1")
    monkeypatch.delenv("AIVLINGUAL_CELERY_CONFIG", raising=False)


def test_the_worker_configuration_is_accepted_by_dagster_celery(broker_env):
    from dagster_celery.cli import get_validated_config

    config = get_validated_config(str(CELERY / "celery.yaml"))  # what `dagster-celery worker start -y` does
    assert (config["broker"], config["backend"]) == ("redis://broker:6379/0", "redis://broker:6379/1")


def test_the_celery_code_location_sends_every_job_to_the_workers_with_their_configuration(broker_env):
    repository = ReconstructableRepository.for_file(str(CELERY / "definitions.py"), "defs",
                                                    working_directory=str(ROOT)).get_definition()
    jobs = [job for job in repository.get_all_jobs() if not job.name.startswith("__")]
    assert {"recording_job", "stock_job"} <= {job.name for job in jobs}
    for job in jobs:
        assert job.executor_def.name == "celery", job.name
        executor = dg.validate_run_config(job, {})["execution"]["celery"]  # configured from celery.yaml
        assert executor["broker"] == "redis://broker:6379/0" and executor["config_source"]["task_acks_late"], job.name


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _snake_keys(block: dict) -> dict:
    return {_snake(k): v for k, v in block.items()}


def helm_instance_config(values: dict) -> dict:
    """The parts of dagster.yaml the chart's instance ConfigMap renders from ``values`` (the keys we set)."""
    launcher = dict(values["runLauncher"]["config"]["k8sRunLauncher"])
    secrets = [s["name"] for s in launcher.pop("envSecrets", [])]
    run_k8s_config = {_snake(k): v for k, v in launcher.pop("runK8sConfig", {}).items()}
    daemon = values["dagsterDaemon"]
    coordinator = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    postgres = values["postgresql"]
    return {
        "run_launcher": {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": {
            "load_incluster_config": True, "job_namespace": "aivlingual", "service_account_name": "aivlingual-dagster",
            "dagster_home": {"env": "DAGSTER_HOME"}, "instance_config_map": {"env": "DAGSTER_K8S_INSTANCE_CONFIG_MAP"},
            "postgres_password_secret": {"env": "DAGSTER_K8S_PG_PASSWORD_SECRET"},
            "env_config_maps": [{"env": "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP"}],
            **({"env_secrets": secrets} if secrets else {}),
            **({"run_k8s_config": run_k8s_config} if run_k8s_config else {}),
            **_snake_keys(launcher)}},
        "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator",
                            "config": _snake_keys(coordinator)},
        "run_monitoring": _snake_keys(daemon["runMonitoring"]),
        "run_retries": _snake_keys(daemon["runRetries"]),
        "storage": {"postgres": {"postgres_db": {
            "username": postgres["postgresqlUsername"], "password": {"env": "DAGSTER_PG_PASSWORD"},
            "hostname": postgres["postgresqlHost"], "db_name": postgres["postgresqlDatabase"],
            "port": postgres["service"]["port"]}}},
        "telemetry": values["telemetry"],
    }


def test_the_kubernetes_values_render_an_instance_dagster_and_k8s_run_launcher_accept(tmp_path, monkeypatch):
    from dagster_k8s import K8sRunLauncher

    for name in ("DAGSTER_HOME", "DAGSTER_K8S_INSTANCE_CONFIG_MAP", "DAGSTER_K8S_PG_PASSWORD_SECRET",
                 "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP", "DAGSTER_PG_PASSWORD"):
        monkeypatch.setenv(name, "set-by-the-chart")
    instance = helm_instance_config(yaml.safe_load(VALUES.read_text()))
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance))

    dagster_instance_config(str(tmp_path))  # Dagster's instance schema (monitoring, retries, storage)
    coordinator = validate_config(QueuedRunCoordinator.config_type(), instance["run_coordinator"]["config"])
    assert coordinator.success and coordinator.value["max_concurrent_runs"] == 16, coordinator.errors
    launcher = validate_config(K8sRunLauncher.config_type(), instance["run_launcher"]["config"])
    assert launcher.success, [e.message for e in launcher.errors]
    assert launcher.value["run_k8s_config"]["container_config"]["resources"]["limits"]["memory"] == "4Gi"


def test_a_misspelt_kubernetes_value_is_refused():
    values = yaml.safe_load(VALUES.read_text())
    values["runLauncher"]["config"]["k8sRunLauncher"]["envSecret"] = [{"name": "aivlingual-secrets"}]
    from dagster_k8s import K8sRunLauncher

    launcher = validate_config(K8sRunLauncher.config_type(), helm_instance_config(values)["run_launcher"]["config"])
    assert not launcher.success and "env_secret" in launcher.errors[0].message
