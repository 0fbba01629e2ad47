"""Content multiplication: upload metadata, worksheets, thumbnails and a weekly lesson video.

Every output names its source channel and link. A recording that the ``rights`` resource does not
clear for publishing gets plans only (text, tables), never a published clip, image or video.
"""

import json

import dagster as dg
import pandas as pd

from ..ingestion.recording import timestamp_url
from ..publishing.clip_planner import clip_plans_from_frame
from ..publishing.content_source import PublishingRights, Source, expressions_from_frame
from ..publishing.upload_metadata import (
    build_upload_metadata,
    limit_problems,
    packages_from_frame,
    packages_to_frame,
    subjects_for,
)
from ..resources import AICoreResource
from ..resources.pipeline import PipelineResource
from .analysis import _ai_step
from .ingestion import recording_from_frame
from .partitions import recordings_partitions


@dg.asset(
    partitions_def=recordings_partitions,
    ins={"levelled": dg.AssetIn("difficulty"), "shorts": dg.AssetIn("shorts")},
    group_name="content",
    kinds={"pandas", "youtube", "openai", "gemini"},
    io_manager_key="parquet_io_manager",
    pool="openai",
    description="Upload-ready text per Short and per recording: YouTube title, description (expressions, "
    "original-stream timestamps, credit), tags and chapters; an X post and an Instagram caption. Written on the "
    "cheap tier (offline: templates); every platform limit is met.",
)
def upload_metadata(
    context: dg.AssetExecutionContext,
    levelled: pd.DataFrame,
    shorts: pd.DataFrame,
    transcripts: pd.DataFrame,
    recordings: pd.DataFrame,
    ai: AICoreResource,
    rights: PublishingRights,
) -> dg.Output[pd.DataFrame]:
    recording = recording_from_frame(recordings)
    clearance = rights.clearance(recording)
    duration = float(recording.duration_seconds or (transcripts["end"].max() if len(transcripts) else 0.0))
    subjects = subjects_for(
        Source.of(recording), shorts=clip_plans_from_frame(shorts) if len(shorts) else [],
        expressions=expressions_from_frame(levelled), transcript_lines=[str(t) for t in transcripts["text"]],
        duration=duration, url_for=lambda s: timestamp_url(recording, s),
    )
    with ai.meter() as meter:
        packages = _ai_step(lambda: build_upload_metadata(
            subjects, ai.run_task, duration=duration, timestamp_link=lambda s: timestamp_url(recording, s)))
    frame = packages_to_frame(packages, cleared=clearance.cleared)
    whole = next(p for p in packages if p.kind == "recording")
    return dg.Output(frame, metadata={
        "uploads": len(frame),
        "shorts": int((frame["kind"] == "short").sum()),
        "chapters": len(whole.chapters),
        "max_x_weighted_length": int(frame["x_weighted_length"].max()),
        "recording_title": whole.title,
        **clearance.metadata(),
        **meter.metadata(),
    })


@dg.asset_check(asset=upload_metadata, partitions_def=recordings_partitions,
                description="Every title, description, tag list, chapter list, X post (weighted count) and "
                "Instagram caption is within its platform's limit and credits the original channel.")
def upload_metadata_within_limits(upload_metadata: pd.DataFrame) -> dg.AssetCheckResult:
    problems = [p for package in packages_from_frame(upload_metadata) for p in limit_problems(package)]
    return dg.AssetCheckResult(passed=not problems, metadata={
        "problems": "\n".join(problems) or "none", "uploads_checked": len(upload_metadata),
        "x_weighted_lengths": json.dumps([int(n) for n in upload_metadata["x_weighted_length"]]),
    })
