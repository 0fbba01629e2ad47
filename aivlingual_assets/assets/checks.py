"""The checks of per-recording assets run inside their asset's step (``check_specs``), not as steps of their own.

A separate ``@asset_check`` is one more step of ``recording_job`` per check: its start, input loading (the
asset's Parquet read again), events and success, about as much Dagster bookkeeping as the asset's own step.
Declared as a check spec of the asset, the check has the same name, description, severity, partition and
lineage in the UI and the instance (its evaluations are recorded per recording, after the materialisation
they look at); a blocking check still stops what follows when it fails. It runs whenever its asset is
materialised, and re-running it means materialising that recording's asset again (the UI says a check
"requires materialisation"); its function stays a plain function of the asset's value.
"""

from __future__ import annotations

import dagster as dg

from .partitions import recordings_partitions


def recording_check(name: str, asset: str, description: str, *, blocking: bool = False,
                    also_reads: tuple[str, ...] = ()) -> dg.AssetCheckSpec:
    """The spec of a per-recording check evaluated in ``asset``'s step; ``also_reads``: other assets it reads."""
    return dg.AssetCheckSpec(name, asset=asset, description=description, blocking=blocking,
                             additional_deps=list(also_reads), partitions_def=recordings_partitions)
