"""``aivlingual process``: register recordings, materialise their assets, refresh the stock, summarise."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from .. import settings
from .instance import get_instance
from .outcome import QUIET_RUN_CONFIG, failure_lines, first_line, run_summary


def resolve_recording(arg: str):
    """A path (media or subtitle file) or a YouTube URL/id -> Recording."""
    from ..ingestion.recording import recording_from_source

    return recording_from_source(arg)


def cmd_process(args: argparse.Namespace) -> int:
    from ..definitions import defs
    from ..storage.recording_registry import RecordingRegistry

    instance = get_instance()
    registry = RecordingRegistry(settings.database_url())
    recording_job = defs.resolve_job_def("recording_job")
    totals = {"recordings": 0, "failed": 0, "stock_failed": 0, "segments": 0, "expressions": 0, "api_calls": 0,
              "cache_hits": 0, "cost_usd": 0.0}
    print(f"Dagster instance: {os.environ['DAGSTER_HOME']}")
    for arg in args.sources:
        try:
            recording = resolve_recording(arg)
        except Exception as exc:  # one bad input fails only itself
            print(f"✗ {arg}: {first_line(str(exc))}")
            totals["failed"] += 1
            continue
        registry.register(recording)
        if not instance.has_dynamic_partition("recordings", recording.partition_key):
            instance.add_dynamic_partitions("recordings", [recording.partition_key])
        print(f"→ {recording.partition_key}  {recording.title}  ({recording.source})")
        started = time.perf_counter()
        result = recording_job.execute_in_process(
            instance=instance, partition_key=recording.partition_key, raise_on_error=False,
            tags={"aivlingual/trigger": "cli"}, run_config=QUIET_RUN_CONFIG,
        )
        summary = run_summary(result)
        _add_ai(totals, summary)
        seconds = time.perf_counter() - started
        if result.success:
            totals["recordings"] += 1
            segments = summary.get("transcripts", {}).get("segments", 0)
            expressions = summary.get("expressions", {}).get("expressions", 0)
            totals["segments"] += int(segments or 0)
            totals["expressions"] += int(expressions or 0)
            steps = ", ".join(summary)
            print(f"  ✓ {seconds:.1f}s  materialised: {steps}")
        else:
            totals["failed"] += 1
            for line in failure_lines(result):
                print(f"  ✗ {line}")
    stock = "not refreshed (--skip-stock)" if args.skip_stock else "not refreshed (no recording was analysed)"
    if totals["recordings"] and not args.skip_stock:  # a stock run with nothing new would only re-publish
        print("→ vocabulary stock and publications")
        result = defs.resolve_job_def("stock_job").execute_in_process(
            instance=instance, raise_on_error=False, tags={"aivlingual/trigger": "cli"}, run_config=QUIET_RUN_CONFIG)
        summary = run_summary(result)
        _add_ai(totals, summary)
        if result.success:
            rows = summary.get("vocabulary", {}).get("rows")
            stock = "refreshed"
            print(f"  ✓ materialised: {', '.join(summary)}" + (f" (vocabulary: {rows} expressions)" if rows else ""))
        else:
            stock, totals["stock_failed"] = "refresh failed", 1
            for line in failure_lines(result):
                print(f"  ✗ {line}")
    print(
        f"\nSummary: {totals['recordings']} recording(s) processed, {totals['failed']} failed, stock {stock}; "
        f"{totals['segments']} segments, {totals['expressions']} expressions; "
        f"AI: {totals['api_calls']} calls, {totals['cache_hits']} cache hits, ${totals['cost_usd']:.4f}"
    )
    print(f"See runs and lineage: DAGSTER_HOME={os.environ['DAGSTER_HOME']} dagster dev  (or: aivlingual ui)")
    return 0 if totals["failed"] == 0 and not totals["stock_failed"] else 1


def _add_ai(totals: dict[str, Any], summary: dict[str, Any]) -> None:
    for md in summary.values():
        totals["api_calls"] += int(md.get("ai/api_calls", 0) or 0)
        totals["cache_hits"] += int(md.get("ai/cache_hits", 0) or 0)
        totals["cost_usd"] += float(md.get("ai/cost_usd", 0.0) or 0.0)
