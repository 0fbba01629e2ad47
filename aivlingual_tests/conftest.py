"""Shared fixtures: an isolated home per test, a throwaway PostgreSQL cluster, the fake provider server."""

from __future__ import annotations

import os
import signal

import pytest

# Provider keys of the developer's shell must never leak into tests (nor cost money).
_ISOLATED_ENV = (
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL",
    "AIVLINGUAL_LOCAL_BASE_URL", "AIVLINGUAL_MONTHLY_BUDGET_USD", "AIVLINGUAL_CHANNEL_BUDGETS",
    "AIVLINGUAL_DATABASE_URL", "AIVLINGUAL_STORAGE_URL", "AIVLINGUAL_INBOX", "NOTION_TOKEN",
    "NOTION_DATABASE_ID", "NOTION_DATA_SOURCE_ID", "NOTION_BASE_URL", "DAGSTER_HOME",
)


@pytest.fixture(autouse=True)
def aiv_home(tmp_path, monkeypatch):
    """Every test gets its own AIVLINGUAL_HOME and no provider keys."""
    for name in _ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "aivhome"
    home.mkdir()
    monkeypatch.setenv("AIVLINGUAL_HOME", str(home))
    return home


# A test session stops its worker processes with SIGTERM (multiprocessing pools, servers). Started
# from a background shell or a nohup-like tool, the session may inherit it ignored; and Dagster's
# in-process execution sets SIGTERM to whatever SIGINT does when it restores its interrupt handlers
# (dagster._utils.interrupts), so after the first materialisation a background session ignores
# SIGTERM too and every forked pool worker becomes unkillable. Each test starts from the defaults.
_STOP_SIGNALS = (signal.SIGTERM,)


@pytest.fixture(autouse=True)
def default_stop_signals():
    for s in _STOP_SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    yield


@pytest.fixture(scope="session")
def postgres_cluster():
    if os.environ.get("AIVLINGUAL_SKIP_POSTGRES") == "1":
        pytest.skip("AIVLINGUAL_SKIP_POSTGRES=1")
    from .postgres_cluster import PostgresCluster

    cluster = PostgresCluster().start()
    yield cluster
    from aivlingual_assets.ai.write_behind import flush_all

    flush_all()  # cache-hit bookkeeping still buffered for the cluster's databases, before it goes away
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster):
    """A fresh, empty database on the session's cluster."""
    return postgres_cluster.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, aiv_home):
    """Runs a test once on SQLite and once on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{aiv_home / 'ledger.sqlite3'}"
    return request.getfixturevalue("postgres_url")


from .fakes.provider_server import provider_server  # noqa: E402,F401  (fixture)
