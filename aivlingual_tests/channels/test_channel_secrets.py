"""A channel's own key and the master key are written nowhere in clear: not by `channels set-key`, not by a run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from aivlingual_tests.fakes.llm_responders import pipeline_model

ROOT = Path(__file__).resolve().parents[2]
CHANNEL_SECRET = "sk-aiv-CHANNEL-9d8c7b6a5f4e3d2c1b"


@pytest.mark.slow
def test_no_channel_key_is_written_anywhere(provider_server, tmp_path, aiv_home):
    provider_server.set_responder("openai.chat", pipeline_model)
    master = Fernet.generate_key().decode()
    dagster_home = tmp_path / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "AIVLINGUAL_MASTER_KEY": master}
    env.pop("GEMINI_API_KEY", None)

    def cli(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "aivlingual_assets.cli", *argv], cwd=ROOT, env=env, input=stdin, check=False,
                              capture_output=True, text=True, timeout=900)

    outputs = [cli("channels", "add", "pekora"), cli("channels", "set-key", "pekora", "openai", stdin=CHANNEL_SECRET)]
    sample = tmp_path / "in"
    sample.mkdir()
    shutil.copy(ROOT / "examples" / "sample_stream.ja.srt", sample / "s.ja.srt")
    outputs.append(cli("process", "--channel", "pekora", str(sample / "s.ja.srt")))
    outputs += [cli("channels", "show", "pekora"), cli("channels", "list"), cli("usage", "--json")]
    for done in outputs:
        assert done.returncode == 0, done.args[3:] + [done.stdout[-3000:], done.stderr[-3000:]]
    # every step's LLM calls for the recording (expressions, difficulty, Shorts, upload copy) used its key
    assert provider_server.find("openai.chat") and {r.api_key for r in provider_server.find("openai.chat")} == {
        CHANNEL_SECRET}
    found = [f"output of {' '.join(map(str, d.args[3:5]))}" for d in outputs
             for text in (d.stdout, d.stderr) if CHANNEL_SECRET in text or master in text]
    for folder in (aiv_home, dagster_home):
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                if CHANNEL_SECRET.encode() in data or master.encode() in data:
                    found.append(str(path))
    assert found == []
