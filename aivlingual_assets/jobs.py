"""Jobs: the per-recording pipeline and the stock refresh that follows it."""

import dagster as dg

from .assets.partitions import recordings_partitions

PER_RECORDING = ["recordings", "transcripts", "expressions", "difficulty", "shorts",
                 "upload_metadata", "worksheets", "thumbnails"]  # the last three: assets/content.py
STOCK = ["vocabulary", "notion_entries", "anki_deck"]

recording_job = dg.define_asset_job(
    name="recording_job",
    selection=dg.AssetSelection.assets(*PER_RECORDING),
    partitions_def=recordings_partitions,
    description="Everything one recording yields: transcript, expressions, levels, Shorts, upload text, "
    "worksheet and thumbnails.",
    tags={"aivlingual/heavy": "recording"},
)

stock_job = dg.define_asset_job(
    name="stock_job",
    selection=dg.AssetSelection.assets(*STOCK),
    description="Merges every recording's expressions into the vocabulary stock and publishes it.",
    tags={"aivlingual/stock": "refresh"},
)
