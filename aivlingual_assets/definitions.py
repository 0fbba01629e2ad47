"""Everything Dagster loads: assets, checks, jobs, sensors, schedules and resources."""

from __future__ import annotations

import os

import dagster as dg

from .assets import analysis, content, ingestion, publishing
from .assets.catalogue import with_catalogue_attributes
from .assets.learning import (
    LEARNING_ASSETS,
    LEARNING_CHECKS,
    LEARNING_JOBS,
    LEARNING_SCHEDULES,
    LEARNING_SENSORS,
    ai_usage_ledger,
)
from .batch_sensor import batch_results_sensor
from .jobs import STOCK, recording_job, stock_job
from .schedules import build_nightly_schedule
from .sensors import ChannelsConfig, recordings_sensor, youtube_channels_sensor
from .stock_refresh import stock_refresh_sensor
from .resources import AICoreResource
from .publishing.content_source import PublishingRights
from .resources.notion import NotionResource
from .resources.parquet_io_manager import ParquetIOManager
from .resources.pipeline import PipelineResource, YouTubeResource


def env_secret(*names: str) -> dg.EnvVar | None:
    """The first of ``names`` that is set, as an EnvVar (resolved at run time, never stored)."""
    for name in names:
        if os.environ.get(name):
            return dg.EnvVar(name)
    return None


def build_resources() -> dict[str, object]:
    return {
        # unset keys fall back to the environment at run time (AICoreResource reads it itself)
        "ai": AICoreResource(
            openai_api_key=env_secret("OPENAI_API_KEY"),
            gemini_api_key=env_secret("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        ),
        "pipeline": PipelineResource(),
        "youtube": YouTubeResource(),
        "parquet_io_manager": ParquetIOManager(),
        "channels": ChannelsConfig(),
        "notion": NotionResource(token=env_secret("NOTION_TOKEN")),
        "rights": PublishingRights(),  # which recordings may be published (publishing/content_source.py)
    }


PROJECT_ASSETS = [*dg.load_assets_from_modules([ingestion, analysis, publishing, content]), *LEARNING_ASSETS]

defs = dg.Definitions(
    assets=[*with_catalogue_attributes(PROJECT_ASSETS), ai_usage_ledger(PROJECT_ASSETS)],  # owners, code versions
    asset_checks=[*dg.load_asset_checks_from_modules([ingestion, analysis, publishing, content]), *LEARNING_CHECKS],
    jobs=[recording_job, stock_job, content.lesson_job, *LEARNING_JOBS],
    schedules=[build_nightly_schedule([*STOCK, "ai_usage_report"]), content.lesson_schedule, *LEARNING_SCHEDULES],
    sensors=[recordings_sensor, youtube_channels_sensor, stock_refresh_sensor, batch_results_sensor, *LEARNING_SENSORS],
    resources=build_resources(),
)
