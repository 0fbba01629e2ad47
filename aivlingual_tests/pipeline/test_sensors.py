"""recordings_sensor: new files become one partition and one run, exactly once."""

from __future__ import annotations

import json
import shutil

import dagster as dg

from aivlingual_assets import sensors
from aivlingual_assets.definitions import defs
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_assets.sensors import recordings_sensor

from .conftest import EXAMPLES


def tick(instance, cursor=None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"pipeline": PipelineResource()},
                                      definitions=defs)
    result = recordings_sensor(context)
    # what the daemon does with the result: add the partitions
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def test_new_file_becomes_one_partition_and_one_run_once_its_size_settles(instance, aiv_home, monkeypatch):
    inbox = aiv_home / "inbox"
    inbox.mkdir()
    shutil.copy(EXAMPLES / "sample_stream.ja.srt", inbox / "stream.ja.srt")

    first = tick(instance)
    assert first.run_requests == [] and not first.dynamic_partitions_requests  # first sight: pending

    second = tick(instance, first.cursor)
    assert len(second.run_requests) == 1
    key = second.run_requests[0].partition_key
    assert key.startswith("file-") and instance.get_dynamic_partitions("recordings") == [key]
    assert second.run_requests[0].job_name in (None, "recording_job")

    third = tick(instance, second.cursor)
    assert third.run_requests == []
    # a restart loses the cursor: the partition already exists, so nothing is requested twice
    after_restart = tick(instance, None)
    again = tick(instance, after_restart.cursor)
    assert again.run_requests == []
    assert instance.get_dynamic_partitions("recordings") == [key]


def test_growing_file_waits_and_same_content_elsewhere_is_the_same_recording(instance, aiv_home):
    inbox = aiv_home / "inbox"
    inbox.mkdir()
    target = inbox / "growing.srt"
    content = (EXAMPLES / "sample_stream.ja.srt").read_bytes()
    target.write_bytes(content[:1000])
    cursor = tick(instance).cursor
    target.write_bytes(content)  # still being copied: size changed
    result = tick(instance, cursor)
    assert result.run_requests == []
    result = tick(instance, result.cursor)
    assert len(result.run_requests) == 1
    (inbox / "copy").mkdir()
    shutil.copy(target, inbox / "copy" / "renamed.srt")  # same content under another name
    cursor = tick(instance, result.cursor).cursor
    assert tick(instance, cursor).run_requests == []


def test_unsupported_and_partial_files_are_ignored(instance, aiv_home):
    inbox = aiv_home / "inbox"
    inbox.mkdir()
    (inbox / "notes.txt").write_text("hello")
    (inbox / "video.mp4.part").write_bytes(b"0" * 10)
    result = tick(instance, tick(instance).cursor)
    assert result.run_requests == []
    assert "notes.txt" in json.loads(result.cursor)


def drop_subtitles(inbox, count: int) -> set[str]:
    """``count`` subtitle-only recordings with distinct content (so distinct keys); returns their file names."""
    names = set()
    for i in range(count):
        name = f"drop{i:03d}.ja.srt"
        (inbox / name).write_text(f"1\n00:00:01,000 --> 00:00:02,500\nこんばんは{i}\n\n", encoding="utf-8")
        names.add(name)
    return names


def test_a_large_drop_is_registered_a_capped_batch_per_tick_none_twice_none_lost(instance, aiv_home):
    inbox = aiv_home / "inbox"
    inbox.mkdir()
    cap, extra = sensors.MAX_NEW_RECORDINGS_PER_TICK, 3
    drop_subtitles(inbox, cap + extra)
    first = tick(instance)
    assert first.run_requests == []  # first sight: all pending

    batch = tick(instance, first.cursor)
    assert len(batch.run_requests) == cap
    rest = tick(instance, batch.cursor)
    assert len(rest.run_requests) == extra
    done = tick(instance, rest.cursor)
    assert done.run_requests == []

    requested = [r.partition_key for r in batch.run_requests + rest.run_requests]
    assert len(set(requested)) == cap + extra  # none twice
    assert sorted(instance.get_dynamic_partitions("recordings")) == sorted(requested)  # none lost
    assert sorted(PipelineResource().registry().keys()) == sorted(requested)
    # a lost cursor re-observes everything, but what was requested is never requested again
    assert tick(instance, tick(instance, None).cursor).run_requests == []


def test_a_slow_tick_stops_starting_new_recordings_but_always_makes_progress(instance, aiv_home, monkeypatch):
    monkeypatch.setattr(sensors, "TICK_BUDGET_SECONDS", 0.0)  # every hash "took too long"
    inbox = aiv_home / "inbox"
    inbox.mkdir()
    drop_subtitles(inbox, 3)
    cursor = tick(instance).cursor
    seen = []
    for _ in range(3):
        result = tick(instance, cursor)
        assert len(result.run_requests) == 1
        seen.append(result.run_requests[0].partition_key)
        cursor = result.cursor
    assert tick(instance, cursor).run_requests == [] and len(set(seen)) == 3
