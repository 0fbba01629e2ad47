"""The Dagster UI for real: `dagster dev` from the repository root serves the project; its GraphQL API
shows the asset graph and launches a run, which the daemon dequeues and runs."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from pathlib import Path

import pytest
import requests

from .processes import background

ROOT = Path(__file__).resolve().parents[2]
DAGSTER = Path(sys.executable).with_name("dagster")

ASSET_GRAPH = """
{ assetNodes { assetKey { path } dependencyKeys { path } groupName jobNames } }
"""
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
RUN_STATUS = "query Run($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webserver(tmp_path, aiv_home):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    port = _free_port()
    command = [str(DAGSTER), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    with background(command, log_path=tmp_path / "dagster_dev.log", cwd=ROOT, env=env) as proc:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited: {(tmp_path / 'dagster_dev.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(1)
        else:
            raise TimeoutError("dagster dev did not serve the UI within 180 s")
        yield url


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    response = requests.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def _location(url: str) -> tuple[str, str]:
    data = graphql(url, "{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError { "
                        "__typename ... on RepositoryLocation { repositories { name } } ... on PythonError { message } "
                        "} } } } }")
    entry = data["workspaceOrError"]["locationEntries"][0]
    location = entry["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", location
    return entry["name"], location["repositories"][0]["name"]


@pytest.mark.slow
def test_ui_serves_the_asset_graph_and_launches_a_run(webserver):
    nodes = {"/".join(n["assetKey"]["path"]): n for n in graphql(webserver, ASSET_GRAPH)["assetNodes"]}
    deps = {key: {"/".join(d["path"]) for d in node["dependencyKeys"]} for key, node in nodes.items()}
    lineage = [("recordings", "transcripts"), ("transcripts", "expressions"), ("expressions", "difficulty"),
               ("difficulty", "vocabulary"), ("vocabulary", "notion_entries"), ("vocabulary", "anki_deck"),
               ("difficulty", "shorts")]
    for upstream, downstream in lineage:
        assert upstream in deps[downstream], (upstream, downstream)
    assert nodes["transcripts"]["groupName"] == "ingestion" and "recording_job" in nodes["transcripts"]["jobNames"]

    location, repository = _location(webserver)
    launched = graphql(webserver, LAUNCH, {"params": {
        "selector": {"repositoryLocationName": location, "repositoryName": repository, "jobName": "usage_report_job"},
        "runConfigData": {},
    }})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + 240
    status = None
    while time.monotonic() < deadline:
        status = graphql(webserver, RUN_STATUS, {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(2)
    assert status == "SUCCESS"
