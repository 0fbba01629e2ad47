"""Ingestion through the assets: YouTube captions, speech-to-text for bare media, channel feeds, object storage."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from aivlingual_assets.assets import ingestion
from aivlingual_assets.definitions import build_resources, defs
from aivlingual_assets.ingestion.media import ffmpeg_exe
from aivlingual_assets.ingestion.recording import Recording, recording_from_path, recording_from_youtube
from aivlingual_assets.resources.parquet_io_manager import ParquetIOManager
from aivlingual_assets.resources.pipeline import PipelineResource, YouTubeResource
from aivlingual_assets.sensors import ChannelsConfig, youtube_channels_sensor
from aivlingual_assets.storage.frame_store import FrameStore
from aivlingual_tests.ingestion.recorded_http import RecordedYouTubeResource

FEED = Path(__file__).resolve().parents[1] / "ingestion" / "data" / "feeds" / "channel_feed.xml"


def materialize_ingestion(instance, key, **resource_overrides):
    resources = {**build_resources(), **resource_overrides}
    return dg.materialize([ingestion.recordings, ingestion.transcripts], partition_key=key, instance=instance,
                          resources=resources, raise_on_error=False)


def register(instance, recording) -> str:
    PipelineResource().registry().register(recording)
    instance.add_dynamic_partitions("recordings", [recording.partition_key])
    return recording.partition_key


def test_youtube_recording_prefers_the_manual_japanese_track(instance, aiv_home):
    key = register(instance, recording_from_youtube("https://youtu.be/MANUAL_ja01", title="manual"))
    result = materialize_ingestion(instance, key, youtube=RecordedYouTubeResource())
    assert result.success
    md = {k: v.value for k, v in result.asset_materializations_for_node("transcripts")[0].metadata.items()}
    assert md["transcript_source"] == "youtube-manual" and md["segments"] > 0


def materialize_with_times_check(instance, key, **resource_overrides):
    resources = {**build_resources(), **resource_overrides}
    return dg.materialize([ingestion.recordings, ingestion.transcripts],  # with the transcript's checks
                          partition_key=key, instance=instance, resources=resources)


def metadata_of(result, node: str) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node(node)[0].metadata.items()}


def times_check(result):
    return [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
            and e.event_specific_data.check_name == "transcript_times_valid"][0]


def test_bare_youtube_id_learns_title_channel_and_length_from_the_player_response(instance, aiv_home):
    key = register(instance, recording_from_youtube("MANUAL_ja01"))  # as `aivlingual process <id>` adds it
    result = materialize_with_times_check(instance, key, youtube=RecordedYouTubeResource())
    # the first run's recordings row already carries what YouTube says (issue 15 #21)
    assert metadata_of(result, "recordings")["title"] == "【雑談】まったりおしゃべり配信"
    assert metadata_of(result, "recordings")["duration_seconds"] == 95.0
    md = metadata_of(result, "transcripts")
    assert md["duration_seconds"] == 95.0 and md["duration_source"] == "recording"
    learned = PipelineResource().registry().get(key)
    assert (learned.title, learned.channel, learned.duration_seconds) == ("【雑談】まったりおしゃべり配信", "ここあ Ch.", 95.0)
    check = times_check(result)
    assert check.passed and check.metadata["duration_known"].value is True  # checked against YouTube's 95 s
    again = materialize_with_times_check(instance, key, youtube=RecordedYouTubeResource())
    assert metadata_of(again, "recordings")["title"] == "【雑談】まったりおしゃべり配信"


def test_unknown_length_is_reported_from_the_transcript_and_the_check_says_so(instance, aiv_home, sample_copy):
    subtitle = sample_copy / "sample_stream.ja.srt"
    key = register(instance, Recording(partition_key="file-000000000001", source="file", title="no length known",
                                       subtitle_path=str(subtitle)))
    result = materialize_with_times_check(instance, key)
    transcript = FrameStore(aiv_home / "storage").read("transcripts", key)
    md = metadata_of(result, "transcripts")
    assert md["duration_seconds"] == round(float(transcript["end"].max()), 2)
    assert md["duration_source"].startswith("transcript")
    check = times_check(result)
    assert check.passed and check.metadata["duration_known"].value is False
    assert "duration is unknown" in check.description


def test_private_or_gone_video_fails_that_recording_with_what_to_do(instance, aiv_home):
    key = register(instance, recording_from_youtube("GONEVIDEO01"))
    result = materialize_ingestion(instance, key, youtube=RecordedYouTubeResource())
    assert not result.success
    failure = [e for e in result.all_events if e.is_step_failure][0]
    text = failure.step_failure_data.user_failure_data.description
    assert "GONEVIDEO01" in text


def _tone_video(path: Path, seconds: int = 6) -> Path:
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc=size=64x36:rate=2",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000", "-t", str(seconds),
                    "-c:v", "libx264", "-c:a", "aac", "-shortest", str(path)], check=True)
    return path


def test_media_without_subtitles_is_transcribed_once_and_cached(instance, aiv_home, provider_server, monkeypatch,
                                                                tmp_path):
    monkeypatch.delenv("GEMINI_API_KEY")
    provider_server.set_responder("openai.transcriptions", lambda req: [(0.0, 2.5, "推しが尊い"), (2.5, 5.0, "草")])
    key = register(instance, recording_from_path(_tone_video(tmp_path / "bare.mp4")))
    assert materialize_ingestion(instance, key).success
    transcript = FrameStore(aiv_home / "storage").read("transcripts", key)
    assert transcript["text"].tolist() == ["推しが尊い", "草"]
    assert materialize_ingestion(instance, key).success
    assert provider_server.count("openai.transcriptions") == 1  # the rerun hit the audio-hash cache


def test_media_without_subtitles_and_no_provider_says_which_key_to_set(instance, aiv_home, tmp_path):
    key = register(instance, recording_from_path(_tone_video(tmp_path / "bare.mp4")))
    result = materialize_ingestion(instance, key)
    assert not result.success
    text = [e for e in result.all_events if e.is_step_failure][0].step_failure_data.user_failure_data.description
    assert "OPENAI_API_KEY" in text


def test_dataframes_can_live_in_object_storage(instance, aiv_home, sample_copy):
    """Any fsspec URL works; memory:// stands in for s3:// and gs:// here."""
    key = register(instance, recording_from_path(sample_copy / "sample_stream.ja.srt"))
    result = materialize_ingestion(instance, key, parquet_io_manager=ParquetIOManager(base_url="memory://aiv-test"))
    assert result.success
    frame = FrameStore("memory://aiv-test").read("transcripts", key)
    assert len(frame) > 50 and not (aiv_home / "storage").exists()


class _FeedHandler(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802
        body = FEED.read_bytes() if self.status == 200 else b"down"
        self.send_response(self.status)
        self.send_header("Content-Type", "application/atom+xml")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def feed_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FeedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    _FeedHandler.status = 200


def test_channel_sensor_requests_each_new_upload_once_and_survives_feed_errors(instance, aiv_home, feed_server):
    base = f"http://127.0.0.1:{feed_server.server_address[1]}"
    resources = {"pipeline": PipelineResource(), "youtube": YouTubeResource(feed_base_url=base),
                 "channels": ChannelsConfig(channels=["UCabcdefghijklmnopqrstuv"])}

    def tick(cursor=None):
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs)
        result = youtube_channels_sensor(context)
        for request in result.dynamic_partitions_requests or []:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        return result

    first = tick()
    assert first.run_requests and all(r.partition_key.startswith("yt-") for r in first.run_requests)
    assert tick(first.cursor).run_requests == []
    _FeedHandler.status = 500
    down = tick(first.cursor)  # logged, not fatal
    assert down.run_requests == []
    _FeedHandler.status = 200
    assert tick(None).run_requests == []  # a lost cursor never re-requests known videos
