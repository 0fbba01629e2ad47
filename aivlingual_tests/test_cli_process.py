"""`aivlingual process` when things go wrong: what the terminal shows, what runs and what does not, Ctrl-C, and
the runs a killed process leaves behind."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.utils import make_new_run_id

from aivlingual_assets import cli
from aivlingual_assets.cli import process
from aivlingual_assets.cli.interrupts import Interrupted, StopSignals
from aivlingual_assets.cli.outcome import QUIET_RUN_CONFIG, failure_lines
from aivlingual_assets.run_owners import OWNER_TAG, this_process
from aivlingual_tests.fakes.provider_server import Fault

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aivlingual_assets.cli", *args], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)


@pytest.mark.slow
def test_a_failing_step_is_one_line_with_its_cause_and_fix_and_no_stock_run_follows(tmp_path):
    # a video without subtitles and no provider key: transcription cannot run
    shutil.copy(ROOT / "examples" / "sample_stream.mp4", tmp_path / "no_subtitles.mp4")
    home = tmp_path / "dagster_home"
    done = _cli("process", str(tmp_path / "no_subtitles.mp4"), env={**os.environ, "DAGSTER_HOME": str(home)})
    out = done.stdout
    assert done.returncode == 1, out
    assert "Traceback" not in out and "Stack Trace" not in out and " - dagster - " not in out, out
    (failure,) = [line for line in out.splitlines() if "✗" in line]
    assert failure.startswith("  ✗ transcripts: The offline engine cannot serve transcription")
    assert "Set OPENAI_API_KEY or GEMINI_API_KEY" in failure  # the fix
    assert "vocabulary stock" not in out  # nothing new was analysed: no stock run
    assert "0 recording(s) processed, 1 failed, stock not refreshed (no recording was analysed)" in out
    assert len(out.splitlines()) <= 6, out

    run_id = re.search(r"\[run ([0-9a-f-]{36})\]", failure).group(1)
    with dg.DagsterInstance.from_config(str(home)) as instance:  # the full trace stays in the run's log
        (step_failure,) = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        error = step_failure.dagster_event.step_failure_data.error
        assert error.stack or error.cause.stack
        assert not instance.get_runs(filters=dg.RunsFilter(job_name="stock_job"))


def _failing_run(error: BaseException):
    @dg.asset
    def broken():
        raise error

    return dg.materialize([broken], raise_on_error=False, run_config=QUIET_RUN_CONFIG)


def test_an_error_of_ours_is_its_message_and_an_unexpected_one_says_where_the_trace_is():
    from aivlingual_assets.ingestion.errors import MissingFileError

    ours = _failing_run(MissingFileError("/streams/gone.mp4", "recording"))
    (line,) = failure_lines(ours)
    assert line == (f"broken: The recording /streams/gone.mp4 does not exist (or is not readable). Check the path, or "
                     f"that the file was not moved while it was being processed. [run {ours.run_id}]")

    unexpected = _failing_run(ZeroDivisionError("division by zero"))
    (line,) = failure_lines(unexpected)
    assert line.startswith("broken: ZeroDivisionError: division by zero — an unexpected error")
    assert "the full trace is in the run's log" in line and line.endswith(f"[run {unexpected.run_id}]")

    (line,) = failure_lines(_failing_run(dg.Failure(description="Partition x is not in the recording registry.\n"
                                                                   "More detail on a second line.")))
    assert line.startswith("broken: Partition x is not in the recording registry. [run ")


def _two_recordings(folder: Path) -> list[Path]:
    sample = (ROOT / "examples" / "sample_stream.ja.srt").read_text(encoding="utf-8")
    first, second = folder / "first.ja.srt", folder / "second.ja.srt"
    first.write_text(sample, encoding="utf-8")
    second.write_text(sample.replace("草", "笑"), encoding="utf-8")  # another content hash: another recording
    return [first, second]


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code", "name"), [(signal.SIGINT, 130, "Ctrl-C (SIGINT)"),
                                                       (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_during_a_run_stops_the_whole_command_and_nothing_is_asked_after_it(
        provider_server, tmp_path, monkeypatch, signum, code, name):
    monkeypatch.delenv("GEMINI_API_KEY")
    held, signalled = threading.Event(), threading.Event()

    def hold_the_first_question(request):
        held.set()
        signalled.wait(timeout=300)
        return Fault.disconnect()  # the asker stopped waiting: this question was never answered

    provider_server.set_responder("openai.chat", hold_the_first_question)
    home = tmp_path / "dagster_home"
    sources = _two_recordings(tmp_path)
    command = subprocess.Popen([sys.executable, "-m", "aivlingual_assets.cli", "process", *map(str, sources)],
                               cwd=ROOT, env={**os.environ, "DAGSTER_HOME": str(home)}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        assert held.wait(timeout=300), "the first recording never asked the provider anything"
        asked_before = len(provider_server.find())
        os.kill(command.pid, signum)  # a question is in flight at the provider
        out, _ = command.communicate(timeout=120)
    finally:
        signalled.set()
        if command.poll() is None:
            os.killpg(command.pid, signal.SIGKILL)
    assert command.returncode == code, out
    assert len(provider_server.find()) == asked_before  # nothing asked (nor paid) after the signal
    assert f"✗ Stopped by {name}." in out and "Traceback" not in out
    first_key = re.search(r"→ (file-[0-9a-f]{12})", out).group(1)
    assert f"Interrupted: {first_key}. Its run is marked failed" in out
    assert f"Not started: {sources[1]}." in out
    assert out.count("→ ") == 1 and "vocabulary stock" not in out  # no next file, no stock job

    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.FAILURE and run.tags["dagster/partition"] == first_key
        done = instance.get_materialized_partitions(dg.AssetKey("transcripts"))
        assert done == {first_key} and not instance.get_materialized_partitions(dg.AssetKey("expressions"))
    storage = Path(os.environ["AIVLINGUAL_HOME"]) / "storage"
    assert not list(storage.rglob("*.tmp")) and not (storage / "expressions").exists()  # nothing half-written


def _long_srt(path: Path, repeats: int) -> Path:
    """The bundled sample's subtitles said ``repeats`` times in a row: a recording of several chunks."""
    from aivlingual_assets.ingestion.subtitles import parse_subtitle_file

    def stamp(seconds: float) -> str:
        ms = int(round(seconds * 1000))
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    segments = parse_subtitle_file(ROOT / "examples" / "sample_stream.ja.srt")
    span = max(s.end for s in segments) + 1
    blocks = [f"{n}\n{stamp(r * span + s.start)} --> {stamp(r * span + s.end)}\n{s.text}\n"
              for n, (r, s) in enumerate(((r, s) for r in range(repeats) for s in segments), 1)]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def _busy_grandchild(pid: int, cpu_ticks: int = 5) -> bool:
    """Whether a grandchild of ``pid`` has used ``cpu_ticks`` of CPU (Linux's /proc; ticks are usually 10 ms)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))  # ppid, utime + stime
    children = {p for p, (ppid, _) in stats.items() if ppid == pid}
    return any(ppid in children and ticks >= cpu_ticks for ppid, ticks in stats.values())


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers in /proc")
def test_ctrl_c_while_the_engine_workers_analyse_stops_them_all(tmp_path):
    """Offline engine, its workers started (engine_workers): Ctrl-C reaches the whole process group, as from a
    terminal; the command stops as usual, no worker prints a trace, and none outlives it."""
    source = _long_srt(tmp_path / "long.ja.srt", repeats=20)
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home"), "AIVLINGUAL_ENGINE_WORKERS": "2"}
    command = subprocess.Popen([sys.executable, "-m", "aivlingual_assets.cli", "process", str(source)], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        while not _busy_grandchild(command.pid) and command.poll() is None:
            time.sleep(0.02)  # until a worker (the command's grandchild) analyses chunks
        assert command.poll() is None, command.communicate()[0]
        os.killpg(command.pid, signal.SIGINT)
        out = command.communicate(timeout=120)[0]
        for _ in range(50):  # the command waited for its workers: nothing is left of its group
            try:
                os.killpg(command.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("a process of the command outlived it")
    finally:
        if command.poll() is None:
            os.killpg(command.pid, signal.SIGKILL)
    assert command.returncode == 130, out
    assert "✗ Stopped by Ctrl-C (SIGINT)." in out and "Interrupted: file-" in out, out
    # (Dagster's compute-log watchers print their own KeyboardInterrupt; the engine's processes print nothing)
    assert not re.search(r"engine_workers|aivlingual-engine|multiprocessing", out), out


def test_a_signal_between_runs_stops_before_the_next_source(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    handler_before = signal.getsignal(signal.SIGINT)

    def resolve(arg):
        if arg == "second":
            signal.raise_signal(signal.SIGTERM)  # arrives while the command looks up its second source
        raise FileNotFoundError(f"no {arg}")

    monkeypatch.setattr(process, "resolve_recording", resolve)
    assert cli.main(["process", "first", "second", "third"]) == 143
    out = capsys.readouterr().out
    assert "✗ first: no first" in out and "✗ second" not in out
    assert "✗ Stopped by SIGTERM." in out and "Interrupted before its run started: second." in out
    assert "Not started: third." in out and "Summary" not in out
    assert signal.getsignal(signal.SIGINT) is handler_before  # the command leaves the handlers as it found them


def test_once_stopping_a_second_signal_does_not_interrupt_the_report_and_the_first_one_counts():
    with StopSignals() as stop:
        with pytest.raises(Interrupted) as first:
            signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)  # impatient Ctrl-C while the command says what it finished
        assert first.value.exit_code == 143 and stop.received() == signal.SIGTERM
        with pytest.raises(Interrupted) as again:
            stop.check()
        assert again.value.signum == signal.SIGTERM


def _dead_owner() -> str:
    gone = subprocess.Popen(["true"])
    gone.wait()  # exited and reaped: its pid names no process
    return f"{socket.gethostname()}:{gone.pid}:0badc0de"


def _run_owned_by(instance, owner: str) -> str:
    run_id = make_new_run_id()
    instance.add_run(DagsterRun(job_name="recording_job", run_id=run_id, status=dg.DagsterRunStatus.STARTED,
                                tags={"aivlingual/trigger": "cli", "aivlingual/heavy": "recording",
                                      OWNER_TAG: owner}))
    return run_id


def test_runs_left_started_by_a_killed_process_are_marked_failed_by_the_next_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    with cli.get_instance() as instance:
        orphan = _run_owned_by(instance, _dead_owner())
        alive = _run_owned_by(instance, this_process())  # a run of a process still going: left alone
        elsewhere = _run_owned_by(instance, "another-host:1:0badc0de")  # cannot be told from here: left alone

        assert cli.main(["process", str(tmp_path / "missing.ja.srt"), "--skip-stock"]) == 1
        assert f"Marked 1 run(s) whose `aivlingual process` was killed as failed: {orphan}" in capsys.readouterr().out
        assert instance.get_run_by_id(orphan).status == dg.DagsterRunStatus.FAILURE
        (failure,) = instance.all_logs(orphan, of_type=dg.DagsterEventType.RUN_FAILURE)
        assert "is gone: it was killed or crashed before the run ended" in failure.dagster_event.message
        assert {instance.get_run_by_id(r).status for r in (alive, elsewhere)} == {dg.DagsterRunStatus.STARTED}


def test_the_runs_of_aivlingual_process_carry_their_owner_and_are_exempt_from_the_daemons_runtime_limit(
        tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    subtitle = "1\n00:00:01,000 --> 00:00:02,000\nこんにちは、今日も配信です\n\n"
    (tmp_path / "s.ja.srt").write_text(subtitle, encoding="utf-8")
    cli.main(["process", str(tmp_path / "s.ja.srt"), "--skip-stock"])
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
    assert run.tags[OWNER_TAG] == this_process() and run.tags["dagster/max_runtime"] == "0"


@pytest.mark.slow
def test_after_sigkill_the_run_is_marked_failed_by_the_next_process(provider_server, tmp_path, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    held, killed = threading.Event(), threading.Event()

    def hold(request):
        held.set()
        killed.wait(timeout=300)
        return Fault.disconnect()

    provider_server.set_responder("openai.chat", hold)
    home = tmp_path / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    (source, _) = _two_recordings(tmp_path)
    first = subprocess.Popen([sys.executable, "-m", "aivlingual_assets.cli", "process", str(source)], cwd=ROOT,
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert held.wait(timeout=300), "the run never asked the provider anything"
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        killed.set()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.STARTED  # the killed process could record nothing

    later = _cli("process", str(tmp_path / "missing.ja.srt"), "--skip-stock", env=env)
    assert f"was killed as failed: {run.run_id}" in later.stdout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE


def test_full_collections_are_rare_only_while_the_command_runs():
    import gc

    before = gc.get_threshold()
    with pytest.raises(RuntimeError), process.rare_full_collections(every=100):
        young, middle, old = gc.get_threshold()
        assert (young, middle) == before[:2] and old == max(before[2], 100)
        raise RuntimeError("a failed command puts them back too")
    assert gc.get_threshold() == before
