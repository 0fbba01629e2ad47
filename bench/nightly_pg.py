"""Benchmark: the whole nightly over N small synthetic recordings on PostgreSQL, as deployed.

A throwaway PostgreSQL cluster holds Dagster's storage (``deploy/postgres/dagster.yaml``: queued run
coordinator, 8 runs at once, 4 recordings, pools) and the AI ledger and recording registry. N distinct
subtitle files (``lines`` lines each, :func:`bench.synthetic.stream_transcript`) are registered and added
as dynamic partitions; then ``dagster-daemon run`` serves :mod:`bench.nightly_location` (the profile's code
location, ``deploy/postgres/definitions.py``, plus a ``nightly_now`` sensor that asks once for what
``nightly_schedule`` asks at 03:00). The daemon queues one run per recording, launches them (the default run
launcher: a process per run, whose steps run one after another in it) and, once they have finished,
``stock_refresh_sensor`` refreshes the stock. The offline engine answers (no provider).

Reported: recording runs per minute; wall time per recording against the step time per recording (the
work itself, summed from the event log; the ratio is what the deployment adds); and where a run's time
goes: waiting in the queue (created to RUN_STARTING, when the coordinator launches it), launching
(RUN_STARTING to RUN_START: a process starting and loading the code), executing (RUN_START to its
end) and, of that, inside steps (the rest: the executor between steps; with the multiprocess executor, a
process started per step); then the stock refresh after the last recording and the sensor tick.

``python -m bench --only nightly_pg --tiny`` (1 recording), ``--quick`` (12) or full (1,000; hours on
2 cores); ``--set nightly_pg.recordings=N``; ``--set nightly_pg.executor=multiprocess`` for the project's
default executor (a process per step) instead of the profile's. ``AIVLINGUAL_BENCH_KEEP=1`` keeps the home and daemon.log.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from .cache_pg import postgres_missing
from .common import REPO_ROOT, Row, isolated_home, row, skipped

NAME = "nightly_pg"
TITLE = "Nightly over N recordings, PostgreSQL, daemon"
# executor: "in_process" (the profile's code location, as shipped) or "multiprocess" (the project's default
# executor, a process per step: what the profile ran before)
SIZES = {
    "full": {"recordings": 1_000, "lines": 20, "executor": "in_process"},
    "quick": {"recordings": 12, "lines": 20, "executor": "in_process"},
    "tiny": {"recordings": 1, "lines": 10, "executor": "in_process"},
}
EXECUTORS = ("in_process", "multiprocess")
POLL_S = 2.0
LOCATION = "bench.nightly_location"
EXECUTOR_ENV = "AIVLINGUAL_BENCH_EXECUTOR"


def write_recordings(folder: Path, n: int, lines: int) -> list[Path]:
    """``n`` distinct subtitle files (distinct content, so distinct recordings)."""
    import srt

    from .synthetic import stream_transcript

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        cues = [srt.Subtitle(j + 1, timedelta(seconds=line.start), timedelta(seconds=line.end), line.text)
                for j, line in enumerate(stream_transcript(lines, seed=1000 + i))]
        path = folder / f"stream-{i:05d}.ja.srt"
        path.write_text(srt.compose(cues), encoding="utf-8")
        paths.append(path)
    return paths


def register(paths: list[Path], database_url: str) -> list[str]:
    import dagster as dg

    from aivlingual_assets.ingestion.recording import recording_from_path
    from aivlingual_assets.storage.recording_registry import RecordingRegistry

    registry = RecordingRegistry(database_url)
    keys = []
    for path in paths:
        recording = recording_from_path(path)
        registry.register(recording)
        keys.append(recording.partition_key)
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions("recordings", keys)
    registry.engine.dispose()
    return keys


def _stop_with_this_process() -> None:
    """``preexec_fn`` of the daemon: SIGTERM when the benchmark's process dies (killed by a timeout, Ctrl-C twice),
    so no daemon is left launching runs. Linux's PR_SET_PDEATHSIG; elsewhere nothing."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _finished(record) -> bool:
    return record.dagster_run.is_finished


