"""The offline engine's worker processes (#14) answer exactly what the serial path answers, in the same order."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from aivlingual_assets.analysis import engine_workers, levels, offline_extractor
from aivlingual_assets.analysis.offline_extractor import extract_expressions
from aivlingual_assets.analysis.pipeline import assess_levels, extract_recording_expressions
from aivlingual_assets.analysis.schemas import TranscriptLine
from aivlingual_assets.analysis.tasks import ExtractExpressions, chunk_lines
from aivlingual_assets.ingestion.subtitles import parse_subtitle_file

SAMPLE_SRT = Path(__file__).resolve().parents[2] / "examples" / "sample_stream.ja.srt"
MAX_CHARS = 400  # small chunks: many of them, so both workers take several


@pytest.fixture(scope="module")
def stream(request) -> list[TranscriptLine]:
    """The tuning gold stream's lines, then the bundled sample's, as one recording."""
    gold = request.getfixturevalue("gold_stream")
    lines = list(gold.lines)
    end = max(line.end for line in lines) + 1
    lines += [TranscriptLine(start=end + s.start, end=end + s.end, text=s.text)
              for s in parse_subtitle_file(SAMPLE_SRT) if s.text.strip()]
    return lines


def _offline_run_task(calls: list[int] | None = None):
    """What the AI core does for the offline engine: the task's offline answer, through its JSON."""

    def run_task(task, chunk, *, endpoint):
        if calls is not None:
            calls.append(len(chunk))
        text = task.offline(chunk).model_dump_json()
        return SimpleNamespace(parsed=task.output_schema.model_validate_json(text), provider="offline")

    return run_task


@pytest.fixture
def two_workers(monkeypatch):
    monkeypatch.setenv(engine_workers.ENV, "2")
    with engine_workers.running() as workers:
        assert workers is not None
        yield workers


def test_workers_give_the_serial_expressions_in_the_serial_order(stream, two_workers, monkeypatch):
    chunks = chunk_lines(stream, max_chars=MAX_CHARS)
    assert len(chunks) >= 8
    serial = extract_recording_expressions(stream, _offline_run_task(), max_chars=MAX_CHARS, parallel=False)
    calls: list[int] = []

    def not_here(lines):  # the workers were forked before: only this process's engine is replaced
        raise AssertionError("a chunk was analysed in the calling process")

    with monkeypatch.context() as patched:
        patched.setattr(offline_extractor, "extract_expressions", not_here)
        parallel = extract_recording_expressions(stream, _offline_run_task(calls), max_chars=MAX_CHARS)
    assert calls == [len(c) for c in chunks]  # one cached request per chunk, as before
    assert len(serial) > 100
    assert [e.model_dump() for e in parallel] == [e.model_dump() for e in serial]
    # chunk by chunk too: the answer of each request is the engine's for that chunk
    ahead = engine_workers.lookahead("expressions", chunks)
    for chunk in chunks:
        assert ahead.get(chunk) == extract_expressions(chunk)


def test_workers_give_the_serial_levels(stream, two_workers, monkeypatch):
    items = extract_recording_expressions(stream, _offline_run_task(), max_chars=MAX_CHARS, parallel=False)
    serial = assess_levels(items, _offline_run_task(), parallel=False)
    calls: list[int] = []

    def not_here(*args):
        raise AssertionError("a level was assessed in the calling process")

    with monkeypatch.context() as patched:
        patched.setattr(levels, "assess_level", not_here)
        parallel = assess_levels(items, _offline_run_task(calls))
    assert calls == [min(40, len(items) - i) for i in range(0, len(items), 40)]
    assert len(serial) == len(items) and all(a is not None for a in serial)
    assert [a.model_dump() for a in parallel] == [a.model_dump() for a in serial]


def test_levels_alone_start_no_workers(monkeypatch, stream):
    monkeypatch.setenv(engine_workers.ENV, "2")
    items = extract_recording_expressions(stream[:80], _offline_run_task(), parallel=False)
    batches = [items[i : i + 2] for i in range(0, len(items), 2)]
    assert len(batches) >= 2 and engine_workers.lookahead("levels", batches) is None


def test_workers_serve_one_recording_after_another(stream, two_workers):
    first, second = stream[:60], stream[60:]
    for lines in (first, second, first):
        assert (extract_recording_expressions(lines, _offline_run_task(), max_chars=MAX_CHARS)
                == extract_recording_expressions(lines, _offline_run_task(), max_chars=MAX_CHARS, parallel=False))


