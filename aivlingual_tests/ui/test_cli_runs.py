"""Runs made by `aivlingual process` are runs of the code location's jobs, as the UI's own runs are: they appear in
the job's history and on the timeline, and re-execute from the run page without a version warning."""

from __future__ import annotations

import dagster as dg
import pytest

from aivlingual_assets import cli
from aivlingual_assets.definitions import defs

from .conftest import LOCATION, REPOSITORY

REPOSITORY_TAG = ".dagster/repository"  # how the UI finds a job's and a repository's runs


def test_a_cli_run_carries_the_workspaces_code_location_and_the_jobs_own_snapshot(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "s.ja.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nこんにちは、今日も配信です\n\n",
                                       encoding="utf-8")
    assert cli.main(["process", str(tmp_path / "s.ja.srt"), "--skip-stock"]) == 0
    out = capsys.readouterr().out
    assert "✓" in out and "Summary: 1 recording(s) processed, 0 failed" in out  # progress and summary as before
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs(filters=dg.RunsFilter(job_name="recording_job",
                                                         tags={REPOSITORY_TAG: f"{REPOSITORY}@{LOCATION}"}))
    origin = run.remote_job_origin.repository_origin
    assert (origin.code_location_origin.location_name, origin.repository_name) == (LOCATION, REPOSITORY)
    assert run.job_code_origin is not None  # reconstructable: another process can re-execute it
    assert run.job_snapshot_id == defs.resolve_job_def("recording_job").get_job_snapshot_id()
    assert run.tags["aivlingual/heavy"] == "recording"  # the job's own tags, which stock_refresh_sensor reads
    assert run.tags["dagster/partition"].startswith("file-") and run.tags["aivlingual/trigger"] == "cli"


JOB_AND_RUNS = """
query JobRuns($job: String!, $repository: String!) {
  repositoryOrError(repositorySelector: {repositoryLocationName: "%s", repositoryName: "%s"}) {
    ... on Repository { pipelines { name pipelineSnapshotId } }
  }
  runsOrError(filter: {pipelineName: $job, tags: [{key: ".dagster/repository", value: $repository}]}) {
    ... on Runs { results { runId status pipelineSnapshotId
                            repositoryOrigin { repositoryLocationName repositoryName } } }
  }
}
""" % (LOCATION, REPOSITORY)
REEXECUTE = """
mutation Reexecute($parent: String!) {
  launchPipelineReexecution(reexecutionParams: {parentRunId: $parent, strategy: ALL_STEPS}) {
    __typename
    ... on LaunchRunSuccess { run { runId rootRunId } }
    ... on PythonError { message }
  }
}
"""


@pytest.mark.slow
@pytest.mark.parametrize("job", ["recording_job", "stock_job"])
def test_the_ui_lists_cli_runs_under_their_job_and_reexecutes_them_as_the_same_version(graphql, job):
    data = graphql(JOB_AND_RUNS, job=job, repository=f"{REPOSITORY}@{LOCATION}")
    snapshot = {p["name"]: p["pipelineSnapshotId"] for p in data["repositoryOrError"]["pipelines"]}[job]
    (run,) = data["runsOrError"]["results"]  # the job's Runs tab, the Jobs page and the timeline query like this
    assert run["status"] == "SUCCESS"
    assert run["repositoryOrigin"] == {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}
    # the run page warns "may be a different version" unless origin and snapshot both match the loaded job
    assert run["pipelineSnapshotId"] == snapshot

    launched = graphql(REEXECUTE, parent=run["runId"])["launchPipelineReexecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    assert launched["run"]["rootRunId"] == run["runId"]
