"""The Dagster instance the commands run on: ``DAGSTER_HOME`` with the project's dagster.yaml and pool limits."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .. import settings

POOL_LIMITS = {"openai": 4, "gemini": 4, "notion": 1}
_REPO_DAGSTER_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"


def dagster_home() -> Path:
    """``DAGSTER_HOME`` or ``$AIVLINGUAL_HOME/dagster``, created with the project's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.aivlingual_home() / "dagster").expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    config = home / "dagster.yaml"
    if not config.exists() and _REPO_DAGSTER_YAML.exists():
        part = home / f".dagster.yaml.{os.getpid()}.part"  # a concurrent reader never sees half a file
        shutil.copyfile(_REPO_DAGSTER_YAML, part)
        os.replace(part, config)
    return home


def get_instance():
    import dagster as dg
    import sqlalchemy as sa
    from dagster._core.instance.ref import InstanceRef

    from ..storage.schema import file_lock

    home = dagster_home()
    # two commands started together on a fresh home: one creates the storage and the pools, then the other
    with file_lock(home / "instance"):
        # Dagster's own SQLite storage, its connections kept for the command (storage/dagster_sqlite.py);
        # dagster-postgres's storage on a pool of kept connections (storage/dagster_postgres.py)
        instance = dg.DagsterInstance.from_ref(_with_kept_connections(InstanceRef.from_dir(str(home))))
        storage = instance.event_log_storage
        known = storage.get_concurrency_keys()
        for pool, limit in POOL_LIMITS.items():
            if pool not in known:
                try:
                    storage.set_concurrency_slots(pool, limit)
                except sa.exc.IntegrityError:  # another host set it first (shared PostgreSQL storage)
                    if pool not in storage.get_concurrency_keys():
                        raise
    return instance


def _with_kept_connections(ref):
    """``ref`` on the project's kept-connection storage: SQLite (the default) or dagster-postgres's."""
    from ..storage.dagster_sqlite import with_kept_connections

    data = ref.storage_data
    if data is not None and data.module_name == "dagster_postgres":  # imported only when used
        from ..storage.dagster_postgres import with_pooled_connections

        return with_pooled_connections(ref)
    return with_kept_connections(ref)
