"""Submitting a batch is idempotent and crash-safe: a process that dies between an upload (or the batch's
creation) and its record leaves what it did to be found, never sent a second time."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import openai
import pytest

from aivlingual_assets.ai.batching import BatchStore, non_urgent, submit_queued
from aivlingual_assets.ai.batching.store import PREPARING, UPLOADED

from .batch_helpers import Gloss, defer, make_core


class Crash(BaseException):
    """The process dying at that line (nothing after it runs, no handler catches it)."""


def dead_owner() -> str:
    """The lock-owner id of a process of this host that has exited."""
    pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                         check=True).stdout.strip()
    return f"{socket.gethostname()}:{pid}:gone"


def crash_when_recording(monkeypatch, **expected) -> None:
    """Makes the batch record whose values include ``expected`` crash the process instead of being written."""
    record = BatchStore.update_batch

    def update_batch(self, batch_id, **values):
        if all(values.get(k) == v for k, v in expected.items()):
            raise Crash()
        return record(self, batch_id, **values)

    monkeypatch.setattr(BatchStore, "update_batch", update_batch)


def the_process_died(core) -> None:
    """What a crashed process leaves: its half-submitted batch, owned by a process that no longer exists."""
    store = BatchStore(core.ledger)
    for batch in store.batches([PREPARING, UPLOADED]):
        assert store.take_over(batch.id, core.owner, dead_owner())


def batch_inputs(server) -> list[list[str]]:
    return [[json.loads(line)["custom_id"] for line in server.file_content(b["input_file_id"]).decode().splitlines()]
            for b in server.batches()]


def test_a_crash_between_the_upload_and_its_record_does_not_upload_or_submit_twice(openai_only, aiv_home, monkeypatch):
    server = openai_only
    core = make_core()
    key = defer(core, "草").cache_key
    with monkeypatch.context() as patched:
        crash_when_recording(patched, status=UPLOADED)
        with pytest.raises(Crash):
            submit_queued(core)
    assert len(server.files()) == 1 and server.batches() == []  # uploaded, not recorded
    the_process_died(core)

    after = make_core()  # the next run (or the sensor's tick)
    [resumed] = submit_queued(after)
    assert len(server.files()) == 1  # the uploaded file was found by its name, not uploaded again
    assert batch_inputs(server) == [[key]] and resumed.remote_id == server.batches()[0]["id"]
    assert submit_queued(after) == [] and len(server.batches()) == 1
    with non_urgent("rec-1"):  # and the request still waits for that batch rather than being queued again
        defer(after, "草")
    assert submit_queued(after) == [] and len(server.batches()) == 1


def test_a_crash_between_creating_the_batch_and_its_record_does_not_submit_twice(openai_only, aiv_home, monkeypatch):
    server = openai_only
    core = make_core()
    key = defer(core, "草").cache_key
    with monkeypatch.context() as patched:
        crash_when_recording(patched, status="validating")
        with pytest.raises(Crash):
            submit_queued(core)
    assert len(server.batches()) == 1  # created at the provider, not recorded here
    the_process_died(core)

    [resumed] = submit_queued(make_core())
    assert len(server.batches()) == 1 and len(server.files()) == 1  # found by its metadata, not created again
    assert resumed.remote_id == server.batches()[0]["id"] and batch_inputs(server) == [[key]]


def test_a_crash_before_the_upload_uploads_once_when_resumed(openai_only, aiv_home, monkeypatch):
    from aivlingual_tests.fakes.provider_server import Fault

    server = openai_only
    core = make_core()
    key = defer(core, "草").cache_key
    server.inject("openai.files", Fault.disconnect())  # the upload never arrives
    with pytest.raises(openai.APIConnectionError):
        submit_queued(core)
    assert [b.status for b in BatchStore(core.ledger).batches()] == [PREPARING] and server.batches() == []
    assert len(submit_queued(core)) == 1  # the same process, next tick
    assert len([f for f in server.files() if f["purpose"] == "batch"]) == 1 and batch_inputs(server) == [[key]]


def test_a_batch_another_live_process_is_submitting_is_left_to_it(openai_only, aiv_home, monkeypatch):
    server = openai_only
    core = make_core()
    defer(core, "草")
    with monkeypatch.context() as patched:
        crash_when_recording(patched, status=UPLOADED)  # stopped mid-way, but its process lives on
        with pytest.raises(Crash):
            submit_queued(core)
    assert submit_queued(make_core()) == []  # another process: not its batch to finish
    assert server.batches() == []
    [finished] = submit_queued(core)  # its owner finishes it
    assert len(server.files()) == 1 and len(server.batches()) == 1 and finished.requests == 1


def test_a_second_submitter_finds_nothing_left_to_send(openai_only, aiv_home):
    server = openai_only
    first, second = make_core(), make_core()
    keys = [defer(first, p).cache_key for p in ("草", "尊い", "てぇてぇ")]
    taken = submit_queued(first) + submit_queued(second)
    assert [t.requests for t in taken] == [3]
    assert sorted(key for batch in batch_inputs(server) for key in batch) == sorted(keys)


def test_a_collection_interrupted_half_way_never_logs_an_answer_twice(openai_only, aiv_home, monkeypatch):
    import sqlalchemy as sa

    from aivlingual_assets.ai.batching import collector, poll
    from aivlingual_assets.ai.ledger import usage_log

    server = openai_only
    core = make_core()
    first = defer(core, "草").cache_key
    defer(core, "尊い")
    [submitted] = submit_queued(core)
    server.complete_batch(submitted.remote_id)
    write = collector._write_answer
    written = []

    def dies_after_the_first(core_, row, answer):
        if written:
            raise Crash()
        written.append(row.cache_key)
        write(core_, row, answer)

    with monkeypatch.context() as patched:
        patched.setattr(collector, "_write_answer", dies_after_the_first)
        with pytest.raises(Crash):
            poll(core)
    [ended] = poll(make_core())[0]  # the next tick collects what is left: nothing of the two is logged again
    assert ended.answered == [] and ended.fell_back == {}
    with core.ledger.connect() as conn:
        logged = conn.execute(sa.select(sa.func.count()).select_from(usage_log)).scalar_one()
    assert written == [first] and logged == 1
    assert make_core().generate_text("gloss", "草", schema=Gloss).cache_hit
    assert not make_core().generate_text("gloss", "尊い", schema=Gloss).cache_hit  # lost with the crash: asked again
    assert server.count("openai.chat") == 1
