"""A run killed with SIGKILL half-way, rerun: it completes and no provider call is paid twice."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from aivlingual_tests.fakes.llm_responders import pipeline_model

ROOT = Path(__file__).resolve().parents[2]


def _process(env, source):
    return subprocess.Popen([sys.executable, "-m", "aivlingual_assets.cli", "process", str(source), "--skip-stock"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


@pytest.mark.slow
def test_killed_run_resumes_without_paying_twice(provider_server, tmp_path, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    # slow answers, so the kill lands while some chunks are answered and others are not
    def slow(request):
        time.sleep(0.4)
        return pipeline_model(request)

    provider_server.set_responder("openai.chat", slow)
    shutil.copy(ROOT / "examples" / "sample_stream.ja.srt", tmp_path / "s.ja.srt")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home")}

    first = _process(env, tmp_path / "s.ja.srt")
    deadline = time.monotonic() + 300
    while provider_server.count_success("openai.chat") < 2 and time.monotonic() < deadline:
        assert first.poll() is None, first.stdout.read()
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)  # half-way: some chunks answered and cached, others not
    first.wait(timeout=30)
    answered_before_kill = provider_server.count_success("openai.chat")

    second = _process(env, tmp_path / "s.ja.srt")
    out, _ = second.communicate(timeout=600)
    assert second.returncode == 0, out[-3000:]

    answered = Counter(json.dumps(r.body["messages"], ensure_ascii=False, sort_keys=True)
                       for r in provider_server.find("openai.chat") if r.succeeded)
    assert answered_before_kill >= 2
    # every distinct question was answered (and paid) exactly once across both processes
    assert max(answered.values()) == 1, [q[:80] for q, n in answered.items() if n > 1]
