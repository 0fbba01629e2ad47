"""``aivlingual process``: register recordings, materialise their assets, refresh the stock, summarise.

Its runs belong to the code location the UI loads (:mod:`.runs`: the job's history, the timeline,
re-execution) and carry the process's identity (:mod:`..run_owners`): runs of an earlier
`aivlingual process` that was killed are marked failed when the next one starts.

Ctrl-C or SIGTERM stops the whole command (see :mod:`.interrupts`): the current run ends failed
with its finished steps kept (every write is whole or absent), no further recording or stock run
starts, and the command says what was finished and exits 130 / 143.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .. import settings
from ..analysis import engine_workers
from ..run_owners import fail_orphaned_runs, owned_run_tags
from .instance import get_instance
from .interrupts import Interrupted, StopSignals
from .outcome import QUIET_RUN_CONFIG, failure_lines, first_line, run_summary
from .runs import execute_job_run


def run_tags() -> dict[str, str]:
    return {"aivlingual/trigger": "cli", **owned_run_tags()}


def recording_tags(recording) -> dict[str, str]:
    """What the run page shows of the recording besides its opaque partition key."""
    tags = {"aivlingual/title": recording.title[:200]}
    if recording.channel:
        tags["aivlingual/channel"] = recording.channel[:200]
    return tags


def resolve_recording(arg: str):
    """A path (media or subtitle file) or a YouTube URL/id -> Recording."""
    from ..ingestion.recording import recording_from_source

    return recording_from_source(arg)


@dataclass
class Progress:
    sources: list[str]
    processed: list[str] = field(default_factory=list)  # partition keys analysed by this command
    failed: list[str] = field(default_factory=list)  # sources or partition keys
    next_source: int = 0  # sources[next_source:] have not been started
    current: str | None = None  # the source, recording or stock being worked on
    in_run: bool = False  # ... inside a Dagster run
    stock: str = "not refreshed (no recording was analysed)"
    stock_failed: bool = False
    segments: int = 0
    expressions: int = 0
    api_calls: int = 0
    cache_hits: int = 0
    cost_usd: float = 0.0

    def add_ai(self, summary: dict[str, dict[str, Any]]) -> None:
        for md in summary.values():
            self.api_calls += int(md.get("ai/api_calls", 0) or 0)
            self.cache_hits += int(md.get("ai/cache_hits", 0) or 0)
            self.cost_usd += float(md.get("ai/cost_usd", 0.0) or 0.0)

    def summary(self) -> str:
        return (f"Summary: {len(self.processed)} recording(s) processed, {len(self.failed)} failed, "
                f"stock {self.stock}; {self.segments} segments, {self.expressions} expressions; "
                f"AI: {self.api_calls} calls, {self.cache_hits} cache hits, ${self.cost_usd:.4f}")


def cmd_process(args: argparse.Namespace) -> int:
    from ..channels import ChannelError, channel_store
    from ..channels.assignment import checked_channel

    store = channel_store(settings.database_url())
    try:  # an unknown channel is refused before anything is registered
        args.channel = checked_channel(getattr(args, "channel", None), store)
    except ChannelError as exc:
        print(f"✗ --channel: {exc}")
        return 2
    progress = Progress(list(args.sources))
    offline = _offline_answers(store.get(args.channel))
    with StopSignals() as stop, rare_full_collections(), engine_workers.running(start=offline):
        try:
            _process(args, progress, stop)
        except Interrupted as interrupted:
            if progress.stock != "refreshed":
                progress.stock = "not refreshed"
            _report_interrupted(progress, interrupted)
            return interrupted.exit_code
    print(f"\n{progress.summary()}")
    print(f"See runs and lineage: DAGSTER_HOME={os.environ['DAGSTER_HOME']} dagster dev  (or: aivlingual ui)")
    return 0 if not progress.failed and not progress.stock_failed else 1


def _offline_answers(channel) -> bool:
    """Whether the offline engine will analyse the recordings: no language model configured (#14). Its
    workers then start before the first run, loading the engine while the command sets up Dagster's instance
    and runs the first steps; otherwise they start only if the engine is asked for a recording's chunks."""
    from ..ai.config import AISettings

    ai = AISettings.from_env()
    if ai.openai_api_key or ai.gemini_api_key or ai.local_base_url:
        return False
    return channel is None or not channel.key_providers


@contextmanager
def rare_full_collections(every: int = 100) -> Iterator[None]:
    """Python's collector scans its oldest generation only once in ``every`` collections of the middle one
    (10 by default) while the block runs. What a run keeps (the offline engine's JMdict phrase index,
    kanji table and lexicon, ~200k objects) lands there and every full collection scans it again: a one-hour
    stream's run made 6 of them, 0.36-0.42 s of CPU (#14), for little garbage (its runs' cycles are
    few). The younger generations are collected as before; the thresholds are put back when it ends."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, max(old, every))
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)


def _process(args: argparse.Namespace, progress: Progress, stop: StopSignals) -> None:
    from ..assets.content import summary_lines as content_summary_lines
    from ..storage.recording_registry import RecordingRegistry

    instance = get_instance()
    registry = RecordingRegistry(settings.database_url())
    print(f"Dagster instance: {os.environ['DAGSTER_HOME']}")
    orphaned = fail_orphaned_runs(instance, by="a later `aivlingual process`")
    if orphaned:
        print(f"Marked {len(orphaned)} run(s) whose `aivlingual process` was killed as failed: {', '.join(orphaned)}")
    for arg in args.sources:
        progress.current, progress.next_source = arg, progress.next_source + 1
        try:
            recording = resolve_recording(arg)
        except Exception as exc:  # one bad input fails only itself
            print(f"✗ {arg}: {first_line(str(exc))}")
            progress.failed.append(arg)
            continue
        registry.register(recording, channel=args.channel)  # without --channel it keeps the one it had
        key = progress.current = recording.partition_key
        if not instance.has_dynamic_partition("recordings", key):
            instance.add_dynamic_partitions("recordings", [key])
        print(f"→ {key}  {recording.title}  ({recording.source})")
        started = time.perf_counter()
        progress.in_run = True
        result = execute_job_run(instance, "recording_job", partition_key=key,
                                 tags={**run_tags(), **recording_tags(recording)}, run_config=QUIET_RUN_CONFIG)
        summary = run_summary(result)
        progress.add_ai(summary)
        if result.success:
            progress.processed.append(key)
            progress.current = None
            progress.segments += int(summary.get("transcripts", {}).get("segments", 0) or 0)
            progress.expressions += int(summary.get("expressions", {}).get("expressions", 0) or 0)
            print(f"  ✓ {time.perf_counter() - started:.1f}s  materialised: {', '.join(summary)}")
            for line in content_summary_lines(summary):  # worksheet, thumbnails, upload text (assets/content.py)
                print(f"    {line}")
        elif stop.received() is None:  # else it failed because it was interrupted: said below
            progress.failed.append(key)
            for line in failure_lines(result):
                print(f"  ✗ {line}")
        stop.check()  # a signal that Dagster's handler took stopped this run: stop the command too
        progress.in_run = False
    progress.current = None
    if args.skip_stock:
        progress.stock = "not refreshed (--skip-stock)"
    elif progress.processed:  # a stock run with nothing new would only re-publish
        _refresh_stock(instance, progress, stop)


def _refresh_stock(instance, progress: Progress, stop: StopSignals) -> None:
    print("→ vocabulary stock and publications")
    progress.current, progress.in_run = "the vocabulary stock", True
    result = execute_job_run(instance, "stock_job", tags=run_tags(), run_config=QUIET_RUN_CONFIG)
    summary = run_summary(result)
    progress.add_ai(summary)
    if result.success:
        progress.current, progress.stock = None, "refreshed"
        rows = summary.get("vocabulary", {}).get("rows")
        print(f"  ✓ materialised: {', '.join(summary)}" + (f" (vocabulary: {rows} expressions)" if rows else ""))
    elif stop.received() is None:
        progress.stock, progress.stock_failed = "refresh failed", True
        for line in failure_lines(result):
            print(f"  ✗ {line}")
    stop.check()
    progress.current, progress.in_run = None, False


def _report_interrupted(progress: Progress, interrupted: Interrupted) -> None:
    print(f"\n✗ Stopped by {interrupted.name}.")
    if progress.current and progress.in_run:
        print(f"  Interrupted: {progress.current}. Its run is marked failed; the steps it finished are kept and "
              "nothing of the interrupted step was written, so processing it again redoes only the rest and pays "
              "no answer twice.")
    elif progress.current:
        print(f"  Interrupted before its run started: {progress.current}.")
    print(f"  Finished: {', '.join(progress.processed) or 'none'}"
          + (f"; failed: {', '.join(progress.failed)}" if progress.failed else "") + ".")
    if progress.sources[progress.next_source:]:
        print(f"  Not started: {', '.join(progress.sources[progress.next_source:])}.")
    print(f"  {progress.summary().removeprefix('Summary: ')}")
