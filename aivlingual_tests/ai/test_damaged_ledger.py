"""A ledger that existed and is now empty or corrupt stops every command with a message naming the file and
how to restore or reset it; it is never recreated over the file, and `aivlingual ledger reset --yes` moves it
aside (never deletes it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from aivlingual_assets.ai import AICore, AISettings
from aivlingual_assets.ai.ledger import Ledger, make_engine
from aivlingual_assets.cli import main
from aivlingual_assets.settings import database_url
from aivlingual_assets.storage.recording_registry import RecordingRegistry
from aivlingual_assets.storage.schema import DamagedDatabaseError


DAMAGE = {
    "emptied (0 bytes)": lambda healthy: b"",
    "overwritten with garbage": lambda healthy: b"\x00\xffnot a database at all " * 500,
    "its header cut off": lambda healthy: healthy[100:],
}


@pytest.fixture(params=list(DAMAGE))
def damaged(request, aiv_home):
    """A ledger that was used (a real one, with its cache and history), then damaged on disk."""
    Ledger(database_url())
    make_engine(database_url()).dispose()  # closing the last connection folds the WAL into the file
    path = aiv_home / "ledger.sqlite3"
    assert not Path(f"{path}-wal").exists()
    path.write_bytes(DAMAGE[request.param](path.read_bytes()))
    return path


def test_every_way_in_stops_on_a_damaged_ledger_and_leaves_it_as_it_was(damaged):
    before = damaged.read_bytes()
    for open_it in (lambda: Ledger(database_url()), lambda: AICore(AISettings.from_env()),
                    lambda: RecordingRegistry(database_url())):
        with pytest.raises(DamagedDatabaseError) as caught:
            open_it()
        message = str(caught.value)
        assert str(damaged) in message and "aivlingual ledger reset --yes" in message and "backup" in message
    assert damaged.read_bytes() == before  # never recreated over the file that was there


@pytest.mark.parametrize("command", [["usage"], ["providers", "list"], ["review", "list"], ["recordings", "list"]])
def test_commands_say_what_is_wrong_and_how_to_fix_it(damaged, command, capsys):
    before = damaged.read_bytes()
    assert main(command) == 1
    err = capsys.readouterr().err
    assert err.startswith("✗ The AIVlingual ledger ") and str(damaged) in err and "ledger reset --yes" in err
    assert "Traceback" not in err
    assert damaged.read_bytes() == before


def test_reset_moves_the_damaged_ledger_aside_and_a_new_one_starts(damaged, capsys):
    before = damaged.read_bytes()
    assert main(["ledger", "check"]) == 1
    assert main(["ledger", "reset"]) == 1  # without --yes: says what is wrong, touches nothing
    assert damaged.read_bytes() == before
    capsys.readouterr()

    assert main(["ledger", "reset", "--yes"]) == 0
    out = capsys.readouterr().out
    [moved] = damaged.parent.glob("ledger.sqlite3.damaged-*")
    assert moved.read_bytes() == before and str(moved) in out  # kept, byte for byte
    assert not damaged.exists()
    assert Ledger(database_url()).schema_version() >= 1  # a new, empty ledger on next use
    assert main(["ledger", "check"]) == 0


def test_reset_refuses_a_readable_ledger(aiv_home, capsys):
    Ledger(database_url())
    before = (aiv_home / "ledger.sqlite3").read_bytes()
    assert main(["ledger", "reset", "--yes"]) == 1
    assert "readable: nothing to reset" in capsys.readouterr().err
    assert (aiv_home / "ledger.sqlite3").read_bytes() == before
    assert list(aiv_home.glob("*.damaged-*")) == []


def test_a_fresh_home_still_gets_a_new_ledger(aiv_home):
    assert not (aiv_home / "ledger.sqlite3").exists()
    assert Ledger(database_url()).schema_version() >= 1


def test_an_empty_file_aivlingual_never_used_is_a_new_ledger(aiv_home):
    sqlite3.connect(aiv_home / "ledger.sqlite3").close()  # SQLite leaves 0 bytes for a new, unwritten database
    assert (aiv_home / "ledger.sqlite3").stat().st_size == 0
    assert Ledger(database_url()).schema_version() >= 1
