"""Runs executed inside a process of their own (`aivlingual process`) carry that process's identity.

Such a run lives in the process that executes it. Killed with SIGKILL (or by the OOM killer,
a crash, a reboot), the process can record nothing, and the run would stay STARTED for ever:
Dagster's run monitoring cannot see it (no run launcher started it) and would hold its pool
slots, and `stock_refresh_sensor` would wait for it for ever. So each such run is tagged with
its owner (host, pid), and the next `aivlingual process`, and the sensor, mark the runs whose
owner is gone as failed, with a message saying what happened, and free their pool slots.

The daemon's run monitoring is told to leave these runs alone (``dagster/max_runtime`` 0): its
runtime limit, meant for runs whose worker it cannot watch, would cancel a long run that is
still going.
"""

from __future__ import annotations

from functools import cache

import dagster as dg

from .ai.ledger import owner_is_dead, process_owner

OWNER_TAG = "aivlingual/owner"
NO_RUNTIME_LIMIT = {"dagster/max_runtime": "0"}  # see the module docstring
UNFINISHED = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
              dg.DagsterRunStatus.CANCELING]


@cache
def this_process() -> str:
    """``host:pid:nonce`` of this process (one value per process)."""
    return process_owner()


def owned_run_tags() -> dict[str, str]:
    """Tags for a run this process executes itself."""
    return {OWNER_TAG: this_process(), **NO_RUNTIME_LIMIT}


def fail_orphaned_runs(instance: dg.DagsterInstance, *, by: str) -> list[str]:
    """Marks unfinished runs whose owning process is dead as failed; returns their run ids.

    Runs owned by a process on another host are left alone: whether it lives cannot be told from here.
    """
    failed = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        owner = run.tags.get(OWNER_TAG)
        if not owner or not owner_is_dead(owner):
            continue
        host, pid = owner.split(":")[:2]
        instance.report_run_failed(
            run, f"The process that ran this run (pid {pid} on {host}) is gone: it was killed or crashed before the "
            f"run ended. Marked failed by {by}. Run it again to finish it: the steps it finished are kept and no AI "
            "answer is paid twice.")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        failed.append(run.run_id)
    return failed
