"""Benchmark: `aivlingual process`, Dagster included, on many small recordings and on one long stream.

Wall time of the whole command (``python -m aivlingual_assets.cli process FILE... --skip-stock``
in a subprocess: imports, instance, one run per recording, summary), offline engine, fresh
home each time, on SRT files of :func:`bench.synthetic.stream_transcript` lines:

* ``recordings`` small recordings of ``lines_each`` lines (100 of 6 lines at full size);
* one stream of ``stream_lines`` lines (1,800 = one hour).

Baseline, in the same run: the same commands with the code of ``baseline`` (a commit; default
the last one before #14's work on the command's Dagster cost), extracted with ``git archive``
and run with the same interpreter and packages.  Both share a warm ``AIVLINGUAL_CACHE_DIR``
(JMdict phrase index and parsed lexicon built by one warm-up command each, not timed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import REPO_ROOT, Row, isolated_home, row

NAME = "process"
TITLE = "aivlingual process with Dagster: many small recordings, one long stream"
BASELINE_COMMIT = "018c155"  # main before #14's Dagster work (kept connections, ...)
SIZES = {
    "full": {"recordings": 100, "lines_each": 6, "stream_lines": 1_800, "baseline": BASELINE_COMMIT},
    "quick": {"recordings": 20, "lines_each": 6, "stream_lines": 450, "baseline": BASELINE_COMMIT},
    "tiny": {"recordings": 2, "lines_each": 3, "stream_lines": 30, "baseline": BASELINE_COMMIT},
}
RUNNER = "import sys; sys.path.insert(0, sys.argv.pop(1)); from aivlingual_assets.cli import main; sys.exit(main())"


def _srt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def write_srt(path: Path, n_lines: int, seed: int) -> Path:
    from .synthetic import stream_transcript

    lines = stream_transcript(n_lines, seed=seed)
    path.write_text("".join(f"{i}\n{_srt_time(line.start)} --> {_srt_time(line.end)}\n{line.text}\n\n"
                            for i, line in enumerate(lines, 1)), encoding="utf-8")  # fmt: skip
    return path


def baseline_tree(commit: str, into: Path) -> Path | None:
    """The package (and workspace.yaml, dagster.yaml) as of ``commit``, or None without git."""
    try:
        archive = subprocess.run(["git", "archive", commit, "aivlingual_assets", "workspace.yaml", "dagster.yaml"],
                                 cwd=REPO_ROOT, capture_output=True, check=True, timeout=120).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True, timeout=120)
        # its bytecode written like the current tree's (make.py compile_bytecode): neither side recompiles per run
        subprocess.run([sys.executable, "-m", "compileall", "-q", "aivlingual_assets"], cwd=into, check=True,
                       stdout=subprocess.DEVNULL, timeout=600)
    except (OSError, subprocess.SubprocessError):
        return None
    return into


def process_seconds(code_root: Path, home: Path, files: list[Path], cache_dir: Path,
                    dagster_env: dict[str, str] | None = None) -> float:
    """Wall time of one `aivlingual process FILES --skip-stock` with the package found under ``code_root``
    (Dagster's instance under ``home``, or as ``dagster_env`` says: DAGSTER_HOME, DAGSTER_PG_URL)."""
    env = {**os.environ, "AIVLINGUAL_HOME": str(home), "AIVLINGUAL_CACHE_DIR": str(cache_dir)}
    env.pop("DAGSTER_HOME", None)
    env.pop("DAGSTER_PG_URL", None)
    env.update(dagster_env or {})
    cmd = [sys.executable, "-c", RUNNER, str(code_root), "process", *map(str, files), "--skip-stock"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=code_root, env=env, capture_output=True, text=True, timeout=7_200)
    seconds = time.perf_counter() - start
    if proc.returncode != 0 or "0 failed" not in proc.stdout:
        raise RuntimeError(f"aivlingual process failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return seconds


def run(sizes: dict[str, Any]) -> list[Row]:
    with isolated_home(NAME) as home, tempfile.TemporaryDirectory(prefix="aiv-bench-baseline-") as old:
        return _run(sizes, home, baseline_tree(str(sizes["baseline"]), Path(old)))


def _run(sizes: dict[str, Any], home: Path, old_root: Path | None) -> list[Row]:
    n, each = int(sizes["recordings"]), int(sizes["lines_each"])
    inputs = home / "inputs"
    inputs.mkdir()
    small = [write_srt(inputs / f"rec{i:03d}.ja.srt", each, seed=1_000 + i) for i in range(n)]
    stream = [write_srt(inputs / "stream.ja.srt", int(sizes["stream_lines"]), seed=7)]
    warm = [write_srt(inputs / "warm.ja.srt", 3, seed=1)]
    roots = {"new": REPO_ROOT, **({"old": old_root} if old_root else {})}
    cache = home / "cache"
    times: dict[str, dict[str, float]] = {}
    for label, root in roots.items():  # warm-ups: the offline engine's derived data for each version
        process_seconds(root, home / f"warm-{label}", warm, cache)
    for case, files in (("recordings", small), ("stream", stream)):
        for label, root in roots.items():
            times.setdefault(case, {})[label] = process_seconds(root, home / f"{case}-{label}", files, cache)
    hours = int(sizes["stream_lines"]) * 2.0 / 3600
    baseline = f"same command at {sizes['baseline']}" if old_root else f"none (git archive {sizes['baseline']} failed)"
    details = {"times_s": times, "baseline_commit": sizes["baseline"], **sizes}
    many, one = times["recordings"], times["stream"]
    return [
        row(NAME, f"process {n} recordings of {each} lines, wall s", many["new"], "s", baseline, many.get("old"),
            details=details, note=f"{many['new'] / n:.2f} s per recording"
            + (f" (baseline {many['old'] / n:.2f})" if "old" in many else "") + "; imports and instance included"),
        row(NAME, f"process one stream of {sizes['stream_lines']} lines ({hours:.2f} h), wall s", one["new"], "s",
            baseline, one.get("old"), details=details, note="whole command: imports, instance, run, summary"),
    ]
