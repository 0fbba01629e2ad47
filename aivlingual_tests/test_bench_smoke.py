"""Smoke test of ``python -m bench``: every benchmark runs at its smallest sizes and reports a
well-formed figure (and, where it has one, a baseline and their ratio). No timing assertions."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "results.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=540)
    return proc, out


def test_every_benchmark_reports_a_well_formed_result(bench_run):
    from bench.__main__ import BENCHMARKS

    proc, out = bench_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["meta"]["mode"] == "tiny"
    results = data["results"]
    for name, _ in BENCHMARKS:
        rows = [r for r in results if r["benchmark"] == name]
        assert rows, f"no result for {name}"
        assert name in proc.stdout  # a line of the printed table
        for r in rows:
            if r["skipped"]:
                assert name == "cache_pg" and ("PostgreSQL" in r["skipped"] or "POSTGRES" in r["skipped"]), r
                continue
            assert r["figure"] and _finite(r["value"]), r
            if r["baseline_value"] is not None:
                assert r["baseline"] and _finite(r["baseline_value"]) and r["baseline_value"] > 0, r
                assert r["ratio"] == pytest.approx(r["value"] / r["baseline_value"]), r
            else:
                assert r["ratio"] is None
    quality = [r for r in results if r["benchmark"] == "quality"]
    figures = {r["figure"].split(",")[0] for r in quality}
    assert figures == {"precision", "recall", "sense accuracy", "reading accuracy"}
    assert all(0.0 <= r["value"] <= 1.0 for r in quality)
    assert f"results JSON: {out}" in proc.stdout


def test_only_and_size_overrides_are_validated():
    from bench.__main__ import _select, main

    assert _select("5,quality") == ["sensor", "stock_update", "quality"]
    with pytest.raises(SystemExit):
        _select("nope")
    with pytest.raises(SystemExit):
        main(["--tiny", "--only", "quality", "--set", "quality.bogus=1"])


@pytest.mark.slow
def test_the_process_benchmark_times_the_command_against_the_baseline_commit_in_the_same_run(tmp_path):
    """`--only process` (on request: it runs `aivlingual process` several times, twice the code)."""
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--only", "process", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=1_500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = json.loads(out.read_text(encoding="utf-8"))["results"]
    assert [r["figure"].split(" ")[1] for r in rows] == ["2", "one"]  # 2 recordings, one stream
    for r in rows:
        assert r["skipped"] is None and _finite(r["value"]) and _finite(r["baseline_value"]), r
        assert r["baseline"].startswith("same command at ") and r["details"]["times_s"], r