def wait_for_nightly(instance, n: int, daemon: subprocess.Popen, log: Path, timeout: float) -> list:
    """Until the N recording runs and the stock refresh after them have finished; their run records."""
    deadline = time.monotonic() + timeout
    while True:
        if daemon.poll() is not None:
            raise RuntimeError(f"dagster-daemon exited: {log.read_text(errors='replace')[-3000:]}")
        records = instance.get_run_records()
        recording = [r for r in records if r.dagster_run.tags.get("dagster/partition")]
        stock = [r for r in records if r.dagster_run.tags.get("dagster/sensor_name") == "stock_refresh_sensor"]
        if len(recording) == n and all(map(_finished, recording)) and stock and all(map(_finished, stock)):
            return records
        if time.monotonic() > deadline:
            states = sorted(f"{r.dagster_run.job_name}:{r.dagster_run.status.value}" for r in records)
            raise TimeoutError(f"the nightly did not finish in {timeout:.0f} s; runs: {', '.join(states)}; daemon log: "
                               f"{log.read_text(errors='replace')[-2000:]}")
        time.sleep(POLL_S)  # polling the run storage: nothing to await across processes


def run_phases(instance, record) -> dict[str, float]:
    """Seconds a run spent queued, launching, executing, and in its steps (from its event log)."""
    import dagster as dg

    E = dg.DagsterEventType
    kinds = {E.RUN_STARTING, E.RUN_START, E.RUN_SUCCESS, E.RUN_FAILURE,
             E.STEP_START, E.STEP_SUCCESS, E.STEP_FAILURE}
    at: dict[str, float] = {}
    step_start: dict[str, float] = {}
    in_steps = 0.0
    for r in instance.get_records_for_run(record.dagster_run.run_id, of_type=kinds).records:
        entry = r.event_log_entry
        kind = entry.dagster_event.event_type
        if kind == E.STEP_START:
            step_start[entry.step_key] = entry.timestamp
        elif kind in (E.STEP_SUCCESS, E.STEP_FAILURE) and entry.step_key in step_start:
            in_steps += entry.timestamp - step_start[entry.step_key]
        else:
            at.setdefault(kind.value, entry.timestamp)
    end = at.get(E.RUN_SUCCESS.value, at.get(E.RUN_FAILURE.value, record.end_time))
    created = record.create_timestamp.timestamp()
    launched = at.get(E.RUN_STARTING.value, created)  # the coordinator took it from the queue and launched it
    started = at.get(E.RUN_START.value, launched)
    return {"created": created, "queued": launched - created,
            "launch": started - launched, "execute": end - started, "steps": in_steps, "end": end,
            "steps_started": len(step_start)}


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def summarise(instance, records: list, tick_started: float, n: int) -> list[Row]:
    import dagster as dg

    recording = [r for r in records if r.dagster_run.tags.get("dagster/partition")]
    stock = min((r for r in records if r.dagster_run.tags.get("dagster/sensor_name") == "stock_refresh_sensor"),
                key=lambda r: r.create_timestamp)
    phases = [run_phases(instance, r) for r in recording]
    stock_phases = run_phases(instance, stock)
    failed = sum(r.dagster_run.status != dg.DagsterRunStatus.SUCCESS for r in recording)
    first_created = min(p["created"] for p in phases)
    last_end = max(p["end"] for p in phases)
    span = last_end - tick_started
    per_recording = span / n
    steps_per_recording = _mean([p["steps"] for p in phases])
    details = {
        "recordings": n, "failed_runs": failed, "nightly_wall_s": stock_phases["end"] - tick_started,
        "recording_runs_wall_s": span, "tick_to_first_run_s": first_created - tick_started,
        "mean_s": {k: _mean([p[k] for p in phases]) for k in ("queued", "launch", "execute", "steps")},
        "steps_per_run": _mean([p["steps_started"] for p in phases]),
        "stock": {"after_last_recording_s": stock_phases["created"] - last_end,
                  "launch_s": stock_phases["launch"], "execute_s": stock_phases["execute"]},
    }
    mean = details["mean_s"]
    note = (f"{n} recordings, {failed} failed runs; per run: {mean['queued']:.1f} s queued, {mean['launch']:.1f} s "
            f"launching, {mean['execute']:.1f} s executing of which {mean['steps']:.1f} s in "
            f"{details['steps_per_run']:.0f} steps; stock refresh started {details['stock']['after_last_recording_s']:.0f} s "
            f"after the last recording and ran {details['stock']['execute_s']:.1f} s")
    return [
        row(NAME, "recording runs per minute", n / span * 60, "runs/min", details=details, note=note),
        row(NAME, "nightly wall per recording", per_recording, "s", "step time per recording (event log)",
            steps_per_recording),
        row(NAME, "run waiting in the queue, mean", mean["queued"], "s"),
        row(NAME, "run launch (RUN_STARTING to RUN_START), mean", mean["launch"], "s", "step time per run",
            steps_per_recording),
        row(NAME, "run execution (RUN_START to end), mean", mean["execute"], "s", "step time per run",
            steps_per_recording),
        row(NAME, "sensor tick to first queued run", details["tick_to_first_run_s"], "s"),
        row(NAME, "stock refresh after the last recording", details["stock"]["after_last_recording_s"]
            + stock_phases["launch"] + stock_phases["execute"], "s"),
    ]


