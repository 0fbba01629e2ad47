"""The Dagster instance the commands run on: ``DAGSTER_HOME`` with the project's dagster.yaml and pool limits.

Pool limits are instance settings, set for a pool once a provider that uses it is configured. The assets
declare their pools always (``pool="openai"`` on every step that may call an AI provider, ``"notion"``), so
the definitions, and so the job snapshot, are the same in every process whatever its environment; what the
environment decides is only whether the instance limits the pool. A step in a pool with a limit claims and
frees a slot in Dagster's storage (a few writes each, ~65 ms for the 5 pooled steps of a recording on the
2-core machine); in a pool without one (and no ``default_limit`` in dagster.yaml) the claim is a dictionary
look-up. So the offline engine alone pays nothing for pools, and a limit, once set, stays until changed with
``dagster instance concurrency set``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .. import settings

POOL_LIMITS = {"openai": 4, "gemini": 4, "notion": 1}
# What configures each pool's provider: "openai" is the pool of every step that may call an AI provider
# (OpenAI, Gemini, a local server), the others are named after theirs. A channel's own key configures its
# provider's pools when it is stored (`aivlingual channels set-key`).
POOL_PROVIDERS = {
    "openai": ("OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "AIVLINGUAL_LOCAL_BASE_URL"),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "notion": ("NOTION_TOKEN",),
}
KEY_POOLS = {"openai": ("openai",), "gemini": ("openai", "gemini"), "notion": ("notion",)}  # a channel's key


def configured_pools(env=None) -> list[str]:
    """The pools whose provider the environment configures."""
    env = os.environ if env is None else env
    return [pool for pool, names in POOL_PROVIDERS.items() if any(env.get(name) for name in names)]
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


def get_instance(extra_pools: tuple[str, ...] = ()):
    """The instance, with the limits of the pools whose provider is configured (and ``extra_pools``) set."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    from ..storage.schema import file_lock

    home = dagster_home()
    # two commands started together on a fresh home: one creates the storage and the pools, then the other
    with file_lock(home / "instance"):
        # Dagster's own SQLite storage, its connections kept for the command (storage/dagster_sqlite.py);
        # dagster-postgres's storage on a pool of kept connections (storage/dagster_postgres.py)
        instance = dg.DagsterInstance.from_ref(_with_kept_connections(InstanceRef.from_dir(str(home))))
        set_pool_limits(instance, [*configured_pools(), *extra_pools])
    return instance


def set_pool_limits(instance, pools) -> None:
    """Sets the limit of each of ``pools`` that has none yet (a limit set by hand is kept)."""
    import sqlalchemy as sa

    storage = instance.event_log_storage
    known = storage.get_concurrency_keys()
    for pool in dict.fromkeys(pools):
        if pool not in known:
            try:
                storage.set_concurrency_slots(pool, POOL_LIMITS[pool])
            except sa.exc.IntegrityError:  # another host set it first (shared PostgreSQL storage)
                if pool not in storage.get_concurrency_keys():
                    raise


def _with_kept_connections(ref):
    """``ref`` on the project's kept-connection storage: SQLite (the default) or dagster-postgres's."""
    from ..storage.dagster_sqlite import with_kept_connections

    data = ref.storage_data
    if data is not None and data.module_name == "dagster_postgres":  # imported only when used
        from ..storage.dagster_postgres import with_pooled_connections

        return with_pooled_connections(ref)
    return with_kept_connections(ref)
