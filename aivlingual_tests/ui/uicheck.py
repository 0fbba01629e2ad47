"""``python3 make.py uicheck``: the Dagster UI in a real (headless) browser, as a new user meets it.

Starts ``aivlingual ui`` on a home where ``aivlingual process`` has run (the sample's, by default),
refreshes the AI usage report through the UI's own GraphQL API, then opens the asset graph, an asset
page, the run page of the CLI's recording run, the Overview timeline, the job's run history and the
usage report in headless Chromium, saves a screenshot of each under ``<home>/uicheck/`` and fails
(exit 1) when a page throws, a GraphQL request fails, an error screen shows, or what the page must
show never appears. ``summary.json`` beside the screenshots says what was checked.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from ..deploy.processes import background
from .browser import Browser, chromium_path

ROOT = Path(__file__).resolve().parents[2]
LOCATION = "aivlingual_assets"
REPOSITORY_PATH = f"__repository__@{LOCATION}"


def ensure_chromium() -> str:
    """Debian's chromium, installed with apt-get when missing (as root)."""
    found = chromium_path()
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise SystemExit("uicheck needs chromium: install it (Debian: `apt-get install chromium`) and run again")
    print("installing chromium with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.call(["apt-get", "install", "-y", "-q", "chromium"], env=env) != 0:
        subprocess.check_call(["apt-get", "update", "-q"], env=env)
        subprocess.check_call(["apt-get", "install", "-y", "-q", "chromium"], env=env)
    return chromium_path() or sys.exit("apt-get installed chromium but it is not on PATH")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(url: str, query: str, **variables) -> dict:
    response = requests.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=120)
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    return body["data"]


def wait_for_ui(url: str, proc: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    """Until the webserver answers and the code location has loaded."""
    deadline = time.monotonic() + timeout
    query = ("{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
             "locationOrLoadError { __typename ... on PythonError { message } } } } } }")
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"aivlingual ui exited: {log.read_text(errors='replace')[-3000:]}")
        try:
            entries = graphql(url, query)["workspaceOrError"]["locationEntries"]
        except (requests.ConnectionError, requests.HTTPError, requests.Timeout, KeyError):
            entries = []
        loaded = [e for e in entries if e["loadStatus"] == "LOADED"]
        if loaded:
            error = loaded[0]["locationOrLoadError"]
            if error["__typename"] == "PythonError":
                raise RuntimeError(f"the code location failed to load: {error['message']}")
            return
        time.sleep(1)
    raise TimeoutError(f"the UI did not load the code location within {timeout:.0f}s")


LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""
RUN_STATUS = "query Run($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
LATEST_RUN = """
query Latest($job: String!) {
  runsOrError(filter: {pipelineName: $job, statuses: [SUCCESS], tags: [{key: "aivlingual/trigger", value: "cli"}]},
              limit: 1) { ... on Runs { results { runId status } } }
}
"""  # the latest successful run of `aivlingual process`


