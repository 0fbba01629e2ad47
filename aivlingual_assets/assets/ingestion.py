"""Ingestion: what each recording is, and its timed transcript."""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from ..channels import channel_store, recording_length_decision
from ..ingestion.errors import IngestionError
from ..ingestion.quality import known_duration, late_cues_warning, transcript_end
from ..ingestion.recording import Recording
from ..ingestion.segments import segments_to_frame
from ..ingestion.transcript_source import load_transcript
from ..ingestion.youtube import with_video_details
from ..resources import AICoreResource
from ..resources.pipeline import PipelineResource, YouTubeResource
from .catalogue import ai_metadata
from .checks import recording_check
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
    kinds={"python", "pandas", "youtube"},
    io_manager_key="parquet_io_manager",
    description="One row describing the recording: source, title, channel, duration, location, content hash. "
    "A YouTube video added by its id alone gets its real title from YouTube here, so every later step shows it.",
)
def recordings(
    context: dg.AssetExecutionContext, pipeline: PipelineResource, youtube: YouTubeResource
) -> dg.Output[pd.DataFrame]:
    recording = pipeline.registry().get(context.partition_key)
    if recording is None:
        raise dg.Failure(
            description=f"Partition {context.partition_key} is not in the recording registry. Add it with "
            "`aivlingual process PATH_OR_URL` or drop the file into the inbox; if the key was made up, remove it "
            f"with `aivlingual recordings remove {context.partition_key}` (the nightly schedule skips it meanwhile).",
            allow_retries=False,
        )
    try:
        learned = with_video_details(recording, http_client=youtube.session())
    except IngestionError as exc:  # the transcripts step meets the same answer and fails with it
        context.log.warning(f"YouTube told nothing about {recording.partition_key}, so it keeps the title "
                            f"{recording.title!r}: {exc}")
    else:
        if learned != recording:
            pipeline.registry().register(learned)
            recording = learned
    registry = pipeline.registry()
    length = recording_length_decision(recording.duration_seconds,
                                       channel_store(registry.engine).get(registry.channel_of(recording.partition_key)))
    if not length.run:  # refused before anything is paid for it
        raise dg.Failure(description=f"{recording.partition_key} is not processed: {length.reason}.",
                         allow_retries=False)
    frame = pd.DataFrame([recording.model_dump()], columns=_RECORDING_COLUMNS)
    metadata = {
        "source": recording.source,
        "title": recording.title,
        "channel": recording.channel or "",
        "language": recording.language,
        "content_hash": recording.content_hash or "",
    }
    duration = known_duration(recording.duration_seconds)
    if duration is not None:  # a YouTube id alone has no known length: say nothing rather than 0 s
        metadata["duration_seconds"] = duration
    if recording.url:
        metadata["url"] = dg.MetadataValue.url(recording.url)
    # not "path": the IO manager's key for where the frame is stored
    if recording.path:
        metadata["source_file"] = dg.MetadataValue.path(recording.path)
    if recording.subtitle_path:
        metadata["subtitle_file"] = dg.MetadataValue.path(recording.subtitle_path)
    if recording.warning:
        context.log.warning(recording.warning)
        metadata["warning"] = recording.warning
    return dg.Output(frame, metadata=metadata)


