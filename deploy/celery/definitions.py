"""The Celery deployment's code location: AIVlingual's definitions, every job's steps sent to Celery workers.

Load it with ``deploy/celery/workspace.yaml`` (``dagster dev -w deploy/celery/workspace.yaml``, or the
webserver and daemon of a deployment). The executor's configuration is read from the same file the
workers start with (``deploy/celery/celery.yaml``, or the file named by ``AIVLINGUAL_CELERY_CONFIG``),
so the runs and the workers cannot disagree about the broker or about acknowledging late.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster_celery import celery_executor

from aivlingual_assets import definitions as project  # a module: one Definitions object at module scope

SHIPPED_CONFIG = Path(__file__).resolve().with_name("celery.yaml")


def celery_config(path: str | Path | None = None) -> dict[str, Any]:
    """The ``execution.config`` block of a worker configuration file (as ``dagster-celery worker start -y`` reads it)."""
    path = Path(path or os.environ.get("AIVLINGUAL_CELERY_CONFIG") or SHIPPED_CONFIG)
    return yaml.safe_load(path.read_text())["execution"]["config"]


defs = dg.Definitions.merge(project.defs, dg.Definitions(executor=celery_executor.configured(celery_config())))
