"""Ingestion: what each recording is, and its timed transcript."""


import dagster as dg
import pandas as pd

from ..ingestion.errors import IngestionError
from ..ingestion.recording import Recording
from ..ingestion.segments import segments_to_frame
from ..ingestion.transcript_source import load_transcript
from ..resources import AICoreResource
from ..resources.pipeline import PipelineResource, YouTubeResource
from .partitions import recordings_partitions

_RECORDING_COLUMNS = list(Recording.model_fields)


def recording_from_frame(frame: pd.DataFrame) -> Recording:
    row = frame.iloc[0].to_dict()
    return Recording.model_validate({k: None if _missing(v) else v for k, v in row.items()})


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


@dg.asset(
    partitions_def=recordings_partitions,
    group_name="ingestion",
    kinds={"python", "pandas"},
    io_manager_key="parquet_io_manager",
    description="One row describing the recording: source, title, channel, duration, location, content hash.",
)
def recordings(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.Output[pd.DataFrame]:
    recording = pipeline.registry().get(context.partition_key)
    if recording is None:
        raise dg.Failure(
            description=f"Partition {context.partition_key} is not in the recording registry. Add it with "
            "`aivlingual process PATH_OR_URL` or drop the file into the inbox.",
            allow_retries=False,
        )
    frame = pd.DataFrame([recording.model_dump()], columns=_RECORDING_COLUMNS)
    metadata = {
        "source": recording.source,
        "title": recording.title,
        "channel": recording.channel or "",
        "language": recording.language,
        "duration_seconds": float(recording.duration_seconds or 0.0),
        "content_hash": recording.content_hash or "",
    }
    if recording.url:
        metadata["url"] = dg.MetadataValue.url(recording.url)
    if recording.path or recording.subtitle_path:
        metadata["path"] = dg.MetadataValue.path(recording.path or recording.subtitle_path)
    return dg.Output(frame, metadata=metadata)


@dg.asset(
    partitions_def=recordings_partitions,
    group_name="ingestion",
    kinds={"pandas", "youtube"},
    io_manager_key="parquet_io_manager",
    pool="openai",
    description="Timed segments (start, end, text, speaker) from subtitles, YouTube captions or speech-to-text.",
)
def transcripts(
    context: dg.AssetExecutionContext,
    recordings: pd.DataFrame,
    ai: AICoreResource,
    youtube: YouTubeResource,
    pipeline: PipelineResource,
) -> dg.Output[pd.DataFrame]:
    recording = recording_from_frame(recordings)
    with ai.meter() as meter:
        try:
            segments, info = load_transcript(
                recording, transcriber=ai, http_client=youtube.session(), work_dir=pipeline.work_dir()
            )
        except IngestionError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        except Exception as exc:
            from ..ai.errors import AIError

            if isinstance(exc, AIError):
                raise dg.Failure(description=str(exc), allow_retries=False) from exc
            raise
    if not segments:
        raise dg.Failure(
            description=f"The transcript of {recording.partition_key} is empty: nothing was said in a readable "
            "track. Add a subtitle file next to the media or check the audio.",
            allow_retries=False,
        )
    frame = segments_to_frame(segments)
    covered = float(frame["end"].max() - frame["start"].min())
    return dg.Output(
        frame,
        metadata={
            "segments": len(frame),
            "duration_covered_seconds": round(covered, 2),
            "characters": int(frame["text"].str.len().sum()),
            "language": str(info.get("language") or recording.language),
            "transcript_source": str(info.get("source")),
            **meter.metadata(),
            "preview": dg.MetadataValue.md(frame.head(8).to_markdown(index=False)),
        },
    )


@dg.asset_check(asset=transcripts, partitions_def=recordings_partitions,
                description="A transcript with no segments teaches nothing.", blocking=True)
def transcript_not_empty(transcripts: pd.DataFrame) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=len(transcripts) > 0, metadata={"segments": len(transcripts)})


@dg.asset_check(asset=transcripts, partitions_def=recordings_partitions,
                description="Segment times increase and stay within the recording.",
                additional_ins={"recordings": dg.AssetIn("recordings")})
def transcript_times_valid(transcripts: pd.DataFrame, recordings: pd.DataFrame) -> dg.AssetCheckResult:
    from ..ingestion.quality import timing_problems

    duration = recordings.iloc[0].get("duration_seconds")
    problems = timing_problems(transcripts, None if pd.isna(duration) else float(duration))
    return dg.AssetCheckResult(passed=not problems, metadata={"problems": len(problems),
                                                              "first_problems": "\n".join(problems[:5]) or "none"})


@dg.asset_check(asset=transcripts, partitions_def=recordings_partitions,
                description="Mostly Japanese text (warns otherwise: wrong track or language).")
def transcript_mostly_japanese(transcripts: pd.DataFrame) -> dg.AssetCheckResult:
    from ..ingestion.quality import japanese_ratio

    ratio = japanese_ratio(transcripts["text"].tolist())
    return dg.AssetCheckResult(
        passed=ratio >= 0.5, severity=dg.AssetCheckSeverity.WARN, metadata={"japanese_ratio": round(ratio, 3)}
    )
