"""Where AIVlingual keeps its data, read from the environment at call time.

Every path is derived from ``AIVLINGUAL_HOME`` unless its own variable says
otherwise, so a test (or a second deployment) only has to move one folder.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = Path.home() / ".aivlingual"


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def aivlingual_home() -> Path:
    home = Path(_env("AIVLINGUAL_HOME") or DEFAULT_HOME).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def data_dir(name: str) -> Path:
    """A named sub-folder of the home (created on first use)."""
    path = aivlingual_home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """The ledger's SQLAlchemy URL: ``AIVLINGUAL_DATABASE_URL`` or SQLite in the home."""
    url = _env("AIVLINGUAL_DATABASE_URL")
    if url:
        return normalise_database_url(url)
    return f"sqlite:///{aivlingual_home() / 'ledger.sqlite3'}"


def normalise_database_url(url: str) -> str:
    # libpq-style URLs (what Postgres users paste) -> SQLAlchemy's psycopg2 dialect, which
    # dagster-postgres already installs (SQLAlchemy 2.1 would otherwise pick psycopg 3)
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def inbox_dir() -> Path:
    path = Path(_env("AIVLINGUAL_INBOX") or aivlingual_home() / "inbox").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def storage_url() -> str:
    """Where DataFrames are stored: a local folder or an ``s3://`` / ``gs://`` URL."""
    return _env("AIVLINGUAL_STORAGE_URL") or str(aivlingual_home() / "storage")


def env(name: str, default: str | None = None) -> str | None:
    return _env(name) or default
