"""Per-channel API keys: encrypted at rest under the master key, rotated under a new one, removed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from aivlingual_assets.channels import KeyVault, MasterKeyError
from aivlingual_assets.channels.store import channel_keys_table

KEY = "sk-pekora-OWN-0a1b2c3d4e5f6a7b8c9d"


def _stored_rows(store) -> list[str]:
    with store.engine.connect() as conn:
        return [" ".join(map(str, row)) for row in conn.execute(sa.select(channel_keys_table))]


def test_a_key_is_stored_encrypted_and_read_back(store, master_key, database_url, aiv_home):
    store.add("pekora")
    KeyVault(store).set_key("pekora", "openai", KEY + "\n")
    rows = _stored_rows(store)
    assert len(rows) == 1 and KEY not in rows[0]
    assert KeyVault(store).get_key("pekora", "openai") == KEY
    assert KeyVault(store).get_key("pekora", "gemini") is None
    assert store.get("pekora").key_providers == ("openai",)
    store.engine.dispose()
    leaks = [p for p in aiv_home.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    assert leaks == []  # nor in the SQLite file, its WAL or anything else in the home


def test_without_a_master_key_storing_says_how_to_make_one(store, monkeypatch):
    monkeypatch.delenv("AIVLINGUAL_MASTER_KEY", raising=False)
    store.add("pekora")
    with pytest.raises(MasterKeyError, match="Fernet.generate_key"):
        KeyVault(store).set_key("pekora", "openai", KEY)
    monkeypatch.setenv("AIVLINGUAL_MASTER_KEY", "not-a-key")
    with pytest.raises(MasterKeyError, match="not a Fernet key"):
        KeyVault(store).set_key("pekora", "openai", KEY)


def test_rotation_reencrypts_every_key_under_the_new_master_key(store, master_key, monkeypatch):
    store.add("pekora")
    store.add("marine")
    KeyVault(store).set_key("pekora", "openai", KEY)
    KeyVault(store).set_key("marine", "notion", "secret_marineNOTION123")
    before = _stored_rows(store)
    new = Fernet.generate_key().decode()
    monkeypatch.setenv("AIVLINGUAL_MASTER_KEY", new)
    monkeypatch.setenv("AIVLINGUAL_PREVIOUS_MASTER_KEYS", master_key)
    assert KeyVault(store).get_key("pekora", "openai") == KEY  # readable mid-rotation
    assert KeyVault(store).rotate() == 2
    after = _stored_rows(store)
    assert set(before).isdisjoint(after)
    monkeypatch.delenv("AIVLINGUAL_PREVIOUS_MASTER_KEYS")  # the old master key is no longer needed
    assert KeyVault(store).get_key("pekora", "openai") == KEY
    assert KeyVault(store).get_key("marine", "notion") == "secret_marineNOTION123"
    monkeypatch.setenv("AIVLINGUAL_MASTER_KEY", master_key)  # and no longer opens them
    with pytest.raises(MasterKeyError, match="another master key"):
        KeyVault(store).get_key("pekora", "openai")


def test_a_key_no_master_key_opens_stops_the_rotation_before_anything_is_written(store, master_key, monkeypatch):
    store.add("pekora")
    store.add("marine")
    KeyVault(store).set_key("pekora", "openai", KEY)
    monkeypatch.setenv("AIVLINGUAL_MASTER_KEY", Fernet.generate_key().decode())  # a lost master key
    KeyVault(store).set_key("marine", "openai", "sk-marine-0000000000")
    before = _stored_rows(store)
    monkeypatch.setenv("AIVLINGUAL_MASTER_KEY", Fernet.generate_key().decode())
    with pytest.raises(MasterKeyError, match="none of the master keys"):
        KeyVault(store).rotate()
    assert sorted(_stored_rows(store)) == sorted(before)


def test_removing_a_key_makes_the_service_key_apply_again(store, master_key):
    store.add("pekora")
    vault = KeyVault(store)
    vault.set_key("pekora", "gemini", KEY)
    assert vault.remove_key("pekora", "gemini") is True
    assert vault.get_key("pekora", "gemini") is None and store.get("pekora").key_providers == ()
    assert vault.remove_key("pekora", "gemini") is False
