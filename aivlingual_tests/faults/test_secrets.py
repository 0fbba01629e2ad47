"""Secrets never appear in logs, run metadata, the ledger, stored frames or exports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aivlingual_tests.fakes.llm_responders import pipeline_model
from aivlingual_tests.fakes.notion_server import FakeNotionServer

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk-aiv-SECRET-7f3a9c2e41"
NOTION_SECRET = "secret_aivNOTION7f3a9c2e41xyz"


@pytest.mark.slow
def test_no_secret_is_written_anywhere(provider_server, tmp_path, aiv_home, monkeypatch):
    provider_server.require_api_key(SECRET)
    provider_server.set_responder("openai.chat", pipeline_model)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("GEMINI_API_KEY", SECRET)
    # the first answers fail, so errors (with the provider's messages) are logged too
    from aivlingual_tests.fakes.provider_server import Fault

    provider_server.inject("openai.chat", Fault.status(500), Fault.status(429, retry_after=0.1))
    sample = tmp_path / "in"
    sample.mkdir()
    shutil.copy(ROOT / "examples" / "sample_stream.ja.srt", sample / "s.ja.srt")
    dagster_home = tmp_path / "dagster_home"
    with FakeNotionServer(token=NOTION_SECRET) as notion:
        env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "NOTION_TOKEN": NOTION_SECRET,
               "NOTION_BASE_URL": notion.url, "NOTION_DATABASE_ID": notion.database_id}
        done = subprocess.run([sys.executable, "-m", "aivlingual_assets.cli", "process", str(sample / "s.ja.srt")],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert len(notion.pages()) > 0, done.stdout[-3000:]
    assert provider_server.count_success("openai.chat") > 0
    found = []
    for text in (done.stdout, done.stderr):
        if SECRET in text or NOTION_SECRET in text:
            found.append("CLI output")
    for folder in (aiv_home, dagster_home):
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                if SECRET.encode() in data or NOTION_SECRET.encode() in data:
                    found.append(str(path))
    assert found == []


LOCAL_SECRET = "lk-aiv-LOCAL-5e6f7a8b9c0d1e2f"
FOREIGN_KEY = "sk-proj-UPSTREAM0a1b2c3d4e5f6g7h8i9j"  # a key of the server's own, echoed in its error


def test_a_local_server_echoing_keys_leaks_none_of_them(provider_server, monkeypatch, aiv_home, caplog):
    """The local-model server repeats our key (and one of its own) in every error: no exception, log line,
    ledger row or run metadata may carry either."""
    import logging
    import traceback

    import sqlalchemy as sa

    from aivlingual_assets.ai import AICore, AIError, AISettings
    from aivlingual_assets.ai.ledger import usage_log
    from aivlingual_tests.fakes.provider_server import Fault

    for name in ("OPENAI_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIVLINGUAL_LOCAL_BASE_URL", provider_server.openai_base_url)
    monkeypatch.setenv("AIVLINGUAL_LOCAL_API_KEY", LOCAL_SECRET)
    provider_server.inject("openai.chat", Fault.status(500, message=f"upstream refused key {FOREIGN_KEY}"))
    provider_server.fail_always("openai.*", Fault.echo_api_key(500))
    ai = AICore(AISettings.from_env(max_attempts=2, retry_base_seconds=0.01, retry_max_seconds=0.05))

    seen: list[str] = []
    with caplog.at_level(logging.DEBUG), ai.meter() as meter:
        for call in (lambda: ai.generate_text("gloss", "草 とは?"), lambda: ai.embed(["推し"])):
            with pytest.raises(AIError) as caught:
                call()
            seen.append("".join(traceback.format_exception(caught.value)))  # with every chained cause
    assert "Request rejected for API key" in seen[0]  # the server's message itself is kept
    seen.append(caplog.text)
    seen.append(repr(meter.metadata()))
    with ai.ledger.connect() as conn:
        errors = conn.execute(sa.select(usage_log.c.error).where(usage_log.c.success.is_(False))).scalars().all()
    assert len(errors) == 4 and "***" in errors[-1]
    seen.extend(errors)
    ai.ledger.engine.dispose()
    seen.extend(p.read_bytes().decode("latin-1") for p in aiv_home.rglob("*") if p.is_file())
    assert provider_server.find("openai.chat")[0].api_key == LOCAL_SECRET  # the key really was sent and echoed
    leaks = [text[max(0, text.find(k) - 80):text.find(k) + 40] for text in seen for k in (LOCAL_SECRET, FOREIGN_KEY)
             if k in text]
    assert leaks == []
