"""``python -m bench --only nightly_pg``: the whole nightly on PostgreSQL through the daemon.

It runs only when named: even one recording takes minutes (a process per run and per step; 8 min on 2 cores
at load 13), so neither the bench smoke test nor this suite runs it end to end."""

from __future__ import annotations

from aivlingual_assets.ingestion.recording import recording_from_path
from bench.__main__ import _select
from bench.nightly_pg import write_recordings


def test_the_nightly_benchmark_runs_only_when_named():
    assert "nightly_pg" not in _select(None)
    assert _select("nightly_pg") == ["nightly_pg"]


def test_its_synthetic_streams_are_distinct_recordings(tmp_path):
    paths = write_recordings(tmp_path, 5, lines=10)
    keys = {recording_from_path(p).partition_key for p in paths}
    assert len(keys) == 5
    assert all(p.read_text(encoding="utf-8").count(" --> ") == 10 for p in paths)


def test_it_measures_the_profiles_executor_unless_told_the_multiprocess_one():
    from bench.nightly_pg import EXECUTORS, SIZES

    assert {s["executor"] for s in SIZES.values()} == {"in_process"}
    assert "multiprocess" in EXECUTORS
