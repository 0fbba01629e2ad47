"""What the UI names: every schedule and sensor targets a job with a name of ours, not an internal one."""

from __future__ import annotations

import pytest

from .conftest import LOCATION, REPOSITORY

TARGETS = """
{ repositoryOrError(repositorySelector: {repositoryLocationName: "%s", repositoryName: "%s"}) {
    ... on Repository {
      schedules { name pipelineName }
      sensors { name targets { pipelineName } }
      pipelines { name description }
    } } }
""" % (LOCATION, REPOSITORY)


@pytest.mark.slow
def test_the_nightly_schedule_runs_a_named_job_and_no_target_has_an_internal_name(graphql):
    repository = graphql(TARGETS)["repositoryOrError"]
    schedules = {s["name"]: s["pipelineName"] for s in repository["schedules"]}
    assert schedules["nightly_schedule"] == "nightly_job"  # its tick preview shows this name
    jobs = {p["name"]: p["description"] for p in repository["pipelines"]}
    assert "nightly" in jobs["nightly_job"]
    targets = [*schedules.values(), *(t["pipelineName"] for s in repository["sensors"] for t in s["targets"])]
    assert not [name for name in targets if name.startswith("__")], targets
