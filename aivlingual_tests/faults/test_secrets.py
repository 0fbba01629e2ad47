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
