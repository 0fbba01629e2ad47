"""One partition per recording: ``yt-<videoId>`` or ``file-<12 hex of its content hash>``."""

import warnings

import dagster as dg

recordings_partitions = dg.DynamicPartitionsDefinition(name="recordings")

# Checks of per-recording assets are partitioned too, so each check reads its own recording's data
# (an unpartitioned check would load another partition). Dagster marks that API as preview.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning)
