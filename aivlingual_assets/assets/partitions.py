"""One partition per recording: ``yt-<videoId>`` or ``file-<12 hex of its content hash>``."""

import dagster as dg

recordings_partitions = dg.DynamicPartitionsDefinition(name="recordings")