def refresh_usage_report(url: str, timeout: float = 300) -> str:
    """Launches usage_report_job as the Launchpad does; the daemon runs it. Its run id, once it succeeded."""
    launched = graphql(url, LAUNCH, params={
        "selector": {"repositoryLocationName": LOCATION, "repositoryName": "__repository__",
                     "jobName": "usage_report_job"}, "runConfigData": {}})["launchRun"]
    if launched["__typename"] != "LaunchRunSuccess":
        raise RuntimeError(f"launching usage_report_job failed: {launched}")
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = graphql(url, RUN_STATUS, id=run_id)["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            if status != "SUCCESS":
                raise RuntimeError(f"usage_report_job run {run_id} ended {status}")
            return run_id
        time.sleep(2)
    raise TimeoutError(f"usage_report_job run {run_id} did not finish within {timeout:.0f}s")


def pages(url: str, recording_run: str) -> list[tuple[str, str, list[str]]]:
    """(name, url, texts the page must show) of every page checked."""
    location = f"{url}/locations/{REPOSITORY_PATH}"
    return [
        ("asset_graph", f"{url}/asset-groups", ["ingestion", "analysis", "publishing", "learning"]),
        ("asset_graph_learning", f"{location}/asset-groups/learning", ["ai_usage_report", "training_exports"]),
        ("asset_recordings", f"{url}/assets/recordings", ["recordings", "Latest materialization"]),
        ("asset_expressions", f"{url}/assets/expressions", ["expressions", "Latest materialization"]),
        ("run_recording_job", f"{url}/runs/{recording_run}", ["recording_job", "Success"]),
        ("timeline", f"{url}/overview/activity/timeline", ["recording_job"]),
        ("job_runs", f"{location}/jobs/recording_job/runs", ["recording_job", recording_run[:8]]),
        ("usage_report", f"{url}/assets/ai_usage_report", ["ai_usage_report", "chart", "[Show Markdown]"]),
        ("training_exports_checks", f"{url}/assets/training_exports?view=checks", ["training_export_is_clean"]),
        ("nightly_schedule", f"{location}/schedules/nightly_schedule", ["nightly_job"]),
    ]


def run_check(home: Path, out: Path, port: int | None = None, dagster_home: Path | None = None) -> list[dict]:
    """Everything above; the summary of every page (``errors`` empty when it is fine)."""
    ensure_chromium()
    dagster_home = dagster_home or home / "dagster"
    env = {**os.environ, "AIVLINGUAL_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    out.mkdir(parents=True, exist_ok=True)
    log = out / "aivlingual_ui.log"
    command = [sys.executable, "-m", "aivlingual_assets.cli", "ui", "--port", str(port)]
    results = []
    with background(command, log_path=log, cwd=ROOT, env=env) as proc:
        wait_for_ui(url, proc, log)
        runs = graphql(url, LATEST_RUN, job="recording_job")["runsOrError"]["results"]
        if not runs:
            raise SystemExit(f"no successful recording_job run of `aivlingual process` in {dagster_home}: run "
                             "`python3 make.py sample` first")
        print(f"UI at {url}; refreshing the AI usage report through the UI's API", flush=True)
        refresh_usage_report(url)
        with Browser() as browser:
            for name, page_url, expect in pages(url, runs[0]["runId"]):
                page = browser.open(page_url, expect=expect, screenshot=out / f"{name}.png",
                                    height=2400 if name == "usage_report" else 1000)
                results.append(_report(name, page_url, page.screenshot, page.errors))
                if name == "usage_report":  # the chart: the first markdown value, opened as the user would
                    shot = out / "usage_report_chart.png"
                    errors = browser.click_and_shoot("[Show Markdown]", shot)
                    charts = [i for i in browser.images() if i["src"].startswith("data:image/png")]
                    if not any(i["complete"] and i["width"] > 0 for i in charts):
                        errors.append(f"no chart image rendered (images: {browser.images()})")
                    results.append(_report("usage_report_chart", page_url, shot, errors))
    (out / "summary.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


def _report(name: str, url: str, screenshot: Path, errors: list[str]) -> dict:
    print(f"{'✓' if not errors else '✗'} {name}: {url} -> {screenshot}", flush=True)
    for error in errors:
        print(f"    {error}", flush=True)
    return {"name": name, "url": url, "screenshot": str(screenshot), "errors": errors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("AIVLINGUAL_HOME") or ROOT / ".aivlingual"))
    parser.add_argument("--out", type=Path, help="where the screenshots go (default: <home>/uicheck)")
    parser.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    home = args.home.resolve()
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or home / "dagster").resolve()
    results = run_check(home, (args.out or home / "uicheck").resolve(), args.port, dagster_home)
    failed = [r["name"] for r in results if r["errors"]]
    print(f"\n{len(results) - len(failed)}/{len(results)} pages fine" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
