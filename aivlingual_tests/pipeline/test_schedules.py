"""nightly_schedule: catch-up runs for unfinished recordings, then one stock refresh."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from aivlingual_assets.definitions import defs


def test_nightly_schedule_catches_up_unfinished_recordings_and_refreshes_the_stock(instance):
    instance.add_dynamic_partitions("recordings", ["file-aaaaaaaaaaaa", "yt-dQw4w9WgXcQ"])
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="shorts", partition="file-aaaaaaaaaaaa"))
    schedule = defs.resolve_schedule_def("nightly_schedule")
    context = dg.build_schedule_context(instance=instance, repository_def=defs.get_repository_def(),
                                        scheduled_execution_time=dt.datetime(2026, 11, 22, 3, tzinfo=dt.timezone.utc))
    requests = list(schedule.evaluate_tick(context).run_requests)
    per_recording = [r for r in requests if r.partition_key]
    assert [r.partition_key for r in per_recording] == ["yt-dQw4w9WgXcQ"]
    assert dg.AssetKey("transcripts") in per_recording[0].asset_selection
    stock = [r for r in requests if not r.partition_key]
    assert len(stock) == 1 and dg.AssetKey("vocabulary") in stock[0].asset_selection
    assert all(r.run_key.startswith("nightly-2026-11-22") for r in requests)
