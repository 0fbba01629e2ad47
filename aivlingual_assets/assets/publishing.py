"""Publishing: Shorts per recording, the Anki deck and the Notion database from the stock."""

import dagster as dg
import pandas as pd

from ..ingestion.recording import timestamp_url
from ..publishing.anki_export import TTS_REQUEST_TYPE, ExampleSpeaker, example_audio_finder, export_deck, tts_available
from ..publishing.content_source import PublishingRights
from ..channels import channel_store, output_decision, stock_rows_for_output
from ..publishing.clip_planner import clip_plans_to_frame
from ..publishing.shorts import build_shorts, plan_summary
from ..resources import AICoreResource
from ..resources.notion import NotionResource
from ..resources.pipeline import PipelineResource
from .analysis import _ai_step, difficulty, vocabulary
from .ingestion import recording_from_frame
from .catalogue import ai_metadata
from .partitions import recordings_partitions

MIN_CLIP_SECONDS, MAX_CLIP_SECONDS = 15.0, 60.0


class ShortsConfig(dg.Config):
    cut_clips: bool = True  # False: plans only (for local media too)


@dg.asset(
    partitions_def=recordings_partitions,
    ins={"levelled": dg.AssetIn(difficulty.key)},
    group_name="publishing",
    kinds={"pandas", "youtube", "ffmpeg", "openai", "gemini"},
    io_manager_key="parquet_io_manager",
    pool="openai",
    description="3-5 Shorts of 15-60 s per recording chosen by expression density, level variety and sentence "
    "boundaries, with Japanese/English copy; local media is cut into vertical 1080x1920 clips with subtitles.",
)
def shorts(
    context: dg.AssetExecutionContext,
    config: ShortsConfig,
    levelled: pd.DataFrame,
    transcripts: pd.DataFrame,
    recordings: pd.DataFrame,
    ai: AICoreResource,
    pipeline: PipelineResource,
    rights: PublishingRights,
) -> dg.Output[pd.DataFrame]:
    recording = recording_from_frame(recordings)
    channel_ai = ai.for_recording(recording.partition_key)  # its channel's keys, models, budget and limits
    switch = output_decision("shorts", channel_ai.channel)
    if not switch.run:  # skipped, not failed
        context.log.info(switch.reason)
        none = clip_plans_to_frame([]).assign(clip_path=pd.Series([], dtype="object"),
                                              recording=pd.Series([], dtype="object"))
        return dg.Output(none, metadata={"clips": 0, **switch.metadata()})
    clearance = rights.clearance(recording)  # not cleared for publishing: plans only, no clip is cut
    duration = float(recording.duration_seconds or (transcripts["end"].max() if len(transcripts) else 0.0))
    media = recording.path if recording.source == "file" else None
    with ai.meter() as meter:
        frame, reason = _ai_step(lambda: build_shorts(
            recording=recording.partition_key, transcript=transcripts, expressions=levelled,
            duration_seconds=duration, generate=channel_ai.generate_text, media_path=media,
            out_dir=pipeline.data_dir("shorts") / recording.partition_key,
            url_for=lambda s: timestamp_url(recording, s), cut=config.cut_clips and clearance.cleared,
        ))
    metadata = {
        "clips": len(frame),
        "clips_cut": int(frame["clip_path"].notna().sum()) if len(frame) else 0,
        "total_seconds": round(float((frame["end"] - frame["start"]).sum()), 1) if len(frame) else 0.0,
        **ai_metadata(meter),
        **clearance.metadata(),
    }
    if reason:
        metadata["note"] = reason
    if len(frame):
        metadata["plans"] = dg.MetadataValue.md(plan_summary(frame))
    return dg.Output(frame, metadata=metadata)


@dg.asset_check(asset=shorts, partitions_def=recordings_partitions,
                description="Clips lie within the recording, last 15-60 s, and cut files play "
                "back at 1080x1920 with the expected duration.", additional_ins={"recordings": dg.AssetIn("recordings")})
def shorts_playable(shorts: pd.DataFrame, recordings: pd.DataFrame) -> dg.AssetCheckResult:
    from ..publishing.media_check import verify_clip

    duration = recordings.iloc[0].get("duration_seconds")
    problems: list[str] = []
    for row in shorts.itertuples():
        length = row.end - row.start
        if row.start < 0 or (duration and not pd.isna(duration) and row.end > float(duration) + 0.5):
            problems.append(f"clip {row.index} lies outside the recording ({row.start:.1f}-{row.end:.1f}s)")
        if not MIN_CLIP_SECONDS - 0.01 <= length <= MAX_CLIP_SECONDS + 0.01:
            problems.append(f"clip {row.index} lasts {length:.1f}s")
        if isinstance(row.clip_path, str):
            problems += [f"clip {row.index}: {p}" for p in verify_clip(row.clip_path, length, decode=False)]
    return dg.AssetCheckResult(passed=not problems, metadata={"problems": "\n".join(problems) or "none",
                                                              "clips_checked": len(shorts)})


def _published_rows(vocabulary: pd.DataFrame, output: str, pipeline: PipelineResource):
    """The stock rows ``output`` publishes (per the switches of their recordings' channels) and its decision."""
    registry = pipeline.registry()
    store = channel_store(registry.engine)
    owners = registry.channels()
    keep, decision = stock_rows_for_output(vocabulary.get("occurrences", pd.Series([], dtype="object")), output,
                                           lambda key: store.get(owners.get(key)))
    return (vocabulary[keep] if len(vocabulary) else vocabulary), decision


