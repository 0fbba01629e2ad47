"""Benchmark: the same `aivlingual process` work on Dagster's SQLite and PostgreSQL storages.

One command, ``aivlingual process FILE... --skip-stock`` over ``recordings`` small synthetic recordings
(``lines_each`` lines, :func:`bench.process_runs.write_srt`; the offline engine, the ledger in SQLite
every time), is timed on three Dagster instance storages in the same run, in turn, ``rounds`` times:

* ``sqlite``: the default home (the commands' kept-connection SQLite storage, storage/dagster_sqlite.py);
* ``pg_pooled``: ``deploy/postgres/dagster.yaml`` as shipped (storage/dagster_postgres.py, a pool of kept
  connections per process), on a throwaway PostgreSQL cluster;
* ``pg_stock``: dagster-postgres's own ``DagsterPostgresStorage`` on the same server (a new connection per
  statement), named through :class:`StockPostgresStorage` so the commands do not swap it for the pooled one.

Reported: each storage's wall time (the median of the rounds: one slow round on a shared machine moves
it less than a mean, and a lucky one less than the best) and the ratios PostgreSQL / SQLite, pooled /
stock, and the median of the pooled / SQLite ratios round by round (the two ran minutes apart, every
other round in reverse order); ``storages`` names the storages timed (``--set
dagster_storage.storages=sqlite,pg_pooled`` leaves out the slow stock one); the statements a recording sends
to the server on the pooled storage (one more run, not timed, its database logging every statement:
``log_statement=all``; ``count_statements=0`` leaves it out); and, on the same server, one statement
through a pool checkout with and without ``pool_pre_ping`` and through a new connection (why the pool does
not pre-ping).
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from dagster_postgres import DagsterPostgresStorage

from .cache_pg import postgres_missing
from .common import REPO_ROOT, Row, isolated_home, row, skipped, summary_ms
from .process_runs import process_seconds, write_srt

NAME = "dagster_storage"
TITLE = "aivlingual process: Dagster storage on SQLite vs PostgreSQL (pooled, stock)"
STORAGES = ("sqlite", "pg_pooled", "pg_stock")
SIZES = {
    "full": {"recordings": 20, "lines_each": 6, "rounds": 3, "statements": 2_000, "storages": ",".join(STORAGES),
             "count_statements": 1},
    "quick": {"recordings": 6, "lines_each": 6, "rounds": 1, "statements": 500, "storages": ",".join(STORAGES),
              "count_statements": 1},
    "tiny": {"recordings": 1, "lines_each": 3, "rounds": 1, "statements": 50, "storages": ",".join(STORAGES),
             "count_statements": 1},
}


class StockPostgresStorage(DagsterPostgresStorage):
    """dagster-postgres's storage unchanged, under a name the commands do not replace with the pooled one."""


STOCK_YAML = f"""storage:
  custom:
    module: {__name__}
    class: {StockPostgresStorage.__name__}
    config:
      postgres_url:
        env: DAGSTER_PG_URL
telemetry:
  enabled: false
"""


