"""A YouTube video added by its id alone shows its real title from the first run on (issue 15 #21)."""

from __future__ import annotations

import logging

import dagster as dg
import pytest

from aivlingual_assets.assets import analysis, ingestion
from aivlingual_assets.definitions import build_resources
from aivlingual_assets.ingestion.errors import TranscriptUnavailableError
from aivlingual_assets.ingestion.recording import recording_from_youtube
from aivlingual_assets.ingestion.youtube import with_video_details
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_assets.storage.frame_store import FrameStore
from aivlingual_tests.ingestion.recorded_http import RecordedYouTubeResource, recorded_session

TITLE = "【雑談】まったりおしゃべり配信"  # videoDetails.title of player_MANUAL_ja01.json


def test_a_bare_id_learns_title_channel_and_length():
    session, adapter = recorded_session()
    learned = with_video_details(recording_from_youtube("MANUAL_ja01"), http_client=session)
    assert (learned.title, learned.channel, learned.duration_seconds) == (TITLE, "ここあ Ch.", 95.0)
    assert learned.partition_key == "yt-MANUAL_ja01" and len(adapter.fetched("/youtubei/v1/player")) == 1


def test_a_video_without_captions_still_has_its_title():
    session, _ = recorded_session()
    assert with_video_details(recording_from_youtube("NOCAPTIONS1"), http_client=session).title == "【歌枠】字幕なしの歌枠"


def test_a_known_title_costs_no_request_and_is_kept():
    session, adapter = recorded_session()
    from_feed = recording_from_youtube("MANUAL_ja01", title="the feed's title", channel="ここあ Ch.")
    assert with_video_details(from_feed, http_client=session) is from_feed
    assert adapter.requests == []


def test_a_gone_video_is_a_clear_error():
    session, _ = recorded_session()
    with pytest.raises(TranscriptUnavailableError, match="GONEVIDEO01"):
        with_video_details(recording_from_youtube("GONEVIDEO01"), http_client=session)


@pytest.mark.slow
def test_the_first_run_shows_the_real_title_in_recordings_transcripts_and_expressions(aiv_home):
    recording = recording_from_youtube("https://youtu.be/MANUAL_ja01")  # as `aivlingual process <URL>` adds it
    PipelineResource().registry().register(recording)
    key = recording.partition_key
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("recordings", [key])
        result = dg.materialize(
            [ingestion.recordings, ingestion.transcripts, analysis.expressions], partition_key=key,
            instance=instance, resources={**build_resources(), "youtube": RecordedYouTubeResource()},
        )
    assert result.success
    frames = FrameStore(aiv_home / "storage")
    assert frames.read("recordings", key)["title"].tolist() == [TITLE]
    assert result.asset_materializations_for_node("recordings")[0].metadata["title"].value == TITLE
    assert len(frames.read("transcripts", key)) > 0
    expressions = frames.read("expressions", key)
    assert len(expressions) > 0 and set(expressions["recording_title"]) == {TITLE}
    assert PipelineResource().registry().get(key).title == TITLE


def test_when_youtube_tells_nothing_the_recording_keeps_its_placeholder_and_says_why(aiv_home):
    recording = recording_from_youtube("GONEVIDEO01")
    PipelineResource().registry().register(recording)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("recordings", [recording.partition_key])
        result = dg.materialize([ingestion.recordings], partition_key=recording.partition_key, instance=instance,
                                resources={**build_resources(), "youtube": RecordedYouTubeResource()})
        warnings = [e.message for e in instance.all_logs(result.run_id) if e.level == logging.WARNING]
    assert result.success  # the transcripts step fails with the reason; the row itself is still right
    assert result.asset_materializations_for_node("recordings")[0].metadata["title"].value == "YouTube video GONEVIDEO01"
    assert any("YouTube told nothing about yt-GONEVIDEO01" in (message or "") for message in warnings)
