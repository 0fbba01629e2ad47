"""`aivlingual ui` hands over to `dagster dev` on an instance whose API pools already have their limits, and it
stops, with everything it started, on SIGINT or SIGTERM however it was started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import requests

from aivlingual_assets import cli

from .deploy.processes import session_members
from .deploy.test_webserver import _free_port

ROOT = Path(__file__).resolve().parents[1]
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _serving(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok
    except requests.ConnectionError:
        return False


def test_ui_sets_the_pool_limits_before_dagster_dev_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    for name in ("OPENAI_API_KEY", "GEMINI_API_KEY", "NOTION_TOKEN"):  # every pool's provider configured
        monkeypatch.setenv(name, "configured")
    started = []

    def execv(path, argv):
        started.append(argv)
        raise SystemExit(0)  # the real execv never returns

    monkeypatch.setattr(os, "execv", execv)
    with pytest.raises(SystemExit):
        cli.main(["ui", "--port", "3999"])
    (argv,) = started
    assert argv[1:3] == ["dev", "-w"] and argv[-2:] == ["-p", "3999"]
    assert (tmp_path / "dagster" / "dagster.yaml").exists()
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster")) as instance:
        limits = {pool: instance.event_log_storage.get_concurrency_info(pool).slot_count for pool in cli.POOL_LIMITS}
    assert limits == cli.POOL_LIMITS


@pytest.fixture
def ignoring_stop_signals():
    """What a shell does to `aivlingual ui &` without job control (SIGINT ignored), and nohup-like tools (SIGTERM)."""
    saved = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def test_ui_hands_over_with_sigint_and_sigterm_restored_when_started_ignoring_them(tmp_path, monkeypatch,
                                                                                   ignoring_stop_signals):
    # dagster dev maps SIGTERM to whatever SIGINT does: an inherited "ignore" would make it deaf to both
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    at_exec = []

    def execv(path, argv):
        at_exec.append([signal.getsignal(s) for s in STOP_SIGNALS])
        raise SystemExit(0)

    monkeypatch.setattr(os, "execv", execv)
    with pytest.raises(SystemExit):
        cli.main(["ui", "--port", "3999"])
    assert at_exec == [[signal.SIG_DFL, signal.SIG_DFL]]


def _ignore_sigint():  # runs in the child before exec: the background start of a non-interactive shell
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_ui_started_in_the_background_shuts_down_everything_on_sigterm_or_sigint(tmp_path, aiv_home, signum):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    port = _free_port()
    log = tmp_path / "ui.log"
    with open(log, "wb") as out:
        ui = subprocess.Popen([sys.executable, "-m", "aivlingual_assets.cli", "ui", "--port", str(port)], cwd=ROOT,
                              env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                              preexec_fn=_ignore_sigint)
    try:
        deadline = time.monotonic() + 180
        while not _serving(port):
            assert ui.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        started = session_members(ui.pid)
        assert len(started) >= 3, started  # dagster dev, its webserver and daemon (and code servers)

        os.kill(ui.pid, signum)
        ui.wait(timeout=90)
        deadline = time.monotonic() + 60
        while session_members(ui.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert session_members(ui.pid) == [], log.read_text()[-3000:]
        assert "Dagster services shut down." in log.read_text()
    finally:
        for pid in session_members(ui.pid):
            os.kill(pid, signal.SIGKILL)
        if ui.poll() is None:
            ui.wait(timeout=30)
