"""`aivlingual providers` and `aivlingual usage`; invalid arguments of every subcommand."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from aivlingual_assets.ai import AICore
from aivlingual_assets.cli import main


class Word(BaseModel):
    word: str


def test_providers_list_shows_prices_and_their_sources(capsys):
    assert main(["providers", "list", "--kind", "text"]) == 0
    out = capsys.readouterr().out
    assert "gpt-4o-mini" in out and "gemini-2.5-flash-lite" in out
    assert "platform.openai.com/docs/pricing" in out


def test_providers_can_be_edited(capsys):
    assert main(["providers", "set-tier", "openai", "gpt-4o-mini", "--kind", "text", "--tier", "premium"]) == 0
    assert main(["providers", "set-price", "openai", "gpt-4o-mini", "--kind", "text", "--input-per-1m", "0.2",
                 "--source", "pricing page 2026-11"]) == 0
    assert main(["providers", "deactivate", "gemini", "gemini-2.5-flash-lite", "--kind", "text"]) == 0
    capsys.readouterr()
    assert main(["providers", "list", "--kind", "text", "--json"]) == 0
    rows = {(r["provider"], r["model"]): r for r in json.loads(capsys.readouterr().out)}
    mini = rows[("openai", "gpt-4o-mini")]
    assert (mini["tier"], mini["input_per_1m"], mini["price_source"]) == ("premium", 0.2, "pricing page 2026-11")
    assert rows[("gemini", "gemini-2.5-flash-lite")]["active"] is False
    assert main(["providers", "activate", "openai", "no-such-model"]) == 2


def test_usage_reports_requests_hits_and_savings(capsys):
    core = AICore()
    for prompt in ("a", "b", "a", "a"):
        core.generate_text("demo.word", prompt, schema=Word, endpoint="cli-test", offline=lambda: Word(word="x"))
    assert main(["usage", "--days", "7", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["requests"], report["cache_hits"], report["provider_calls"]) == (4, 2, 2)
    assert report["hit_rate"] == 0.5 and report["cost_usd"] == 0.0
    assert report["top_request_types"][0]["request_type"] == "demo.word"
    assert main(["usage"]) == 0
    assert "cache hits      2 (50.0% hit rate)" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "reason"), [
    (["similar", "てぇてぇ", "-k", "0"], "argument -k: must be 1 or more, not 0"),
    (["similar", "てぇてぇ", "-k", "-3"], "argument -k: must be 1 or more, not -3"),
    (["similar", "てぇてぇ", "-k", "two"], "argument -k: 'two' is not a whole number"),
    (["similar", ""], "argument text: must not be empty"),
    (["similar", "  \u3000"], "argument text: must not be empty"),
    (["usage", "--days", "0"], "argument --days: must be 1 or more, not 0"),
    (["review", "list", "--limit", "0"], "argument --limit: must be 1 or more, not 0"),
    (["ui", "--port", "70000"], "argument --port: a TCP port is 1-65535, not 70000"),
    (["providers", "set-price", "openai", "gpt-4o-mini", "--input-per-1m", "-1"], "a price is a finite number"),
    (["providers", "set-price", "openai", "gpt-4o-mini", "--input-per-1m", "nan"], "a price is a finite number"),
])
def test_invalid_arguments_are_refused_with_the_reason_before_anything_runs(argv, reason, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert reason in capsys.readouterr().err
