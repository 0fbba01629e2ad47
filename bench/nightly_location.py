"""The code location of ``bench.nightly_pg``: the PostgreSQL profile's definitions
(``deploy/postgres/definitions.py``: the project's, each run's steps in the run's process) plus ``nightly_now``.

``nightly_now`` asks, once, for exactly what ``nightly_schedule`` asks for at 03:00 (the same
:func:`aivlingual_assets.schedules.nightly_plan` on the same job), so the benchmark measures the nightly
without waiting for 03:00 or a minute boundary. Everything after the tick is the shipped deployment:
queued runs, the daemon's run coordinator, pools, ``stock_refresh_sensor``.
"""

from __future__ import annotations

import os

import dagster as dg

from aivlingual_assets import definitions as project
from aivlingual_assets.jobs import STOCK
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_assets.schedules import nightly_plan
from deploy.postgres import definitions as profile  # REPO_ROOT is the location's working directory

NIGHTLY_JOB = next(s for s in project.defs.schedules if s.name == "nightly_schedule").job
CURSOR = "asked"


@dg.sensor(name="nightly_now", job=NIGHTLY_JOB, minimum_interval_seconds=1,
           default_status=dg.DefaultSensorStatus.RUNNING)
def nightly_now(context: dg.SensorEvaluationContext, pipeline: PipelineResource):
    if context.cursor == CURSOR:
        return dg.SkipReason("the nightly has been asked for")
    plan = nightly_plan(context.instance, set(pipeline.registry().keys()), "bench", [*STOCK, "ai_usage_report"])
    context.update_cursor(CURSOR)
    return plan.requests


def _base() -> dg.Definitions:
    """bench nightly_pg's executor size: the profile's (in-process) or the project's default (multiprocess).
    (A function: a second Definitions object at module scope would make Dagster refuse the location.)"""
    return project.defs if os.environ.get("AIVLINGUAL_BENCH_EXECUTOR") == "multiprocess" else profile.defs


defs = dg.Definitions.merge(_base(), dg.Definitions(sensors=[nightly_now]))