def test_a_chunk_answered_from_the_cache_is_skipped(stream, two_workers):
    chunks = chunk_lines(stream[:80], max_chars=MAX_CHARS)
    ahead = engine_workers.lookahead("expressions", chunks)
    # chunks 0 and 1 were cache hits: the batch starts at the first one the engine is asked for
    assert ahead.get(chunks[2]) == extract_expressions(chunks[2])
    assert ahead.get(chunks[1]) is None  # before it: not in the batch, analysed by the caller
    assert ahead.get(chunks[4]) == extract_expressions(chunks[4])
    assert ahead.get([TranscriptLine(start=0, end=1, text="別の録画")]) is None


def test_an_unfinished_batch_does_not_leak_into_the_next(stream, two_workers):
    chunks = chunk_lines(stream, max_chars=MAX_CHARS)
    abandoned = engine_workers.lookahead("expressions", chunks)
    abandoned.get(chunks[0])  # its step failed here: the other answers are never read
    again = engine_workers.lookahead("expressions", chunks[3:6])
    assert [again.get(c) for c in chunks[3:6]] == [extract_expressions(c) for c in chunks[3:6]]
    assert abandoned.get(chunks[1]) is None  # never an answer of the later batch: analysed by the caller


def test_when_the_workers_die_the_chunks_are_analysed_here(stream, two_workers):
    chunks = chunk_lines(stream, max_chars=MAX_CHARS)
    ahead = engine_workers.lookahead("expressions", chunks)
    assert ahead.get(chunks[0]) == extract_expressions(chunks[0])
    os.kill(two_workers._process.pid, signal.SIGKILL)  # mid-batch
    two_workers._process.join()
    for chunk in chunks[1:]:  # what they sent before dying is right; then the caller analyses
        assert ahead.get(chunk) in (None, extract_expressions(chunk))
    task = ExtractExpressions(engine_workers.lookahead("expressions", chunks))  # the next batch finds them gone
    assert task.offline(chunks[-1]).items == extract_expressions(chunks[-1])
    assert two_workers.broken is not None and engine_workers._shared(start=False) is None


def test_a_forked_child_does_not_use_its_parents_workers(two_workers):
    pid = os.fork()
    if pid == 0:  # the child: no workers of its own until it starts some
        os._exit(0 if engine_workers._shared(start=False) is None else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert engine_workers._shared(start=False) is two_workers  # the parent's are still there


@pytest.mark.parametrize("setting", ["1", "0"])
def test_one_worker_or_none_is_the_serial_path(monkeypatch, stream, setting):
    monkeypatch.setenv(engine_workers.ENV, setting)
    assert engine_workers.worker_count() == 1
    with engine_workers.running() as workers:
        assert workers is None
        assert engine_workers.lookahead("expressions", chunk_lines(stream, max_chars=MAX_CHARS)) is None


def test_without_fork_the_serial_path(monkeypatch, stream):
    monkeypatch.delenv(engine_workers.ENV, raising=False)
    monkeypatch.setattr(engine_workers.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert engine_workers.worker_count() == 1
    assert engine_workers.lookahead("expressions", chunk_lines(stream, max_chars=MAX_CHARS)) is None


def test_one_chunk_alone_starts_no_workers(monkeypatch):
    monkeypatch.setenv(engine_workers.ENV, "2")
    lines = [TranscriptLine(start=0, end=1, text="ガチで草")]
    assert engine_workers.lookahead("expressions", chunk_lines(lines)) is None


@pytest.mark.parametrize(("busy", "workers"), [(0.0, 2), (1.0, 1), (4.0, 1)])
def test_workers_only_with_idle_cores(monkeypatch, busy, workers):
    monkeypatch.delenv(engine_workers.ENV, raising=False)
    monkeypatch.setattr(engine_workers.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(engine_workers, "busy_cores", lambda: busy)
    assert engine_workers.worker_count() == workers
    monkeypatch.setenv(engine_workers.ENV, "2")  # said explicitly: whatever the load
    assert engine_workers.worker_count() == 2


def test_busy_cores_are_the_others_running_now(tmp_path, monkeypatch):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("5.35 5.49 4.36 3/188 4003\n", encoding="ascii")  # 3 running, this process one of them
    assert engine_workers.busy_cores(str(loadavg)) == 2.0
    monkeypatch.setattr(engine_workers.os, "getloadavg", lambda: (0.7, 0.5, 0.4))
    loadavg.write_text("", encoding="ascii")
    assert engine_workers.busy_cores(str(loadavg)) == 0.7  # elsewhere: the last minute's load average
