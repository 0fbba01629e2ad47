"""Runs of the CLI belong to the code location the UI loads, like runs launched from the UI or a sensor.

`JobDefinition.execute_in_process` makes an ephemeral copy of the job (its own executor and
resources, so another job snapshot) and records no origin: the UI cannot tell which code location
such a run came from, so it leaves it out of the job's history and the Overview timeline and warns
that re-executing it may run "a different version". Here, as `dagster job execute` does, the job is
a :class:`ReconstructableJob` of the module the workspace loads, and, as `dagster job launch` does,
the run is created with the remote origin of the workspace's code location (read from
workspace.yaml, without starting a code server). Its job snapshot is the code location's own, so
the run page offers re-execution without a warning.

The run still executes in this process (the in-process executor, chosen in the run config), so the
command sees its events as they happen, Ctrl-C stops it, and it is owned by this process
(:mod:`..run_owners`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg

WORKSPACE_YAML = Path(__file__).resolve().parents[2] / "workspace.yaml"
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}


@cache
def code_location_origin():
    """The origin of the code location workspace.yaml declares (the one `aivlingual ui` serves)."""
    from dagster._core.workspace.load import location_origins_from_yaml_paths

    (origin,) = location_origins_from_yaml_paths([str(WORKSPACE_YAML)])
    return origin


@cache
def reconstructable_repository():
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    target = code_location_origin().loadable_target_origin
    return ReconstructableRepository.for_module(target.module_name, target.attribute or "defs",
                                                working_directory=target.working_directory)


def remote_job_origin(job_name: str):
    from dagster._core.remote_origin import RemoteJobOrigin, RemoteRepositoryOrigin

    repository_name = reconstructable_repository().get_definition().name
    return RemoteJobOrigin(RemoteRepositoryOrigin(code_location_origin(), repository_name), job_name)


def execute_job_run(instance: dg.DagsterInstance, job_name: str, *, tags: dict[str, str],
                    run_config: dict[str, Any], partition_key: str | None = None):
    """Creates a run of ``job_name`` with the code location's origin and executes it here; its result."""
    from dagster._core.execution.api import execute_run

    recon_job = reconstructable_repository().get_reconstructable_job(job_name)
    job_def = recon_job.get_definition()
    partition_tags = (job_def.get_tags_for_partition_key(partition_key, selected_asset_keys=None)
                      if partition_key is not None else {})
    run = instance.create_run_for_job(
        job_def,
        run_config={**run_config, **IN_PROCESS},
        tags={**job_def.run_tags, **partition_tags, **tags},
        remote_job_origin=remote_job_origin(job_name),
        job_code_origin=recon_job.get_python_origin(),
    )
    return execute_run(recon_job, run, instance, raise_on_error=False)
