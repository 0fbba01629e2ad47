"""Benchmark 5a: ``recordings_sensor`` tick with 1,000 settled recordings and 1,000 partitions.

The inbox holds 1,000 recordings (``stream_NNNN.mp4`` + ``stream_NNNN.ja.srt``, 2,000 files)
that earlier ticks already reported: the cursor is what two ``scan_inbox`` passes leave
behind, and the ``recordings`` dynamic partitions hold their 1,000 ``file-<sha256>`` keys in a
real ``dg.instance_for_test`` instance. A steady-state tick therefore requests nothing: it
lists and stats the folder, compares with the cursor, reads the existing partitions and
writes the new cursor. Timed: the sensor evaluation (context built untimed, as in
``aivlingual_tests/pipeline/test_sensors.py``). Baseline: a bare ``os.scandir`` listing of
the same folder with one ``stat`` per file (the least a size-settling watcher must do).
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import time
from typing import Any

from .common import Row, dispose_engine, isolated_home, row, sqlite_url, summary_ms

NAME = "sensor"
TITLE = "recordings_sensor tick, 1,000 settled recordings"
SIZES = {
    "full": {"recordings": 1_000, "ticks": 30},
    "quick": {"recordings": 1_000, "ticks": 10},
    "tiny": {"recordings": 20, "ticks": 2},
}


def _srt(i: int) -> str:
    cues = []
    for j in range(40):
        s, e = j * 5, j * 5 + 4
        cues.append(f"{j + 1}\n00:{s // 60:02d}:{s % 60:02d},000 --> 00:{e // 60:02d}:{e % 60:02d},500\n"
                    f"配信{i}の{j}行目、今日もありがとう！\n")
    return "\n".join(cues)


def build_inbox(inbox, n: int) -> list[str]:
    """Writes ``n`` recordings; returns their partition keys (``file-`` + SHA-256 of the media)."""
    from aivlingual_assets.ingestion.recording import KEY_HASH_LENGTH

    keys = []
    inbox.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        media = (b"\x00\x00\x00\x18ftypmp42" + f"recording {i}".encode()) * 64
        (inbox / f"stream_{i:04d}.mp4").write_bytes(media)
        (inbox / f"stream_{i:04d}.ja.srt").write_text(_srt(i), encoding="utf-8")
        keys.append("file-" + hashlib.sha256(media).hexdigest()[:KEY_HASH_LENGTH])
    return keys


def scandir_listing(folder: str) -> int:
    n = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_file():
                entry.stat()
                n += 1
    return n


def run(sizes: dict[str, Any]) -> list[Row]:
    import dagster as dg

    from aivlingual_assets.definitions import defs
    from aivlingual_assets.ingestion.inbox import scan_inbox
    from aivlingual_assets.resources.pipeline import PipelineResource
    from aivlingual_assets.sensors import recordings_sensor

    n, ticks = int(sizes["recordings"]), int(sizes["ticks"])
    with isolated_home(NAME) as home:
        inbox = home / "inbox"
        keys = build_inbox(inbox, n)
        first = scan_inbox(inbox)
        second = scan_inbox(inbox, previous=first.observed)
        assert len(second.ready) == n, f"expected {n} ready recordings, got {len(second.ready)}"
        cursor = json.dumps(second.observed, separators=(",", ":"))
        (home / "dagster").mkdir()
        with dg.instance_for_test(temp_dir=str(home / "dagster")) as instance:
            instance.add_dynamic_partitions("recordings", keys)
            assert len(instance.get_dynamic_partitions("recordings")) == n

            def tick() -> float:
                context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                                  resources={"pipeline": PipelineResource()}, definitions=defs)
                t0 = time.perf_counter()
                result = recordings_sensor(context)
                elapsed = time.perf_counter() - t0
                if result.run_requests or result.dynamic_partitions_requests:
                    raise AssertionError("a steady-state tick must request nothing")
                if json.loads(result.cursor) != second.observed:
                    raise AssertionError("a steady-state tick must keep the cursor")
                return elapsed

            tick()  # warm-up: imports, resource and registry schema, instance storage
            scandir_listing(str(inbox))
            tick_t, list_t = [], []
            gc.collect()
            for _ in range(ticks):  # interleaved
                tick_t.append(tick())
                t0 = time.perf_counter()
                listed = scandir_listing(str(inbox))
                list_t.append(time.perf_counter() - t0)
            assert listed == 2 * n
        dispose_engine(sqlite_url(home))
    t, b = summary_ms(tick_t), summary_ms(list_t)
    return [
        row(NAME, f"sensor tick, {n:,} settled recordings, p50", t["p50_ms"], "ms",
            f"os.scandir + stat of {2 * n:,} files, p50", b["p50_ms"],
            details={"recordings": n, "files": 2 * n, "partitions": n, "tick": t, "scandir": b},
            note=f"mean {t['mean_ms']:.1f} vs {b['mean_ms']:.2f} ms; {ticks} ticks"),
    ]
