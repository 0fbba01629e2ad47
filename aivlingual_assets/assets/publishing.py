"""Publishing: Shorts per recording, the Anki deck and the Notion database from the stock."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd

from ..channels import channel_store, output_decision, stock_rows_for_output
from ..ingestion.recording import timestamp_url
from ..publishing.anki_deck import DeckReport
from ..publishing.anki_export import (
    TTS_REQUEST_TYPE,
    DeckPlan,
    ExampleSpeaker,
    deck_plans,
    example_audio_finder,
    export_deck,
    tts_available,
)
from ..publishing.clip_planner import clip_plans_to_frame
from ..publishing.content_source import PublishingRights
from ..publishing.shorts import build_shorts, plan_summary
from ..resources import AICoreResource
from ..resources.notion import NotionResource
from ..resources.pipeline import PipelineResource
from .analysis import _ai_step, difficulty, vocabulary
from .catalogue import ai_metadata
from .checks import recording_check
from .ingestion import recording_from_frame
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
    check_specs=[recording_check("shorts_playable", "shorts",  # evaluated in this step (assets/checks.py)
                                 "Clips lie within the recording, last 15-60 s, and cut files play back at 1080x1920 "
                                 "with the expected duration.", also_reads=("recordings",))],
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
) -> Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult]:
    recording = recording_from_frame(recordings)
    channel_ai = ai.for_recording(recording.partition_key)  # its channel's keys, models, budget and limits
    switch = output_decision("shorts", channel_ai.channel)
    if not switch.run:  # skipped, not failed
        context.log.info(switch.reason)
        none = clip_plans_to_frame([]).assign(clip_path=pd.Series([], dtype="object"),
                                              recording=pd.Series([], dtype="object"))
        yield dg.Output(none, metadata={"clips": 0, **switch.metadata()})
        yield shorts_playable(none, recordings)
        return
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
    yield dg.Output(frame, metadata=metadata)
    yield shorts_playable(frame, recordings)


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
    return dg.AssetCheckResult(check_name="shorts_playable", passed=not problems,
                               metadata={"problems": "\n".join(problems) or "none", "clips_checked": len(shorts)})


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
    from ..channels import resolve
    from ..channels.destinations import stock_destinations

    registry = pipeline.registry()
    store, owners = channel_store(registry.engine), registry.channels()

    def channel_of(key: str):
        return store.get(owners.get(key))

    destinations, switch = stock_destinations(  # each channel's own deck, the rest in the service's
        vocabulary.get("occurrences", pd.Series([], dtype="object")), "anki", "anki_deck_name", channel_of)
    if not switch.run:  # every row comes from channels with Anki switched off: skipped, not failed
        context.log.info(switch.reason)
        return dg.MaterializeResult(metadata={"notes": 0, **switch.metadata()})

    def media_for(key: str):
        rec = registry.get(key)
        return rec.path if rec is not None and rec.source == "file" else None

    decks: list[tuple[DeckPlan, DeckReport, str, ExampleSpeaker | None]] = []
    with ai.meter() as meter:
        for plan in deck_plans(vocabulary, destinations, resolve("anki_deck_name", None).value):
            speaker, tts = _deck_speaker(context, config, plan, ai, channel_of)
            audio_for = (example_audio_finder(media_for, pipeline.data_dir("anki_audio"), speaker)
                         if config.with_audio else None)
            report = export_deck(plan.stock, pipeline.data_dir("exports") / plan.file_name, audio_for,
                                 deck_name=plan.name)
            decks.append((plan, report, tts, speaker))
    _, first, tts, speaker = decks[0]  # the service's deck comes first
    metadata = {
        "path": dg.MetadataValue.path(first.path),
        "notes": sum(r.notes for _, r, _, _ in decks),
        "media_files": sum(r.media_files for _, r, _, _ in decks),
        "skipped": sum(len(r.skipped) for _, r, _, _ in decks),
        "missing_audio": sum(len(r.missing_audio) for _, r, _, _ in decks),
        "retired_notes": sum(r.retired for _, r, _, _ in decks),  # rows that left a deck: suspended, tagged
        "deck_id": str(first.deck_id),
        "tts": tts,
        **(speaker.metadata() if speaker is not None else {}),
        **ai_metadata(meter),
    }
    if len(decks) > 1:
        metadata["decks"] = dg.MetadataValue.md("\n".join(
            ["| deck | for | file | notes | tts |", "|---|---|---|---|---|"]
            + [f"| {p.name} | {p.label} | {Path(r.path).name} | {r.notes} | {t} |" for p, r, t, _ in decks]))
    return dg.MaterializeResult(metadata=metadata)


def _deck_speaker(context: dg.AssetExecutionContext, config: AnkiConfig, plan: DeckPlan, ai: AICoreResource,
                  channel_of) -> tuple[ExampleSpeaker | None, str]:
    """TTS for a deck's examples (as its channel when the deck is a channel's own) and what the metadata says."""
    if not config.with_audio:
        return None, "off: with_audio is false"
    tts_switch = stock_rows_for_output(plan.stock.get("occurrences", pd.Series([], dtype="object")), "tts",
                                       channel_of)[1]
    if not tts_switch.run:
        return None, f"off: {tts_switch.reason}"
    speaking = ai.for_channel(plan.owner) if plan.owner else ai  # a channel's deck: its key, voice and budget
    core = speaking.core
    if not tts_available(core):
        return None, "off: no speech model among the configured providers"
    return ExampleSpeaker(
        lambda text: speaking.generate_audio(text, language="ja", request_type=TTS_REQUEST_TYPE, endpoint="anki").path,
        logger=context.log, redact=core._redact), "on"


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
    from ..channels import ChannelError, KeyVault
    from ..channels.destinations import Destination, stock_destinations
    from ..publishing.notion_sync import preview_rows
    from ..publishing.notion_sync_targets import notion_targets, sync_targets
    from ..publishing.sync_store import SyncStore

    registry = pipeline.registry()
    store, owners = channel_store(registry.engine), registry.channels()
    destinations, switch = stock_destinations(  # each channel's own database, the rest to the service's
        vocabulary.get("occurrences", pd.Series([], dtype="object")), "notion", "notion_database",
        lambda key: store.get(owners.get(key)))
    if not switch.run:  # every row comes from channels with Notion switched off: skipped, not failed
        context.log.info(switch.reason)
        return dg.Output(preview_rows(vocabulary.iloc[0:0]), metadata={"sent": False, "rows": 0, **switch.metadata()})
    published = sorted({row for destination in destinations.values() for row in destination.rows})
    preview = preview_rows(vocabulary.iloc[published] if len(vocabulary) else vocabulary)
    vault = KeyVault(store)
    try:
        targets = notion_targets(vocabulary, destinations or {None: Destination(None)},  # an empty stock: the service's
                                 service_database=notion.target_database(),
                                 service_data_source=notion.target_data_source(),
                                 service_token=notion.resolved_token(),
                                 key_for=lambda channel: vault.get_key(channel, "notion"),
                                 own_databases={c.name: str(c.settings["notion_database"]).strip()
                                                for c in store.all().values() if c.settings.get("notion_database")})
    except ChannelError as exc:  # a channel's stored key that cannot be opened (no or another master key)
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    if not any(target.configured() for target in targets):
        return dg.Output(preview, metadata={
            "sent": False,
            "note": "Nothing was sent: set NOTION_TOKEN and NOTION_DATABASE_ID (or NOTION_DATA_SOURCE_ID) to publish. "
                    "This is the preview of what would be sent.",
            "rows": len(preview),
        })
    report = sync_targets(targets, client_for=notion.client_for, store=SyncStore(registry.engine), log=context.log)
    if report.errors:
        message = report.error_text()
        if not report.must_act():  # still failing after the rate limiter's retries (the client redacted it)
            message = (f"Notion failed: {message}. Pages already written are recorded; the next run goes on from "
                       "there.")
        raise dg.Failure(description=message, allow_retries=not report.must_act())
    metadata: dict = {**report.totals(), "sent": True, "rows": len(preview),
                      "databases": dg.MetadataValue.md(report.table())}
    if len(report.synced) == 1:
        ((_, synced),) = report.synced
        metadata.update({k: v for k, v in synced.as_metadata().items()
                         if isinstance(v, (int, float, str)) and v is not None})
        if synced.database_url:
            metadata["database"] = dg.MetadataValue.url(synced.database_url)
    if report.not_configured:
        metadata["note"] = ("Not sent (no Notion token or database): "
                            + ", ".join(f"{t.label} ({len(t.stock)} rows)" for t in report.not_configured))
    return dg.Output(preview, metadata=metadata)
