"""Everything Dagster loads: assets, checks, jobs, sensors, schedules and resources."""

from __future__ import annotations

import dagster as dg

from .assets import analysis, ingestion, publishing
from .jobs import STOCK, recording_job, stock_job
from .schedules import build_nightly_schedule
from .sensors import ChannelsConfig, recordings_sensor, youtube_channels_sensor
from .resources import AICoreResource
from .resources.parquet_io_manager import ParquetIOManager
from .resources.pipeline import PipelineResource, YouTubeResource


def build_resources() -> dict[str, object]:
    return {
        "ai": AICoreResource(),
        "pipeline": PipelineResource(),
        "youtube": YouTubeResource(),
        "parquet_io_manager": ParquetIOManager(),
        "channels": ChannelsConfig(),
    }


defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingestion, analysis, publishing]),
    asset_checks=dg.load_asset_checks_from_modules([ingestion, analysis, publishing]),
    jobs=[recording_job, stock_job],
    schedules=[build_nightly_schedule(STOCK)],
    sensors=[recordings_sensor, youtube_channels_sensor],
    resources=build_resources(),
)