class AnkiConfig(dg.Config):
    with_audio: bool = True  # the example line cut from local media (or TTS when the AI core has a speech model)


@dg.asset(
    ins={"vocabulary": dg.AssetIn(vocabulary.key)},
    group_name="publishing",
    kinds={"anki", "openai"},  # TTS: only OpenAI has a speech model in the catalogue
    pool="openai",
    description="The vocabulary stock as an Anki package: expression, reading, meaning, example with audio, "
    "level as a tag. Stable note ids, so re-importing updates cards instead of duplicating them.",
)
def anki_deck(
    context: dg.AssetExecutionContext, config: AnkiConfig, vocabulary: pd.DataFrame, ai: AICoreResource,
    pipeline: PipelineResource,
) -> dg.MaterializeResult:
    registry = pipeline.registry()
    vocabulary, switch = _published_rows(vocabulary, "anki", pipeline)
    if not switch.run:  # every row comes from channels with Anki switched off: skipped, not failed
        context.log.info(switch.reason)
        return dg.MaterializeResult(metadata={"notes": 0, **switch.metadata()})

    def media_for(key: str):
        rec = registry.get(key)
        return rec.path if rec is not None and rec.source == "file" else None

    speaker, tts = None, "off: with_audio is false"
    tts_switch = _published_rows(vocabulary, "tts", pipeline)[1]
    if config.with_audio and not tts_switch.run:
        tts = f"off: {tts_switch.reason}"
    elif config.with_audio:
        tts = "off: no speech model among the configured providers"
        if tts_available(ai.core):
            tts = "on"
            speaker = ExampleSpeaker(
                lambda text: ai.generate_audio(text, language="ja", request_type=TTS_REQUEST_TYPE,
                                               endpoint="anki").path,
                logger=context.log, redact=ai.core._redact)

    audio_for = example_audio_finder(media_for, pipeline.data_dir("anki_audio"), speaker) if config.with_audio else None
    out = pipeline.data_dir("exports") / "aivlingual.apkg"
    with ai.meter() as meter:
        report = export_deck(vocabulary, out, audio_for)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(report.path),
            "notes": report.notes,
            "media_files": report.media_files,
            "skipped": len(report.skipped),
            "missing_audio": len(report.missing_audio),
            "retired_notes": report.retired,  # rows that left the stock: suspended, tagged aivlingual::removed
            "deck_id": str(report.deck_id),
            "tts": tts,
            **(speaker.metadata() if speaker is not None else {}),
            **ai_metadata(meter),
        }
    )


@dg.asset(
    ins={"vocabulary": dg.AssetIn(vocabulary.key)},
    group_name="publishing",
    kinds={"notion"},
    pool="notion",
    io_manager_key="parquet_io_manager",
    description="The vocabulary stock as a public Notion database: one page per expression, ever. Only changed rows "
    "are written; without a token it materialises the preview of what it would send.",
)
def notion_entries(
    context: dg.AssetExecutionContext, vocabulary: pd.DataFrame, notion: NotionResource, pipeline: PipelineResource
) -> dg.Output[pd.DataFrame]:
    from notion_client.errors import HTTPResponseError

    from ..publishing.notion_api import describe_error
    from ..publishing.notion_schema import NotionAccessError, NotionSchemaError, resolve_data_source_id
    from ..publishing.notion_sync import preview_rows, sync_vocabulary
    from ..publishing.sync_store import SyncStore

    vocabulary, switch = _published_rows(vocabulary, "notion", pipeline)
    if not switch.run:  # every row comes from channels with Notion switched off: skipped, not failed
        context.log.info(switch.reason)
        return dg.Output(preview_rows(vocabulary), metadata={"sent": False, "rows": 0, **switch.metadata()})
    preview = preview_rows(vocabulary)
    if not notion.configured():
        return dg.Output(preview, metadata={
            "sent": False,
            "note": "Nothing was sent: set NOTION_TOKEN and NOTION_DATABASE_ID (or NOTION_DATA_SOURCE_ID) to publish. "
                    "This is the preview of what would be sent.",
            "rows": len(preview),
        })
    client = notion.client()
    try:
        data_source = resolve_data_source_id(client, database_id=notion.target_database(),
                                             data_source_id=notion.target_data_source())
        report = sync_vocabulary(vocabulary, client=client, data_source_id=data_source,
                                 store=SyncStore(pipeline.registry().engine), log=context.log)
    except (NotionAccessError, NotionSchemaError) as exc:  # 401/403/404 and schema: the user must act
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    except HTTPResponseError as exc:  # still failing after the rate limiter's retries (the client redacted it)
        raise dg.Failure(description=f"Notion failed: {describe_error(exc)}. Pages already written are recorded; "
                                     "the next run goes on from there.") from exc
    metadata = {k: v for k, v in report.as_metadata().items() if isinstance(v, (int, float, str)) and v is not None}
    metadata["sent"] = True
    if report.database_url:
        metadata["database"] = dg.MetadataValue.url(report.database_url)
    if report.failed:
        context.log.warning(f"{report.failed} row(s) failed to sync; they are retried on the next run")
    return dg.Output(preview, metadata=metadata)
