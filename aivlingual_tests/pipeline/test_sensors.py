"""recordings_sensor: new files become one partition and one run, exactly once."""

from __future__ import annotations

import json
import shutil

import dagster as dg

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