def _tick_started(instance) -> float:
    from dagster._core.scheduler.instigation import InstigatorType

    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.name == "nightly_now":
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1000)
            requested = [t for t in ticks if t.run_ids]
            if requested:
                return min(t.timestamp for t in requested)
    raise RuntimeError("nightly_now never requested runs")


def run(sizes: dict[str, Any]) -> list[Row]:
    reason = postgres_missing()
    if reason:
        return [skipped(NAME, reason)]
    import dagster as dg

    from aivlingual_tests.deploy.processes import background
    from aivlingual_tests.postgres_cluster import PostgresCluster

    n, lines = int(sizes["recordings"]), int(sizes["lines"])
    if sizes["executor"] not in EXECUTORS:
        raise SystemExit(f"nightly_pg.executor must be one of {', '.join(EXECUTORS)}")
    keep = os.environ.get("AIVLINGUAL_BENCH_KEEP") == "1"  # keep the home (daemon.log, the runs' storage)
    with isolated_home(NAME, keep=keep) as home:
        if keep:
            print(f"[home kept: {home}]", end=" ", flush=True)
        cluster = PostgresCluster().start()
        try:
            dagster_home = home / "dagster"
            dagster_home.mkdir()
            shutil.copy(REPO_ROOT / "deploy" / "postgres" / "dagster.yaml", dagster_home / "dagster.yaml")
            os.environ["DAGSTER_HOME"] = str(dagster_home)
            os.environ["DAGSTER_PG_URL"] = cluster.create_database("dagster").replace(
                "postgresql://", "postgresql+psycopg2://")
            os.environ["AIVLINGUAL_DATABASE_URL"] = cluster.create_database("ledger")
            register(write_recordings(home / "streams", n, lines), os.environ["AIVLINGUAL_DATABASE_URL"])
            workspace = home / "workspace.yaml"
            workspace.write_text(f"load_from:\n  - python_module:\n      module_name: {LOCATION}\n"
                                 f"      working_directory: {REPO_ROOT}\n")
            daemon_bin = Path(sys.executable).with_name("dagster-daemon")
            log = home / "daemon.log"
            env = {**os.environ, EXECUTOR_ENV: str(sizes["executor"])}  # read by bench.nightly_location
            with background([str(daemon_bin), "run", "-w", str(workspace)], log_path=log, cwd=REPO_ROOT,
                            env=env, preexec_fn=_stop_with_this_process) as daemon, \
                    dg.DagsterInstance.get() as instance:
                records = wait_for_nightly(instance, n, daemon, log, timeout=1200 + 120 * n)
                rows = summarise(instance, records, _tick_started(instance), n)
                rows[0].details["executor"] = sizes["executor"]
                rows[0].note = f"{sizes['executor']} executor; {rows[0].note}"
                return rows
        finally:
            os.environ.pop("DAGSTER_PG_URL", None)
            cluster.stop()
