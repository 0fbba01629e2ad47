"""batch_results_sensor on its own: idle without batches, patient with a provider that is down, and it re-runs
only recordings that still exist."""

from __future__ import annotations

import json

import dagster as dg

from aivlingual_assets.ai.batching import poll, submit_queued
from aivlingual_assets.batch_sensor import batch_results_sensor
from aivlingual_assets.cli import main
from aivlingual_assets.resources import AICoreResource
from aivlingual_tests.fakes.provider_server import Fault

from .batch_helpers import defer, make_core


def tick(instance):
    return batch_results_sensor(dg.build_sensor_context(instance=instance, resources={"ai": AICoreResource()}))


def test_with_no_batch_waiting_a_tick_asks_the_provider_nothing(instance, openai_only):
    result = tick(instance)
    assert isinstance(result, dg.SkipReason) and "no batch" in result.skip_message
    assert openai_only.requests == []


def test_a_provider_that_is_down_skips_the_tick_and_the_next_one_collects(instance, openai_only):
    server = openai_only
    instance.add_dynamic_partitions("recordings", ["rec-1"])
    defer(make_core(), "草", waiter="rec-1")
    [submitted] = submit_queued(make_core())
    server.complete_batch(submitted.remote_id)
    server.fail_always("openai.batches", 503)
    down = tick(instance)
    assert isinstance(down, dg.SkipReason) and "unavailable" in down.skip_message
    server.clear_faults()
    [run] = tick(instance).run_requests
    assert run.partition_key == "rec-1"


def test_a_recording_removed_while_its_batch_ran_is_not_rerun(instance, openai_only):
    server = openai_only
    instance.add_dynamic_partitions("recordings", ["kept"])
    core = make_core()
    defer(core, "草", waiter="kept")
    defer(core, "尊い", waiter="removed")
    [submitted] = submit_queued(core)
    server.complete_batch(submitted.remote_id)
    [run] = tick(instance).run_requests
    assert run.partition_key == "kept"


def test_requests_left_queued_by_a_failed_submission_are_sent_by_the_next_tick(instance, openai_only):
    server = openai_only
    instance.add_dynamic_partitions("recordings", ["rec-1"])
    defer(make_core(), "草", waiter="rec-1")  # deferred, its step's own submission never happened
    assert isinstance(tick(instance), dg.SkipReason)  # submitted now, still running
    [batch] = server.batches()
    server.complete_batch(batch["id"])
    [run] = tick(instance).run_requests
    assert run.run_key == f"batch-{batch['id']}-rec-1"


def test_a_batch_that_cannot_be_read_this_tick_does_not_hold_up_the_others(instance, openai_only):
    server = openai_only
    instance.add_dynamic_partitions("recordings", ["first", "second"])
    core = make_core()
    defer(core, "草", waiter="first")
    [one] = submit_queued(core)
    defer(core, "尊い", waiter="second")
    [two] = submit_queued(core)
    server.complete_batch(one.remote_id)
    server.complete_batch(two.remote_id)
    server.inject("openai.files", Fault.status(500))  # the first batch's output file, this tick only
    assert [r.partition_key for r in tick(instance).run_requests] == ["second"]
    assert [r.partition_key for r in tick(instance).run_requests] == ["first"]


def test_aivlingual_batches_says_what_was_sent_and_who_waits(openai_only, capsys):
    core = make_core()
    assert main(["batches"]) == 0 and "No batch sent yet" in capsys.readouterr().out
    defer(core, "草", waiter="rec-1")
    [submitted] = submit_queued(core)
    defer(core, "尊い", waiter="rec-2")  # queued, not yet in a batch
    assert main(["batches"]) == 0
    out = capsys.readouterr().out
    assert "1 request(s) queued" in out and "rec-2" in out
    assert submitted.remote_id in out and "validating" in out and "1 submitted" in out and "waiting: rec-1" in out
    openai_only.complete_batch(submitted.remote_id)
    poll(core)
    assert main(["batches", "--json"]) == 0
    [batch] = json.loads(capsys.readouterr().out)["batches"]
    assert (batch["status"], batch["states"], batch["waiting"]) == ("completed", {"done": 1}, ["rec-1"])
