"""The fake server's Batch API as the real openai SDK sees it (what the batch pricing tests stand on)."""

from __future__ import annotations

import json

import openai
import pytest

from aivlingual_tests.fakes.provider_server import ProviderServer


@pytest.fixture
def oai():
    with ProviderServer() as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
        client.server = server
        yield client
        server.assert_no_handler_errors()


def upload(oai, lines: list[dict], purpose: str = "batch") -> str:
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    return oai.files.create(file=("in.jsonl", data), purpose=purpose).id


def line(custom_id: str, model: str = "gpt-5-nano", url: str = "/v1/chat/completions") -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": url,
            "body": {"model": model, "messages": [{"role": "user", "content": custom_id}]}}


def create(oai, file_id: str, **kwargs):
    return oai.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h",
                              **kwargs)


def test_a_batch_validates_runs_and_completes_with_an_output_file_of_chat_completions(oai):
    oai.server.set_batch_progression("in_progress", "completed")
    batch = create(oai, upload(oai, [line("a"), line("b")]), metadata={"mine": "1"})
    assert (batch.status, batch.request_counts.total, batch.metadata) == ("validating", 2, {"mine": "1"})
    assert oai.batches.retrieve(batch.id).status == "in_progress"
    done = oai.batches.retrieve(batch.id)
    assert done.status == "completed" and done.error_file_id is None
    assert (done.request_counts.completed, done.request_counts.failed) == (2, 0)
    rows = [json.loads(r) for r in oai.files.content(done.output_file_id).text.splitlines()]
    assert [r["custom_id"] for r in rows] == ["a", "b"]
    assert rows[0]["response"]["status_code"] == 200
    assert rows[0]["response"]["body"]["choices"][0]["message"]["content"] == "[gpt-5-nano] a"
    assert oai.server.count("openai.chat") == 0  # lines are not requests of their own


def test_an_expired_batch_reports_the_lines_it_never_ran(oai):
    batch = create(oai, upload(oai, [line("a"), line("b")]))
    oai.server.expire_batch(batch.id, answered=1)
    expired = oai.batches.retrieve(batch.id)
    assert expired.status == "expired" and expired.output_file_id and expired.error_file_id
    [error] = [json.loads(r) for r in oai.files.content(expired.error_file_id).text.splitlines()]
    assert error["custom_id"] == "b" and error["error"]["code"] == "batch_expired" and error["response"] is None


@pytest.mark.parametrize(("lines", "code"), [
    ([line("a"), line("a")], "duplicate_custom_id"),
    ([line("a"), line("b", model="gpt-4o-mini")], "mismatched_model"),
    ([line("a", url="/v1/embeddings")], "mismatched_endpoint"),
])
def test_a_file_the_api_would_refuse_fails_the_batch_with_its_errors(oai, lines, code):
    batch = create(oai, upload(oai, lines))
    assert batch.status == "failed" and code in [e.code for e in batch.errors.data]


def test_requests_the_api_refuses_outright(oai):
    with pytest.raises(openai.BadRequestError, match="purpose 'batch'"):
        create(oai, upload(oai, [line("a")], purpose="assistants"))
    with pytest.raises(openai.NotFoundError):
        create(oai, "file-nope")
    with pytest.raises(openai.BadRequestError, match="24h"):
        oai.batches.create(input_file_id=upload(oai, [line("a")]), endpoint="/v1/chat/completions",
                           completion_window="1h")
    with pytest.raises(openai.NotFoundError):
        oai.batches.retrieve("batch_nope")


def test_batches_are_listed_newest_first_and_can_be_cancelled(oai):
    first = create(oai, upload(oai, [line("a")]))
    second = create(oai, upload(oai, [line("b")]))
    assert [b.id for b in oai.batches.list()] == [second.id, first.id]
    assert oai.batches.cancel(first.id).status == "cancelled"
    with pytest.raises(ValueError, match="already cancelled"):
        oai.server.complete_batch(first.id)
