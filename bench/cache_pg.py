"""Benchmark 3: AI cache-hit latency on PostgreSQL vs SQLite.

Same table contents and the same timed calls as :mod:`bench.cache_hit`, once in a SQLite
ledger and once in a database of a throwaway PostgreSQL cluster (initdb + pg_ctl from
``aivlingual_tests.postgres_cluster``; fsync off, as in the test suite). Both are timed
interleaved in one loop, so machine load hits both alike. The ratio is PG / SQLite; the last
row compares the PG hit with a bare psycopg2 SELECT by key (one round trip, the floor).
"""

from __future__ import annotations

import os
from typing import Any

from . import cache_hit
from .common import Row, dispose_engine, isolated_home, row, skipped, sqlite_url

NAME = "cache_pg"
TITLE = "AI cache hit, PostgreSQL vs SQLite"
SIZES = {
    "full": {"entries": 100_000, "hits": 1_000},
    "quick": {"entries": 20_000, "hits": 300},
    "tiny": {"entries": 300, "hits": 20},
}


def postgres_missing() -> str | None:
    if os.environ.get("AIVLINGUAL_SKIP_POSTGRES") == "1":
        return "AIVLINGUAL_SKIP_POSTGRES=1"
    from aivlingual_tests.postgres_cluster import _bin_dir

    if _bin_dir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found; install them (apt-get install postgresql)"
    return None


def run(sizes: dict[str, Any]) -> list[Row]:
    reason = postgres_missing()
    if reason:
        return [skipped(NAME, reason)]
    from aivlingual_tests.postgres_cluster import PostgresCluster

    n, hits = int(sizes["entries"]), int(sizes["hits"])
    with isolated_home(NAME) as home:
        cluster = PostgresCluster().start()
        lite_url = sqlite_url(home)
        pg_url = None
        try:
            pg_url = cluster.create_database("aivbench")
            pg = cache_hit.prepare("postgresql", pg_url, home, n, sample=2 * hits + 40)
            lite = cache_hit.prepare("sqlite", lite_url, home, n, sample=2 * hits + 40)
            stats = cache_hit.measure([lite, pg], hits)
        finally:
            from aivlingual_assets.ai.write_behind import flush_all

            flush_all()  # buffered cache-hit bookkeeping goes to its database before the cluster stops
            dispose_engine(lite_url)
            if pg_url:
                dispose_engine(pg_url)
            cluster.stop()
    pg_s, lite_s = stats["postgresql"], stats["sqlite"]
    details = {"entries": n, "postgresql": pg_s, "sqlite": lite_s}
    return [
        row(NAME, f"PG generate_text hit p50 ({n:,} entries)", pg_s["hit"]["p50_ms"], "ms",
            "SQLite generate_text hit p50", lite_s["hit"]["p50_ms"], details=details,
            note=f"bare SELECT p50: PG {pg_s['select']['p50_ms']:.3f} ms, SQLite {lite_s['select']['p50_ms']:.3f} ms"),
        row(NAME, f"PG generate_text hit p99 ({n:,} entries)", pg_s["hit"]["p99_ms"], "ms",
            "SQLite generate_text hit p99", lite_s["hit"]["p99_ms"],
            note=f"{pg_s['hit']['n']} hits each; fill PG {pg_s['fill_seconds']} s, SQLite {lite_s['fill_seconds']} s"),
        row(NAME, f"PG generate_text hit p50 ({n:,} entries)", pg_s["hit"]["p50_ms"], "ms",
            "bare psycopg2 SELECT by cache_key p50", pg_s["driver_select"]["p50_ms"]),
    ]
