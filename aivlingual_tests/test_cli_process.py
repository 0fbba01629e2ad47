"""`aivlingual process` when things go wrong: what the terminal shows, what runs and what does not."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from aivlingual_assets.cli.outcome import QUIET_RUN_CONFIG, failure_lines

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
