"""`aivlingual channels`: add, set, show (value and origin), keys from standard input only, rotation."""

from __future__ import annotations

import io
import json

import pytest
from cryptography.fernet import Fernet

from aivlingual_assets.cli import main

KEY = "sk-cli-OWN-5a6b7c8d9e0f1a2b3c4d"


def run(capsys, *argv: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_channels_commands_from_add_to_rotation(capsys, monkeypatch, master_key):
    monkeypatch.setenv("AIVLINGUAL_ANKI_DECK_NAME", "Hololive Japanese")
    assert run(capsys, "channels", "add", "pekora", "--set", "outputs.shorts=off")[0] == 0
    assert run(capsys, "channels", "set", "pekora", "monthly_budget_usd", "12.5")[0] == 0
    assert run(capsys, "channels", "set", "pekora", "tier.cheap", "gemini/gemini-2.5-flash-lite")[0] == 0
    code, out, err = run(capsys, "channels", "set-key", "pekora", "openai", stdin=KEY + "\n", monkeypatch=monkeypatch)
    assert code == 0 and KEY not in out + err

    code, out, _ = run(capsys, "channels", "show", "pekora", "--json")
    shown = json.loads(out)
    assert KEY not in out and shown["own_keys"] == ["openai"]
    assert shown["settings"]["outputs.shorts"] == {**shown["settings"]["outputs.shorts"], "value": False,
                                                   "from": "channel pekora"}
    assert shown["settings"]["monthly_budget_usd"]["value"] == 12.5
    assert shown["settings"]["tier.cheap"]["value"] == "gemini/gemini-2.5-flash-lite"
    assert shown["settings"]["anki_deck_name"]["from"] == "environment AIVLINGUAL_ANKI_DECK_NAME"
    assert shown["settings"]["tts_voice"]["from"] == "default"

    code, out, _ = run(capsys, "channels", "list")
    assert code == 0 and "pekora" in out and "keys: openai" in out and KEY not in out

    monkeypatch.setenv("AIVLINGUAL_PREVIOUS_MASTER_KEYS", master_key)
    monkeypatch.setenv("AIVLINGUAL_MASTER_KEY", Fernet.generate_key().decode())
    code, out, _ = run(capsys, "channels", "rotate-keys")
    assert code == 0 and "1 stored key(s) re-encrypted" in out
    assert run(capsys, "channels", "remove-key", "pekora", "openai")[0] == 0
    assert json.loads(run(capsys, "channels", "show", "pekora", "--json")[1])["own_keys"] == []
    assert run(capsys, "channels", "set", "pekora", "outputs.shorts", "--unset")[0] == 0
    shown = json.loads(run(capsys, "channels", "show", "pekora", "--json")[1])
    assert shown["settings"]["outputs.shorts"]["from"] == "default"


def test_a_key_given_as_an_argument_is_refused_and_never_repeated(capsys, master_key):
    run(capsys, "channels", "add", "pekora")
    code, out, err = run(capsys, "channels", "set-key", "pekora", "openai", KEY)
    assert code == 2 and "standard input only" in err
    assert KEY not in out + err  # not even repeated in the error
    assert json.loads(run(capsys, "channels", "show", "pekora", "--json")[1])["own_keys"] == []


@pytest.mark.parametrize("argv, says", [
    (["channels", "add", "bad name"], "not a channel name"),
    (["channels", "set", "nobody", "tts_voice", "nova"], "No channel named 'nobody'"),
    (["channels", "add", "x", "--set", "outputs.anki=perhaps"], "not on/off"),
])
def test_mistakes_are_refused_with_the_reason(capsys, argv, says):
    code, _, err = run(capsys, *argv)
    assert code == 2 and says in err


def test_set_key_without_a_master_key_says_how_to_make_one(capsys, monkeypatch):
    monkeypatch.delenv("AIVLINGUAL_MASTER_KEY", raising=False)
    run(capsys, "channels", "add", "pekora")
    code, out, err = run(capsys, "channels", "set-key", "pekora", "gemini", stdin=KEY, monkeypatch=monkeypatch)
    assert code == 2 and "AIVLINGUAL_MASTER_KEY is not set" in err and "Fernet.generate_key()" in err
    assert KEY not in out + err
