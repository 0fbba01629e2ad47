"""Batch pricing: non-urgent requests through OpenAI's Batch API (real SDK, fake server), once, at half price."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from aivlingual_assets.ai import AICore
from aivlingual_assets.ai.batching import BatchStore, non_urgent, poll, submit_queued
from aivlingual_assets.ai.batching.store import DONE, FALLBACK
from aivlingual_assets.ai.budgets import text_cost
from aivlingual_assets.ai.ledger import ai_memory, usage_log
from aivlingual_tests.fakes.provider_server import Fault

from .batch_helpers import Gloss, defer, make_core


def usage_rows(core: AICore) -> list[dict]:
    with core.ledger.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(usage_log).order_by(usage_log.c.id))]


def input_lines(server, batch: dict) -> list[dict]:
    return [json.loads(line) for line in server.file_content(batch["input_file_id"]).decode().splitlines()]


def state(core: AICore, key: str) -> str | None:
    return BatchStore(core.ledger).state(key)


def test_a_batched_request_is_submitted_once_then_answered_from_the_cache_at_half_price(openai_only, database_url):
    server = openai_only
    core = make_core(database_url=database_url)
    pending = defer(core, "草")
    assert defer(core, "草").cache_key == pending.cache_key  # a rerun before submission: still one request
    first = submit_queued(core)
    assert [s.requests for s in first] == [1]
    defer(core, "草")  # a rerun while the batch runs waits for it
    assert submit_queued(core) == []
    assert len(server.batches()) == 1 and len([f for f in server.files() if f["purpose"] == "batch"]) == 1
    batch = server.batches()[0]
    assert (batch["endpoint"], batch["completion_window"]) == ("/v1/chat/completions", "24h")
    lines = input_lines(server, batch)
    assert [line["custom_id"] for line in lines] == [pending.cache_key]  # custom_id is the cache key
    assert lines[0]["body"]["model"] == pending.model == "gpt-5-nano"
    assert lines[0]["body"]["response_format"]["type"] == "json_schema"

    ended, still_open = poll(core)
    assert ended == [] and [b.remote_id for b in still_open] == [batch["id"]]
    server.complete_batch(batch["id"])
    ended, still_open = poll(core)
    assert [(e.status, e.answered, e.waiters) for e in ended] == [("completed", [pending.cache_key], ["rec-1"])]
    assert still_open == [] and poll(core) == ([], [])  # collected once

    result = core.generate_text("gloss", "草", schema=Gloss, endpoint="expressions", channel="demo")
    assert result.cache_hit and result.parsed == Gloss(word="草", meaning="meaning of 草")
    with non_urgent("rec-1"):  # and so is the nightly rerun: nothing deferred, nothing asked
        assert core.generate_text("gloss", "草", schema=Gloss, endpoint="expressions", channel="demo").cache_hit
    assert server.count("openai.chat") == 0 and server.batch_lines_answered == 1

    paid = [r for r in usage_rows(core) if not r["cache_hit"]]
    assert len(paid) == 1 and paid[0]["selection_mode"] == "batch" and paid[0]["success"]
    assert paid[0]["channel"] == "demo" and paid[0]["endpoint"] == "expressions"
    list_price = text_cost({"input_per_1m": 0.05, "output_per_1m": 0.40, "per_request": 0.0},
                           paid[0]["input_tokens"], paid[0]["output_tokens"])
    assert paid[0]["input_tokens"] > 0 and paid[0]["cost_usd"] == pytest.approx(list_price / 2)
    assert ended[0].cost_usd == pytest.approx(list_price / 2)
    with core.ledger.connect() as conn:
        cached = conn.execute(sa.select(ai_memory.c.cost_usd, ai_memory.c.provider, ai_memory.c.model)).one()
    assert tuple(cached) == (pytest.approx(list_price / 2), "openai", "gpt-5-nano")
    assert result.saved_usd == pytest.approx(list_price / 2)


def test_a_cached_request_is_never_batched(openai_only, aiv_home):
    core = make_core()
    core.generate_text("gloss", "草", schema=Gloss)
    with non_urgent("rec-1"):
        assert core.generate_text("gloss", "草", schema=Gloss).cache_hit
    assert submit_queued(core) == [] and openai_only.batches() == []


def test_outside_non_urgent_work_a_miss_is_a_normal_call(openai_only, aiv_home):
    core = make_core()
    assert not core.generate_text("gloss", "草", schema=Gloss).cache_hit
    assert openai_only.count("openai.chat") == 1 and openai_only.batches() == []


def test_an_expired_batch_keeps_what_it_answered_and_the_rest_fall_back_to_normal_calls(openai_only, aiv_home):
    server = openai_only
    core = make_core()
    answered, expired = defer(core, "草"), defer(core, "てぇてぇ")
    [submitted] = submit_queued(core)
    server.expire_batch(submitted.remote_id, answered=1)
    [ended] = poll(core)[0]
    assert ended.status == "expired"
    assert ended.answered == [answered.cache_key]
    assert list(ended.fell_back) == [expired.cache_key] and "batch_expired" in ended.fell_back[expired.cache_key]
    assert (state(core, answered.cache_key), state(core, expired.cache_key)) == (DONE, FALLBACK)
    with non_urgent("rec-1"):  # the nightly rerun: the answered one is a hit, the expired one a normal call
        assert core.generate_text("gloss", "草", schema=Gloss).cache_hit
        again = core.generate_text("gloss", "てぇてぇ", schema=Gloss)
    assert not again.cache_hit and again.parsed.meaning == "meaning of てぇてぇ"
    assert server.count("openai.chat") == 1 and len(server.batches()) == 1


def test_a_failed_batch_falls_back_for_every_request(openai_only, aiv_home):
    server = openai_only
    core = make_core()
    keys = [defer(core, p).cache_key for p in ("草", "尊い")]
    [submitted] = submit_queued(core)
    server.fail_batch(submitted.remote_id, "The server had an error.")
    [ended] = poll(core)[0]
    assert ended.status == "failed" and ended.answered == [] and sorted(ended.fell_back) == sorted(keys)
    assert ended.waiters == ["rec-1"] and ended.cost_usd == 0.0
    assert [state(core, k) for k in keys] == [FALLBACK, FALLBACK]
    with non_urgent("rec-1"):
        assert not core.generate_text("gloss", "草", schema=Gloss).cache_hit
    assert server.count("openai.chat") == 1 and len(server.batches()) == 1


def test_an_invalid_batch_file_fails_the_batch_and_its_requests_fall_back(openai_only, aiv_home, monkeypatch):
    from aivlingual_assets.ai.batching import jsonl

    core = make_core()
    key = defer(core, "草").cache_key
    line = jsonl.batch_line
    with monkeypatch.context() as patched:  # lines whose url is not the batch's endpoint
        patched.setattr(jsonl, "batch_line", lambda row, endpoint: {**line(row, endpoint), "url": "/v1/embeddings"})
        submit_queued(core)
    [ended] = poll(core)[0]
    assert ended.status == "failed" and "mismatched_endpoint" in ended.fell_back[key]


def test_a_line_that_failed_falls_back_on_its_own(openai_only, aiv_home):
    server = openai_only
    core = make_core()
    failed, answered = defer(core, "草"), defer(core, "尊い")
    server.inject("openai.batch_line", Fault.status(500))  # the first line of the file
    [submitted] = submit_queued(core)
    assert [line["custom_id"] for line in input_lines(server, server.get_batch(submitted.remote_id))] == [
        failed.cache_key, answered.cache_key]
    server.complete_batch(submitted.remote_id)
    [ended] = poll(core)[0]
    assert ended.status == "completed" and ended.answered == [answered.cache_key]
    assert "HTTP 500" in ended.fell_back[failed.cache_key]
    assert not core.generate_text("gloss", "草", schema=Gloss).cache_hit  # the failed one: a normal call
    assert core.generate_text("gloss", "尊い", schema=Gloss).cache_hit
    assert server.count("openai.chat") == 1


def test_an_answer_that_does_not_validate_is_paid_logged_and_falls_back_uncached(openai_only, aiv_home):
    server = openai_only
    core = make_core()
    key = defer(core, "草").cache_key
    server.inject("openai.batch_line", Fault.invalid_content('{"word": 1}'))
    [submitted] = submit_queued(core)
    server.complete_batch(submitted.remote_id)
    [ended] = poll(core)[0]
    assert "invalid structured output" in ended.fell_back[key] and ended.cost_usd > 0
    with core.ledger.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ai_memory)).scalar_one() == 0
    [row] = usage_rows(core)
    assert not row["success"] and row["selection_mode"] == "batch" and row["cost_usd"] > 0
    assert state(core, key) == FALLBACK


def test_requests_of_other_providers_are_not_batched(provider_server, monkeypatch, aiv_home):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # Gemini only: it has no Batch API here
    core = make_core()
    with non_urgent("rec-1"):
        assert core.generate_text("gloss", "草", schema=Gloss).provider == "gemini"
    assert provider_server.batches() == [] and BatchStore(core.ledger).requests() == []


def test_submission_refuses_a_batch_that_could_pass_the_budget_and_uploads_nothing(openai_only, aiv_home):
    from aivlingual_assets.ai import BudgetExceededError

    core = make_core(monthly_budget_usd=1e-9)
    key = defer(core, "草").cache_key
    with pytest.raises(BudgetExceededError):
        submit_queued(core)
    assert openai_only.files() == [] and openai_only.batches() == []
    assert [b.status for b in BatchStore(core.ledger).batches()] == ["refused"]
    assert state(core, key) == FALLBACK and submit_queued(core) == []  # never retried as a batch
    with non_urgent("rec-1"), pytest.raises(BudgetExceededError):  # asked normally, the budget decides
        core.generate_text("gloss", "草", schema=Gloss, endpoint="expressions", channel="demo")
    assert openai_only.count("openai.chat") == 0


def test_a_batch_the_provider_no_longer_knows_falls_back(openai_only, aiv_home):
    core = make_core()
    key = defer(core, "草").cache_key
    [submitted] = submit_queued(core)
    openai_only.forget_batch(submitted.remote_id)
    [ended] = poll(core)[0]
    assert ended.status == "failed" and "not_found" in ended.fell_back[key] and state(core, key) == FALLBACK


def test_cached_prompt_tokens_of_a_batch_line_are_priced_as_cached_then_halved(openai_only, aiv_home):
    from aivlingual_tests.fakes.provider_server import Reply

    server = openai_only
    core = make_core()
    defer(core, "草")
    answer = {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "gpt-5-nano",
              "choices": [{"index": 0, "finish_reason": "stop",
                           "message": {"role": "assistant", "content": '{"word": "草", "meaning": "lol"}'}}],
              "usage": {"prompt_tokens": 3000, "completion_tokens": 100, "total_tokens": 3100,
                        "prompt_tokens_details": {"cached_tokens": 2048}}}
    server.set_responder("openai.chat", lambda req: Reply(raw=answer))
    [submitted] = submit_queued(core)
    server.complete_batch(submitted.remote_id)
    poll(core)
    [row] = usage_rows(core)
    # gpt-5-nano: $0.05 input, $0.005 cached input, $0.40 output per 1M tokens; the batch halves all three
    expected = (952 * 0.05 + 2048 * 0.005 + 100 * 0.40) / 1e6 / 2
    assert row["cost_usd"] == pytest.approx(expected) and row["cached_input_tokens"] == 2048
    assert row["prompt_cache_saved_usd"] == pytest.approx(2048 * (0.05 - 0.005) / 1e6 / 2)


def test_a_request_two_recordings_ask_is_sent_once_and_both_are_rerun(openai_only, aiv_home):
    server = openai_only
    core = make_core()
    key = defer(core, "おつぺこ", waiter="rec-1").cache_key
    [submitted] = submit_queued(core)
    assert defer(core, "おつぺこ", waiter="rec-2").cache_key == key  # the same line said in another stream
    assert submit_queued(core) == []
    server.complete_batch(submitted.remote_id)
    [ended] = poll(core)[0]
    assert ended.answered == [key] and ended.waiters == ["rec-1", "rec-2"]
    assert server.batch_lines_answered == 1


def test_what_a_batch_answer_cost_counts_towards_the_recordings_that_asked_it(openai_only, aiv_home):
    from aivlingual_assets.channels.recording_costs import RecordingCosts

    core = make_core()
    defer(core, "草", waiter="rec-1")
    defer(core, "尊い", waiter="rec-1")
    defer(core, "尊い", waiter="rec-2")  # said in both recordings: its cost is shared
    [submitted] = submit_queued(core)
    openai_only.complete_batch(submitted.remote_id)
    [ended] = poll(core)[0]
    costs = RecordingCosts(core.ledger.engine)
    assert ended.cost_usd > 0
    assert costs.spent("rec-1") + costs.spent("rec-2") == pytest.approx(ended.cost_usd)
    assert costs.spent("rec-1") > costs.spent("rec-2") > 0  # its own request and half of the shared one