def dagster_home(kind: str, root: Path) -> Path | None:
    """The DAGSTER_HOME of one storage (None: the command's default, SQLite under AIVLINGUAL_HOME)."""
    if kind == "sqlite":
        return None
    home = root / f"dagster-{kind}"
    home.mkdir(parents=True)
    if kind == "pg_pooled":
        shutil.copy(REPO_ROOT / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    else:
        home.joinpath("dagster.yaml").write_text(STOCK_YAML)
    return home


def pg_env(cluster) -> tuple[dict[str, str], str]:
    """DAGSTER_HOME's PostgreSQL variable on a fresh database of ``cluster``; (environment, database name)."""
    url = cluster.create_database("dagster")
    return {"DAGSTER_PG_URL": url.replace("postgresql://", "postgresql+psycopg2://")}, url.rsplit("/", 1)[1]


def statements_sent(cluster, root: Path, files: list[Path], cache: Path) -> int:
    """The statements one run on the pooled storage sends to the server: its database logs every
    statement (``log_statement=all``, a line ``LOG:  statement: ...`` each in the cluster's log)."""
    import sqlalchemy as sa

    env, name = pg_env(cluster)
    engine = sa.create_engine(cluster.url.replace("postgresql://", "postgresql+psycopg2://"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"ALTER DATABASE \"{name}\" SET log_statement = 'all'")
    engine.dispose()
    log = cluster.root / "log"
    start = log.stat().st_size
    process_seconds(REPO_ROOT, root, files, cache, {"DAGSTER_HOME": str(dagster_home("pg_pooled", root)), **env})
    with log.open("rb") as f:
        f.seek(start)
        return f.read().decode(errors="replace").count("LOG:  statement: ")


def statement_ms(url: str, n: int) -> dict[str, dict[str, float]]:
    """One ``SELECT 1`` per checkout: pooled without / with pre-ping, and a new connection each time."""
    import sqlalchemy as sa

    out = {}
    for label, kwargs in (("pooled", {"pool_size": 2}), ("pooled_pre_ping", {"pool_size": 2, "pool_pre_ping": True}),
                          ("new_connection", {"poolclass": sa.pool.NullPool})):  # fmt: skip
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", **kwargs)
        times = []
        for _ in range(n):
            start = time.perf_counter()
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1").scalar()
            times.append(time.perf_counter() - start)
        engine.dispose()
        out[label] = summary_ms(times[min(10, n // 10):])  # the first checkouts open the pool's connections
    return out


def run(sizes: dict[str, Any]) -> list[Row]:
    reason = postgres_missing()
    if reason:
        return [skipped(NAME, reason)]
    from aivlingual_tests.postgres_cluster import PostgresCluster

    n, each, rounds = int(sizes["recordings"]), int(sizes["lines_each"]), int(sizes["rounds"])
    kinds = tuple(k for k in STORAGES if k in str(sizes["storages"]).split(","))
    if "sqlite" not in kinds or "pg_pooled" not in kinds:
        raise SystemExit(f"dagster_storage.storages needs sqlite and pg_pooled (of {', '.join(STORAGES)})")
    with isolated_home(NAME) as home:
        cluster = PostgresCluster().start()
        try:
            return _run(home, cluster, n, each, rounds, int(sizes["statements"]), kinds, int(sizes["count_statements"]))
        finally:
            cluster.stop()


def _run(home: Path, cluster, n: int, each: int, rounds: int, statements: int, kinds: tuple[str, ...],
         count_statements: int) -> list[Row]:
    inputs = home / "inputs"
    inputs.mkdir()
    files = [write_srt(inputs / f"rec{i:03d}.ja.srt", each, seed=2_000 + i) for i in range(n)]
    warm = [write_srt(inputs / "warm.ja.srt", 3, seed=1)]
    cache = home / "cache"
    process_seconds(REPO_ROOT, home / "warm", warm, cache)  # the offline engine's derived data, not timed
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for r in range(rounds):  # every other round in reverse order, so a load that rises or falls hits both alike
        for kind in kinds if r % 2 == 0 else kinds[::-1]:  # fresh homes and database: the same work every time
            root = home / f"round{r}-{kind}"
            dagster = dagster_home(kind, root)
            env = None if dagster is None else {"DAGSTER_HOME": str(dagster), **pg_env(cluster)[0]}
            times[kind].append(process_seconds(REPO_ROOT, root, files, cache, env))
    median = {kind: statistics.median(values) for kind, values in times.items()}
    checkout = statement_ms(cluster.url.replace("postgresql://", "postgresql+psycopg2://"), statements)
    details = {"times_s": times, "recordings": n, "lines_each": each, "rounds": rounds, "statement_ms": checkout}
    per = ", ".join(f"{k} {v / n:.2f} s" for k, v in median.items())
    by_round = [pg / lite for pg, lite in zip(times["pg_pooled"], times["sqlite"], strict=True)]
    details["pooled_over_sqlite_by_round"] = by_round
    paired = statistics.median(by_round)
    rows = [row(NAME, f"process {n} recordings, Dagster on PostgreSQL pooled (median of {rounds})", median["pg_pooled"],
                "s", "same on SQLite (kept connections)", median["sqlite"], details=details,
                note=f"per recording: {per}; pooled / SQLite round by round, median {paired:.2f}x")]  # fmt: skip
    if "pg_stock" in median:
        rows += [
            row(NAME, f"process {n} recordings, Dagster on PostgreSQL stock dagster-postgres", median["pg_stock"], "s",
                "same on SQLite (kept connections)", median["sqlite"]),
            row(NAME, "pooled PostgreSQL against stock dagster-postgres", median["pg_pooled"], "s",
                "stock dagster-postgres", median["pg_stock"]),
        ]
    if count_statements:
        sent = statements_sent(cluster, home / "counted", files, cache)
        details["statements_sent"] = sent
        rows.append(row(NAME, "statements sent to PostgreSQL a recording (pooled, log_statement=all)", sent / n,
                        "statements"))
    return rows + [
        row(NAME, "SELECT 1 through a pool checkout, p50", checkout["pooled"]["p50_ms"], "ms",
            "a new connection each time", checkout["new_connection"]["p50_ms"]),
        row(NAME, "SELECT 1 through a pool checkout with pre-ping, p50", checkout["pooled_pre_ping"]["p50_ms"], "ms",
            "without pre-ping", checkout["pooled"]["p50_ms"]),
    ]
