"""Recordings belong to a channel: an inbox sub-folder named after it, its YouTube feed, or `process --channel`."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from aivlingual_assets.channels import channel_store
from aivlingual_assets.definitions import defs
from aivlingual_assets.resources.pipeline import PipelineResource, YouTubeResource
from aivlingual_assets.sensors import (
    ChannelsConfig,
    recordings_sensor,
    youtube_channels_sensor,
)
from aivlingual_assets.settings import database_url
from aivlingual_assets.storage.recording_registry import RecordingRegistry
from aivlingual_tests.pipeline.conftest import instance  # noqa: F401  (fixture)
from aivlingual_tests.pipeline.test_ingestion_sources import feed_server  # noqa: F401  (fixture)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _tick(sensor, instance, resources, cursor=None):  # noqa: F811
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs)
    result = sensor(context)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def test_a_file_dropped_in_a_channels_inbox_folder_belongs_to_that_channel(instance, aiv_home):  # noqa: F811
    channel_store(database_url()).add("pekora")
    inbox = aiv_home / "inbox"
    for folder in ("pekora", "misc"):  # "misc" names no channel: only a way to sort drops
        (inbox / folder).mkdir(parents=True)
    shutil.copy(EXAMPLES / "sample_stream.ja.srt", inbox / "pekora" / "a.ja.srt")
    (inbox / "misc" / "b.ja.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nこんにちは\n", encoding="utf-8")
    resources = {"pipeline": PipelineResource()}
    cursor = _tick(recordings_sensor, instance, resources).cursor
    result = _tick(recordings_sensor, instance, resources, cursor)
    registry = RecordingRegistry(database_url())
    owners = {registry.get(r.partition_key).subtitle_path.split("/")[-2]: registry.channel_of(r.partition_key)
              for r in result.run_requests}
    assert owners == {"pekora": "pekora", "misc": None}


def test_uploads_of_a_channels_youtube_feed_belong_to_it(instance, aiv_home, feed_server):  # noqa: F811
    base = f"http://127.0.0.1:{feed_server.server_address[1]}"
    channel_store(database_url()).add("pekora", {"youtube_feed": "UCabcdefghijklmnopqrstuv"})
    resources = {"pipeline": PipelineResource(), "youtube": YouTubeResource(feed_base_url=base),
                 "channels": ChannelsConfig(channels=[])}  # followed because the channel names its feed
    result = _tick(youtube_channels_sensor, instance, resources)
    registry = RecordingRegistry(database_url())
    assert result.run_requests
    assert {registry.channel_of(r.partition_key) for r in result.run_requests} == {"pekora"}


def test_process_refuses_an_unknown_channel_before_registering_anything(aiv_home, capsys):
    from aivlingual_assets.cli import main

    assert main(["process", "--channel", "nobody", str(EXAMPLES / "sample_stream.ja.srt")]) == 2
    assert "No channel named 'nobody'" in capsys.readouterr().out
    assert RecordingRegistry(database_url()).keys() == []


def test_a_re_registration_keeps_the_channel_unless_another_is_given(database_url):
    from aivlingual_assets.ingestion.recording import Recording

    registry = RecordingRegistry(database_url)
    recording = Recording(partition_key="yt-abcdefghijk", source="youtube", title="t")
    registry.register(recording, channel="pekora")
    registry.register(recording)  # a bare re-add (the nightly catch-up, a sensor) keeps it
    assert registry.channel_of("yt-abcdefghijk") == "pekora"
    registry.register(recording, channel="marine")
    assert registry.channel_of("yt-abcdefghijk") == "marine"


def test_a_registry_made_before_channels_gets_the_column(aiv_home):
    import sqlalchemy as sa

    url = f"sqlite:///{aiv_home / 'old.sqlite3'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE aiv_recordings (partition_key VARCHAR(100) PRIMARY KEY, source VARCHAR(20) "
                             "NOT NULL, spec TEXT NOT NULL, registered_at FLOAT NOT NULL, updated_at FLOAT NOT NULL)"))
        conn.execute(sa.text("INSERT INTO aiv_recordings VALUES ('file-000000000000', 'file', '{}', 0, 0)"))
    engine.dispose()
    registry = RecordingRegistry(url)
    assert registry.channel_of("file-000000000000") is None and registry.keys() == ["file-000000000000"]


def test_recordings_list_shows_each_recordings_channel(aiv_home, tmp_path, monkeypatch, capsys):
    import json

    from aivlingual_assets.cli import main
    from aivlingual_assets.ingestion.recording import Recording

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    registry = RecordingRegistry(database_url())
    registry.register(Recording(partition_key="yt-abcdefghijk", source="youtube", title="Pekora's stream"),
                      channel="pekora")
    registry.register(Recording(partition_key="yt-bbbbbbbbbbb", source="youtube", title="A stream of no one"))
    assert main(["recordings", "list"]) == 0
    listed = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    assert listed["yt-abcdefghijk"][3] == "pekora" and listed["yt-bbbbbbbbbbb"][3:5] == ["(no", "channel)"]
    assert main(["recordings", "list", "--json"]) == 0
    rows = {row["key"]: row["channel"] for row in json.loads(capsys.readouterr().out)}
    assert rows == {"yt-abcdefghijk": "pekora", "yt-bbbbbbbbbbb": None}
