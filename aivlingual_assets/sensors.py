"""Sensors that turn new recordings (inbox files, channel uploads) into partitions and runs."""

import json
import time

import dagster as dg

from . import settings
from .assets.partitions import recordings_partitions
from .channels import channel_store
from .channels.assignment import inbox_channel
from .ingestion.channel_feed import fetch_channel_feed
from .ingestion.errors import FeedError, IngestionError
from .ingestion.inbox import defer, scan_inbox
from .ingestion.recording import recording_from_files, recording_from_youtube
from .jobs import recording_job
from .resources.pipeline import PipelineResource, YouTubeResource


# Every ready recording is hashed (SHA-256 of the whole media) and probed with ffmpeg inside the tick; on
# multi-GB streams a big drop would outlast Dagster's sensor timeout (60 s by default) and, as the cursor
# is only saved when a tick returns, the same files would be hashed again forever.  So a tick takes at most
# MAX_NEW_RECORDINGS_PER_TICK groups and stops starting new ones after TICK_BUDGET_SECONDS; the rest stay
# stable-but-unreported in the cursor and are the next ticks' ready groups (one tick every 30 s).
MAX_NEW_RECORDINGS_PER_TICK = 50
TICK_BUDGET_SECONDS = 30.0


def _new_recording_requests(context, pipeline: PipelineResource, recordings,
                            channels: dict[str, str | None] | None = None) -> tuple[list[str], list]:
    """Registers recordings (in ``channels[key]``'s channel) and returns (new partition keys, run requests)."""
    registry = pipeline.registry()
    existing = set(context.instance.get_dynamic_partitions(recordings_partitions.name))
    new_keys: list[str] = []
    for recording in recordings:
        key = recording.partition_key
        registry.register(recording, channel=(channels or {}).get(key))
        if key in existing or key in new_keys:
            continue
        new_keys.append(key)
    runs = [dg.RunRequest(partition_key=k, run_key=f"recording:{k}", tags={"aivlingual/trigger": "sensor"})
            for k in new_keys]
    return new_keys, runs


@dg.sensor(
    job=recording_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches AIVLINGUAL_INBOX; a file counts once its size stopped changing between two ticks. "
    f"At most {MAX_NEW_RECORDINGS_PER_TICK} new recordings per tick; a bigger drop is taken over the next ticks.",
)
def recordings_sensor(context: dg.SensorEvaluationContext, pipeline: PipelineResource) -> dg.SensorResult:
    observed = json.loads(context.cursor) if context.cursor else {}
    scan = scan_inbox(settings.inbox_dir(), previous=observed)
    for rel, reason in scan.ignored.items():
        context.log.info(f"ignoring {rel}: {reason}")
    recordings = []
    owners: dict[str, str | None] = {}  # a sub-folder named after a channel: its recordings are the channel's
    store = channel_store(pipeline.registry().engine)
    started = time.monotonic()
    taken = 0
    for group in scan.ready:
        if taken >= MAX_NEW_RECORDINGS_PER_TICK or (taken and time.monotonic() - started > TICK_BUDGET_SECONDS):
            break
        taken += 1
        try:
            recordings.append(recording_from_files(media=group.media, subtitle=group.subtitle))
        except (IngestionError, OSError) as exc:  # one bad file never stops the others
            context.log.error(f"cannot register {group.key}: {exc}")
            continue
        owners[recordings[-1].partition_key] = inbox_channel(group.key, store)
    observed = scan.observed
    if taken < len(scan.ready):
        observed = defer(observed, scan.ready[taken:])
        context.log.info(f"registered {taken} of {len(scan.ready)} ready recording(s); the rest on the next ticks")
    new_keys, runs = _new_recording_requests(context, pipeline, recordings, owners)
    if scan.pending:
        context.log.info(f"{len(scan.pending)} recording(s) still being written; waiting for their size to settle")
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=[recordings_partitions.build_add_request(new_keys)] if new_keys else [],
        cursor=json.dumps(observed, separators=(",", ":")),
    )


class ChannelsConfig(dg.ConfigurableResource):
    """YouTube channels to follow: ids (UC...) or feed URLs, from config or AIVLINGUAL_CHANNELS (comma-separated)."""

    channels: list[str] = []

    def resolved(self) -> list[str]:
        from_env = [c.strip() for c in (settings.env("AIVLINGUAL_CHANNELS") or "").split(",") if c.strip()]
        return list(dict.fromkeys([*self.channels, *from_env]))


@dg.sensor(
    job=recording_job,
    minimum_interval_seconds=900,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Polls the public upload feed of each followed channel (no API key).",
)
def youtube_channels_sensor(
    context: dg.SensorEvaluationContext, pipeline: PipelineResource, youtube: YouTubeResource,
    channels: ChannelsConfig,
) -> dg.SensorResult:
    seen: dict[str, list[str]] = json.loads(context.cursor) if context.cursor else {}
    recordings = []
    feed_owners = channel_store(pipeline.registry().engine).feed_owners()  # channels' own youtube_feed settings
    owners: dict[str, str | None] = {}
    for channel in dict.fromkeys([*channels.resolved(), *feed_owners]):
        try:
            entries = fetch_channel_feed(channel, session=youtube.session(), base_url=youtube.feed_base_url,
                                         timeout=youtube.timeout_seconds)
        except FeedError as exc:  # retried next tick, never fatal
            context.log.warning(f"feed of {channel} unavailable this tick: {exc}")
            continue
        known = set(seen.get(channel, []))
        for entry in entries:
            if entry.video_id in known:
                continue
            recordings.append(recording_from_youtube(entry.video_id, title=entry.title, channel=entry.channel_title))
            owners[recordings[-1].partition_key] = feed_owners.get(channel)
            known.add(entry.video_id)
        seen[channel] = sorted(known)[-500:] if len(known) > 500 else sorted(known)
    new_keys, runs = _new_recording_requests(context, pipeline, recordings, owners)
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=[recordings_partitions.build_add_request(new_keys)] if new_keys else [],
        cursor=json.dumps(seen, separators=(",", ":")),
    )
