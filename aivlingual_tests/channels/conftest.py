"""Channels tests: a store on SQLite and on a real PostgreSQL, and a master key in the environment."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet


@pytest.fixture
def master_key(monkeypatch) -> str:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("AIVLINGUAL_MASTER_KEY", key)
    monkeypatch.delenv("AIVLINGUAL_PREVIOUS_MASTER_KEYS", raising=False)
    return key


@pytest.fixture
def store(database_url):
    from aivlingual_assets.channels import channel_store

    return channel_store(database_url)