@dg.asset(
    partitions_def=recordings_partitions,
    group_name="ingestion",
    kinds={"pandas", "youtube", "openai", "gemini"},  # captions, or speech-to-text through the AI core
    io_manager_key="parquet_io_manager",
    pool="openai",
    description="Timed segments (start, end, text, speaker) from subtitles, YouTube captions or speech-to-text.",
    check_specs=[  # evaluated in this step (assets/checks.py)
        recording_check("transcript_not_empty", "transcripts", "A transcript with no segments teaches nothing.",
                        blocking=True),
        recording_check("transcript_times_valid", "transcripts",
                        "Segment times increase and stay within the recording.", also_reads=("recordings",)),
        recording_check("transcript_mostly_japanese", "transcripts",
                        "Mostly Japanese text (warns otherwise: wrong track or language)."),
    ],
)
def transcripts(
    context: dg.AssetExecutionContext,
    recordings: pd.DataFrame,
    ai: AICoreResource,
    youtube: YouTubeResource,
    pipeline: PipelineResource,
) -> Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult]:
    recording = recording_from_frame(recordings)
    with ai.meter() as meter:
        try:
            segments, info = load_transcript(  # speech-to-text with the channel's keys, provider and budget
                recording, transcriber=ai.for_recording(recording.partition_key), http_client=youtube.session(),
                work_dir=pipeline.work_dir()
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
    duration, duration_source = known_duration(recording.duration_seconds), "recording"
    learned = {k: info[k] for k in ("title", "channel", "duration_seconds") if info.get(k)}
    if recording.source == "youtube" and learned:  # YouTube's own answer fills what the id alone lacked
        pipeline.registry().register(recording.model_copy(update=learned))
        if duration is None and known_duration(learned.get("duration_seconds")) is not None:
            duration, duration_source = float(learned["duration_seconds"]), "youtube"
    late = late_cues_warning(frame["end"], duration)
    if late:
        context.log.warning(late)
    if duration is None:
        duration, duration_source = transcript_end(frame), "transcript (recording's length unknown)"
    yield dg.Output(
        frame,
        metadata={
            **({"warning": late} if late else {}),
            "segments": len(frame),
            "duration_covered_seconds": round(covered, 2),
            "duration_seconds": round(float(duration or 0.0), 2),
            "duration_source": duration_source,
            "characters": int(frame["text"].str.len().sum()),
            "language": str(info.get("language") or recording.language),
            "transcript_source": str(info.get("source")),
            "speakers": ", ".join(sorted(set(frame["speaker"].dropna()))) or "none",  # voices, diarisation
            **({"encoding": str(info["encoding"])} if info.get("encoding") else {}),
            **ai_metadata(meter),
            "preview": dg.MetadataValue.md(frame.head(8).to_markdown(index=False)),
        },
    )
    yield transcript_not_empty(frame)
    yield transcript_times_valid(frame, recordings, pipeline)
    yield transcript_mostly_japanese(frame)


def transcript_not_empty(transcripts: pd.DataFrame) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(check_name="transcript_not_empty", passed=len(transcripts) > 0,
                               metadata={"segments": len(transcripts)})


def transcript_times_valid(
    transcripts: pd.DataFrame, recordings: pd.DataFrame, pipeline: PipelineResource
) -> dg.AssetCheckResult:
    from ..ingestion.quality import timing_problems

    row = recordings.iloc[0]
    duration = known_duration(row.get("duration_seconds"))
    if duration is None:  # the transcripts asset may have learned it (YouTube's player response) since
        registered = pipeline.registry().get(str(row["partition_key"]))
        duration = known_duration(registered.duration_seconds) if registered is not None else None
    problems = timing_problems(transcripts, duration)
    within = (f"ends checked against the recording's {duration:.2f}s" if duration is not None
              else "the recording's duration is unknown: only the order of times was checked, not the end")
    return dg.AssetCheckResult(
        check_name="transcript_times_valid",
        passed=not problems,
        description=within,
        metadata={"problems": len(problems), "first_problems": "\n".join(problems[:5]) or "none",
                  "duration_known": duration is not None},
    )


def transcript_mostly_japanese(transcripts: pd.DataFrame) -> dg.AssetCheckResult:
    from ..ingestion.quality import MOSTLY_JAPANESE, has_letters, japanese_ratio

    texts = transcripts["text"].tolist()
    if not has_letters(texts):  # empty, or only ♪ and digits: transcript_not_empty owns that failure
        return dg.AssetCheckResult(check_name="transcript_mostly_japanese", passed=True,
                                   description="no words to measure the language of",
                                   metadata={"japanese_ratio": 0.0})
    ratio = japanese_ratio(texts)
    return dg.AssetCheckResult(
        check_name="transcript_mostly_japanese", passed=ratio >= MOSTLY_JAPANESE, severity=dg.AssetCheckSeverity.WARN,
        metadata={"japanese_ratio": round(ratio, 3)},
    )
