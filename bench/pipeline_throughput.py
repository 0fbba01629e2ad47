"""Benchmark 4: analysis throughput on a synthetic one-hour stream, offline engine, one core.

The transcript (:func:`bench.synthetic.stream_transcript`, ~1,800 lines for an hour) is run
through the pipeline's own functions, ``extract_recording_expressions(lines, core.run_task)``
then ``assess_levels(...)``, with a fresh ``AICore`` on SQLite (so every chunk/batch is a
real cached, metered AI-core request with its ledger writes). Baseline: Sudachi tokenisation
alone of the same lines (``aivlingual_assets.analysis.tokenizer.tokenize``). Both start with
an empty tokenizer LRU cache, after a warm-up on the gold transcript (dictionary, lexicon and
JMdict loaded: a long-running Dagster process has them loaded too).

Runs in a subprocess pinned to CPU 0 with ``taskset`` when available (single-threaded BLAS
either way); ``python -m bench.pipeline_throughput --worker --lines N`` is that subprocess.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any

from .common import REPO_ROOT, Row, isolated_home, row

NAME = "pipeline"
TITLE = "Analysis throughput, offline engine, 1 core"
SIZES = {
    "full": {"lines": 1_800},
    "quick": {"lines": 450},
    "tiny": {"lines": 40},
}
SECONDS_PER_LINE = 2.0  # 1,800 lines = one hour


def worker(n_lines: int) -> dict[str, Any]:
    t_start = time.perf_counter()
    from aivlingual_assets.ai.core import AICore, AISettings
    from aivlingual_assets.analysis import tokenizer
    from aivlingual_assets.analysis.gold import load_gold
    from aivlingual_assets.analysis.offline_extractor import extract_expressions
    from aivlingual_assets.analysis.pipeline import assess_levels, extract_recording_expressions

    from .synthetic import GOLD, stream_transcript

    imported = time.perf_counter() - t_start
    lines = stream_transcript(n_lines, seconds_per_line=SECONDS_PER_LINE)
    t0 = time.perf_counter()
    extract_expressions(load_gold(GOLD).lines)  # warm-up: Sudachi dictionary, lexicon, JMdict
    warmup = time.perf_counter() - t0

    tokenizer._tokenize_cached.cache_clear()
    t0 = time.perf_counter()
    n_tokens = sum(len(tokenizer.tokenize(line.text)) for line in lines)
    tokenise = time.perf_counter() - t0

    home = os.environ["AIVLINGUAL_HOME"]
    core = AICore(AISettings.from_env(database_url=f"sqlite:///{home}/pipeline-ledger.sqlite3", home=home))
    tokenizer._tokenize_cached.cache_clear()
    t0 = time.perf_counter()
    expressions = extract_recording_expressions(lines, core.run_task)
    t1 = time.perf_counter()
    levels = assess_levels(expressions, core.run_task)
    t2 = time.perf_counter()
    with core.ledger.connect() as conn:
        from sqlalchemy import text

        calls = conn.execute(text("SELECT count(*) FROM aiv_usage_log")).scalar_one()
        cached = conn.execute(text("SELECT count(*) FROM aiv_ai_memory")).scalar_one()
    core.ledger.engine.dispose()
    return {
        "lines": len(lines), "unique_lines": len({line.text for line in lines}),
        "chars": sum(len(line.text) for line in lines), "stream_seconds": lines[-1].end, "tokens": n_tokens,
        "expressions": len(expressions), "assessed": sum(1 for lv in levels if lv is not None),
        "ai_calls": calls, "ai_memory_rows": cached, "import_s": imported, "warmup_s": warmup,
        "tokenise_s": tokenise, "extract_s": t1 - t0, "levels_s": t2 - t1, "pipeline_s": t2 - t0,
        "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }


def _pin_command() -> list[str]:
    if sys.platform.startswith("linux") and shutil.which("taskset") and hasattr(os, "sched_getaffinity") \
            and 0 in os.sched_getaffinity(0):
        return ["taskset", "-c", "0"]
    return []


def run(sizes: dict[str, Any]) -> list[Row]:
    n = int(sizes["lines"])
    with isolated_home(NAME) as home:
        env = {**os.environ, "AIVLINGUAL_HOME": str(home), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
        pin = _pin_command()
        cmd = [sys.executable, "-m", "bench.pipeline_throughput", "--worker", "--lines", str(n)]
        proc = subprocess.run([*pin, *cmd], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0 and pin and "taskset" in proc.stderr:  # pinning refused: run unpinned
            pin = []
            proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"pipeline worker failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["pinned"] = bool(pin)
    per_hour = 3600.0 / out["stream_seconds"]
    pipe_h, tok_h = out["pipeline_s"] * per_hour, out["tokenise_s"] * per_hour
    pinned = "taskset -c 0" if out["pinned"] else "not pinned"
    return [
        row(NAME, "extract + assess_levels, s per hour of stream", pipe_h, "s/h", "Sudachi tokenise only, s per hour",
            tok_h, details=out,
            note=f"{out['lines']} lines ({out['unique_lines']} distinct) = {out['stream_seconds'] / 60:.0f} min; "
                 f"{out['expressions']} expressions, {out['ai_calls']} AI-core calls; {pinned}"),
        row(NAME, "extract + assess_levels, lines/s", out["lines"] / out["pipeline_s"], "lines/s",
            "Sudachi tokenise only, lines/s", out["lines"] / out["tokenise_s"],
            note=f"extract {out['extract_s']:.2f} s + levels {out['levels_s']:.2f} s; imports {out['import_s']:.1f} s, "
                 f"warm-up {out['warmup_s']:.1f} s not counted"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", action="store_true", help="run the measurement in this process, print JSON")
    parser.add_argument("--lines", type=int, default=SIZES["full"]["lines"])
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.lines)))
        return 0
    for r in run({"lines": args.lines}):
        print(r.figure, r.value, r.baseline_value, r.ratio)
    return 0


if __name__ == "__main__":
    sys.exit(main())
