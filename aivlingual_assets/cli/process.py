"""``aivlingual process``: register recordings, materialise their assets, refresh the stock, summarise."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from .. import settings
from .instance import _QUIET, get_instance


def resolve_recording(arg: str):
    """A path (media or subtitle file) or a YouTube URL/id -> Recording."""
    from ..ingestion.recording import recording_from_source

    return recording_from_source(arg)


def _run_summary(result) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        md = {k: v.value for k, v in mat.metadata.items()}
        key = mat.asset_key.to_user_string()
        summary[key] = md
    return summary


def _failure_messages(result) -> list[str]:
    messages = []
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            text = data.user_failure_data.description if data.user_failure_data else None
            if not text and data.error is not None:
                text = data.error.message.strip().splitlines()[-1] if data.error.message else str(data.error)
                cause = data.error.cause
                while cause is not None:
                    text = cause.message.strip().splitlines()[-1]
                    cause = cause.cause
            messages.append(f"{event.step_key}: {text}")
    return messages


def cmd_process(args: argparse.Namespace) -> int:
    from ..definitions import defs
    from ..storage.recording_registry import RecordingRegistry

    instance = get_instance()
    registry = RecordingRegistry(settings.database_url())
    recording_job = defs.resolve_job_def("recording_job")
    totals = {"recordings": 0, "failed": 0, "segments": 0, "expressions": 0, "api_calls": 0, "cache_hits": 0,
              "cost_usd": 0.0}
    keys: list[str] = []
    print(f"Dagster instance: {os.environ['DAGSTER_HOME']}")
    for arg in args.sources:
        try:
            recording = resolve_recording(arg)
        except Exception as exc:  # one bad input fails only itself
            print(f"✗ {arg}: {exc}")
            totals["failed"] += 1
            continue
        registry.register(recording)
        if not instance.has_dynamic_partition("recordings", recording.partition_key):
            instance.add_dynamic_partitions("recordings", [recording.partition_key])
        keys.append(recording.partition_key)
        print(f"→ {recording.partition_key}  {recording.title}  ({recording.source})")
        started = time.perf_counter()
        result = recording_job.execute_in_process(
            instance=instance, partition_key=recording.partition_key, raise_on_error=False,
            tags={"aivlingual/trigger": "cli"}, run_config=_QUIET,
        )
        summary = _run_summary(result)
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
            for message in _failure_messages(result) or ["run failed (see the Dagster UI for the log)"]:
                print(f"  ✗ {message}")
    if keys and "stock_job" in {j.name for j in defs.resolve_all_job_defs()} and not args.skip_stock:
        print("→ vocabulary stock and publications")
        result = defs.resolve_job_def("stock_job").execute_in_process(instance=instance, raise_on_error=False,
                                                                 tags={"aivlingual/trigger": "cli"}, run_config=_QUIET)
        summary = _run_summary(result)
        _add_ai(totals, summary)
        if result.success:
            rows = summary.get("vocabulary", {}).get("rows")
            print(f"  ✓ materialised: {', '.join(summary)}" + (f" (vocabulary: {rows} expressions)" if rows else ""))
        else:
            totals["failed"] += 1
            for message in _failure_messages(result):
                print(f"  ✗ {message}")
    print(
        f"\nSummary: {totals['recordings']} recording(s) processed, {totals['failed']} failed; "
        f"{totals['segments']} segments, {totals['expressions']} expressions; "
        f"AI: {totals['api_calls']} calls, {totals['cache_hits']} cache hits, ${totals['cost_usd']:.4f}"
    )
    print(f"See runs and lineage: DAGSTER_HOME={os.environ['DAGSTER_HOME']} dagster dev  (or: aivlingual ui)")
    return 0 if totals["failed"] == 0 else 1


def _add_ai(totals: dict[str, Any], summary: dict[str, Any]) -> None:
    for md in summary.values():
        totals["api_calls"] += int(md.get("ai/api_calls", 0) or 0)
        totals["cache_hits"] += int(md.get("ai/cache_hits", 0) or 0)
        totals["cost_usd"] += float(md.get("ai/cost_usd", 0.0) or 0.0)
