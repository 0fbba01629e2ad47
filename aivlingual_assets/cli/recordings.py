"""``aivlingual recordings``: list the recordings, remove one (its registry row and its partition)."""

from __future__ import annotations

import argparse
import json
import sys

from .. import settings
from .instance import get_instance

PARTITIONS = "recordings"  # the dynamic partitions definition of every per-recording asset
_UNFINISHED = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")
KEPT = ("Kept: its stored results (transcript, expressions, levels, Shorts plans) and AI answers, so adding it "
        "again pays nothing twice; the Dagster run history. Its expressions leave the vocabulary stock (then Notion "
        "and the Anki deck) the next time the stock is refreshed (`vocabulary`, as the nightly schedule does).")


def cmd_recordings(args: argparse.Namespace) -> int:
    import dagster as dg

    from ..storage.recording_registry import RecordingRegistry

    registry = RecordingRegistry(settings.database_url())
    instance = get_instance()
    try:
        partitions = instance.get_dynamic_partitions(PARTITIONS)
        if args.recordings_action == "list":
            return _list(registry, partitions, instance, as_json=args.json)
        status = 0
        for key in args.keys:
            running = instance.get_runs_count(dg.RunsFilter(
                tags={"dagster/partition": key}, statuses=[dg.DagsterRunStatus[s] for s in _UNFINISHED]))
            if running:
                print(f"✗ {key}: {running} run(s) of it are queued or running; wait for them or cancel them in the "
                      "Dagster UI, then remove it.", file=sys.stderr)
                status = max(status, 1)
                continue
            registered = registry.remove(key)
            partitioned = key in partitions
            if partitioned:
                instance.delete_dynamic_partition(PARTITIONS, key)
            if not registered and not partitioned:
                print(f"✗ {key}: no such recording (see `aivlingual recordings list`).", file=sys.stderr)
                status = max(status, 2)
                continue
            removed = [what for what, done in (("registry row", registered), ("partition", partitioned)) if done]
            print(f"✓ {key}: removed its {' and '.join(removed)}; no schedule or sensor will run it again.")
        if status == 0:
            print(KEPT)
        return status
    finally:
        instance.dispose()


def _list(registry, partitions: list[str], instance, *, as_json: bool) -> int:
    import dagster as dg

    from ..schedules import FINAL_PER_RECORDING

    done = instance.get_materialized_partitions(dg.AssetKey(FINAL_PER_RECORDING))
    owners = registry.channels()  # the channel (tenant) each recording belongs to, in one query
    rows = []
    for key in dict.fromkeys([*registry.keys(), *partitions]):
        recording = registry.get(key)
        rows.append({"key": key, "registered": recording is not None, "partition": key in partitions,
                     "processed": key in done, "channel": owners.get(key),
                     "source": recording.source if recording else None,
                     "title": recording.title if recording else None})
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("No recordings yet: `aivlingual process PATH_OR_URL` adds one.")
    for row in rows:
        state = ("processed" if row["processed"] else "not processed") if row["registered"] else "NOT REGISTERED"
        channel = row["channel"] or ("(no channel)" if row["registered"] else "-")
        print(f"{row['key']:22s} {state:15s} {channel:16s} {row['title'] or '(no recording: remove it)'}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("recordings", help="list recordings; remove one (registry row and partition)")
    actions = p.add_subparsers(dest="recordings_action", required=True)
    r = actions.add_parser("list", help="every recording and partition: its channel, whether it is processed")
    r.add_argument("--json", action="store_true")
    r = actions.add_parser("remove", help="forget recordings: their registry rows and partitions (results are kept)")
    r.add_argument("keys", nargs="+", metavar="KEY", help="partition keys (yt-<videoId>, file-<hash>, ...)")
    p.set_defaults(func=cmd_recordings)
