"""The fake OpenAI/Gemini server, driven through the real ``openai`` and ``google-genai`` SDKs."""

from __future__ import annotations

import base64
import enum
import io
import json
import math
import threading
import wave

import httpx2
import openai
import pydantic
import pytest
from google import genai
from google.genai import _base_url as genai_base_url
from google.genai import errors as genai_errors
from google.genai import types

from aivlingual_tests.fakes.provider_server import (
    Fault,
    ProviderServer,
    Reply,
    estimate_tokens,
    example_from_schema,
    fake_embedding,
    provider_server,  # noqa: F401 - the fixture, used by test_fixture_points_both_sdks_at_the_server
)


# ---- schemas used by the tests ---------------------------------------------------------------------
class Level(str, enum.Enum):
    N5 = "N5"
    N4 = "N4"


class Example(pydantic.BaseModel):
    ja: str
    en: str


class Card(pydantic.BaseModel):
    word: str
    level: Level
    frequency: int
    score: float
    examples: list[Example]
    note: str | None = None


class Segment(pydantic.BaseModel):
    start: float
    end: float
    text: str


class Transcript(pydantic.BaseModel):
    language: str
    segments: list[Segment]


# ---- fixtures ---------------------------------------------------------------------------------------
# SDK clients cost ~0.1-0.2 s each to build (SSL contexts), so one server and one client per SDK
# serve the whole module; every test starts from server.reset().
@pytest.fixture(scope="module")
def _shared():
    with ProviderServer() as srv:
        oai_client = openai.OpenAI(base_url=srv.openai_base_url, api_key="test", max_retries=0, timeout=10)
        gem_client = genai.Client(api_key="test",
                                  http_options=types.HttpOptions(base_url=srv.gemini_base_url, timeout=10_000))
        yield srv, oai_client, gem_client
        oai_client.close()


@pytest.fixture
def server(_shared, monkeypatch):
    for name in ("GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_ENTERPRISE", "GOOGLE_GENAI_API_VERSION",
                 "GOOGLE_GENAI_HTTP_CLIENT"):
        monkeypatch.delenv(name, raising=False)
    srv = _shared[0]
    srv.reset()
    yield srv
    srv.assert_no_handler_errors()


@pytest.fixture
def oai(_shared, server):
    return _shared[1]


@pytest.fixture
def gem(_shared, server):
    return _shared[2]


def _wav(seconds: float, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x00\x00" * int(seconds * rate))
    return buffer.getvalue()


def _user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


# ==== OpenAI chat ====================================================================================
def test_chat_parse_with_pydantic_model_gets_schema_instance_and_usage(server, oai):
    completion = oai.chat.completions.parse(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "You make flashcards."}, {"role": "user", "content": "食べる"}],
        response_format=Card,
        max_completion_tokens=500,
        temperature=0.2,
    )
    card = completion.choices[0].message.parsed
    assert isinstance(card, Card)
    assert card.level is Level.N5 and card.examples == [Example(ja="x", en="x")] and card.note is None
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    assert completion.choices[0].finish_reason == "stop"

    req = server.last("openai.chat")
    assert req.model == "gpt-4o-mini" and req.schema_name == "Card" and req.json_mode
    assert req.system == "You make flashcards." and req.user == "食べる"
    assert req.prompt == "You make flashcards.\n\n食べる"
    assert req.max_output_tokens == 500 and req.temperature == 0.2
    assert req.header("authorization") == "Bearer test" and req.api_key == "test"
    content = completion.choices[0].message.content
    assert completion.usage.prompt_tokens == estimate_tokens(req.prompt)
    assert completion.usage.completion_tokens == estimate_tokens(content)
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_chat_responder_returns_dict_for_a_dict_json_schema(server, oai):
    seen = []

    def responder(req):
        seen.append(req)
        return {"word": req.user.upper(), "level": "N4", "frequency": 7, "score": 0.5, "examples": []}

    server.set_responder("openai.chat", responder)
    schema = Card.model_json_schema()
    completion = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=_user("taberu"),
        response_format={"type": "json_schema", "json_schema": {"name": "Card", "schema": schema, "strict": False}},
        max_tokens=300,
    )
    assert json.loads(completion.choices[0].message.content)["word"] == "TABERU"
    assert Card.model_validate_json(completion.choices[0].message.content).level is Level.N4
    assert seen[0].schema == schema and seen[0].max_output_tokens == 300


def test_chat_json_object_mode_and_its_json_word_rule(server, oai):
    completion = oai.chat.completions.create(
        model="gpt-4o-mini", messages=_user("Answer in JSON: hello"), response_format={"type": "json_object"}
    )
    assert json.loads(completion.choices[0].message.content) == {"echo": "Answer in JSON: hello"}
    with pytest.raises(openai.BadRequestError) as info:
        oai.chat.completions.create(model="gpt-4o-mini", messages=_user("hello"), response_format={"type": "json_object"})
    assert "must contain the word 'json'" in info.value.message
    assert server.count("openai.chat") == 2 and server.count_success("openai.chat") == 1


def test_strict_schema_is_validated_like_the_real_api(server, oai):
    loose = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "Loose", "schema": loose, "strict": True}}
    with pytest.raises(openai.BadRequestError) as info:
        oai.chat.completions.create(model="gpt-4o-mini", messages=_user("x"), response_format=fmt)
    assert "additionalProperties" in info.value.message and info.value.code == "invalid_json_schema"
    server.validate_strict_schemas = False
    completion = oai.chat.completions.create(model="gpt-4o-mini", messages=_user("x"), response_format=fmt)
    assert json.loads(completion.choices[0].message.content) == {"a": "x"}


def test_plain_text_default_and_max_tokens_truncation(server, oai):
    completion = oai.chat.completions.create(model="gpt-4o-mini", messages=_user("おはよう ございます"))
    assert completion.choices[0].message.content == "[gpt-4o-mini] おはよう ございます"

    server.set_responder("openai.chat", lambda req: "long answer " * 50)
    truncated = oai.chat.completions.create(model="gpt-4o-mini", messages=_user("x"), max_completion_tokens=5)
    assert truncated.choices[0].finish_reason == "length"
    assert truncated.choices[0].message.content == ("long answer " * 50)[:15]
    assert truncated.usage.completion_tokens == 5
    with pytest.raises(openai.LengthFinishReasonError):
        oai.chat.completions.parse(model="gpt-4o-mini", messages=_user("x"), response_format=Card, max_tokens=5)


def test_reply_gives_explicit_usage_finish_reason_and_refusal(server, oai):
    server.set_responder("openai.chat", lambda req: Reply(content="ok", prompt_tokens=1234, completion_tokens=56))
    completion = oai.chat.completions.create(model="gpt-4o-mini", messages=_user("x"))
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (1234, 56, 1290)

    server.set_responder("openai.chat", lambda req: Reply(refusal="I can't help with that."))
    refused = oai.chat.completions.create(model="gpt-4o-mini", messages=_user("x"))
    assert refused.choices[0].message.content is None
    assert refused.choices[0].message.refusal == "I can't help with that."


def test_chat_stream_with_usage_chunk(server, oai):
    server.set_responder("openai.chat", lambda req: "streamed reply text")
    chunks = list(oai.chat.completions.create(
        model="gpt-4o-mini", messages=_user("x"), stream=True, stream_options={"include_usage": True}
    ))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "streamed reply text"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage.completion_tokens == estimate_tokens("streamed reply text")
    assert server.last("openai.chat").stream


def test_responses_api_parse(server, oai):
    response = oai.responses.parse(model="gpt-4o-mini", input="食べる", instructions="sys", text_format=Card)
    assert isinstance(response.output_parsed, Card)
    assert response.status == "completed" and response.usage.input_tokens == estimate_tokens("sys\n\n食べる")
    req = server.last("openai.responses")
    assert req.system == "sys" and req.user == "食べる" and req.schema_name == "Card"


# ==== OpenAI embeddings ================================================================================
def test_embeddings_are_deterministic_in_base64_and_float_modes(server, oai):
    texts = ["猫が好きです", "猫が大好きです", "quarterly tax report"]
    default = oai.embeddings.create(model="text-embedding-3-small", input=texts)  # the SDK asks for base64
    assert server.last("openai.embeddings").body["encoding_format"] == "base64"
    assert [d.index for d in default.data] == [0, 1, 2]
    for d, text in zip(default.data, texts):
        assert d.embedding == pytest.approx(fake_embedding(text, 64), abs=1e-6)
    as_float = oai.embeddings.create(model="text-embedding-3-small", input=texts[0], encoding_format="float")
    assert as_float.data[0].embedding == pytest.approx(default.data[0].embedding, abs=1e-6)
    assert default.usage.prompt_tokens == sum(estimate_tokens(t) for t in texts)

    def cos(a, b):
        return sum(x * y for x, y in zip(a, b))

    v = [d.embedding for d in default.data]
    assert abs(math.sqrt(cos(v[0], v[0])) - 1) < 1e-5
    assert cos(v[0], v[1]) > cos(v[0], v[2])  # similar texts are closer

    small = oai.embeddings.create(model="text-embedding-3-small", input=["a"], dimensions=8)
    assert len(small.data[0].embedding) == 8
    server.embedding_dim = 16
    assert len(oai.embeddings.create(model="m", input="a").data[0].embedding) == 16
    with pytest.raises(openai.BadRequestError):
        oai.embeddings.create(model="m", input=[""])


def test_embeddings_responder(server, oai):
    server.set_responder("openai.embeddings", lambda req: [[float(len(t)), 0.0] for t in req.inputs])
    result = oai.embeddings.create(model="m", input=["ab", "abcd"])
    assert [d.embedding for d in result.data] == [[2.0, 0.0], [4.0, 0.0]]


# ==== OpenAI audio ===================================================================================
def test_transcription_verbose_json_segments_from_wav_duration(server, oai):
    result = oai.audio.transcriptions.create(
        model="whisper-1", file=("clip.wav", _wav(12.0), "audio/wav"), language="ja",
        response_format="verbose_json", timestamp_granularities=["segment"],
    )
    assert result.language == "japanese" and result.duration == pytest.approx(12.0)
    assert [(s.id, s.start, s.end) for s in result.segments] == [(0, 0.0, 4.0), (1, 4.0, 8.0), (2, 8.0, 12.0)]
    assert result.text == "".join(s.text for s in result.segments)
    assert result.words is None
    req = server.last("openai.transcriptions")
    assert req.form["model"] == "whisper-1" and req.form["language"] == "ja"
    assert req.form["timestamp_granularities[]"] == ["segment"]
    assert req.files["file"].filename == "clip.wav" and req.audio == _wav(12.0)


def test_transcription_responder_and_other_formats(server, oai):
    server.set_responder("openai.transcriptions", lambda req: "こんにちは。元気ですか？はい。")
    audio = ("a.wav", _wav(3.0), "audio/wav")
    verbose = oai.audio.transcriptions.create(model="whisper-1", file=audio, response_format="verbose_json",
                                              timestamp_granularities=["segment", "word"])
    assert [s.text for s in verbose.segments] == ["こんにちは。", "元気ですか？", "はい。"]
    assert verbose.segments[-1].end == pytest.approx(3.0) and verbose.words
    plain = oai.audio.transcriptions.create(model="whisper-1", file=audio)
    assert plain.text == "こんにちは。元気ですか？はい。"
    srt = oai.audio.transcriptions.create(model="whisper-1", file=audio, response_format="srt")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:") and "元気ですか？" in srt

    server.set_responder("openai.transcriptions", lambda req: [(0.5, 1.5, "one"), (2.0, 2.5, "two")])
    explicit = oai.audio.transcriptions.create(model="whisper-1", file=audio, language="en",
                                               response_format="verbose_json", timestamp_granularities=["segment"])
    assert [(s.start, s.end, s.text) for s in explicit.segments] == [(0.5, 1.5, "one"), (2.0, 2.5, "two")]
    assert explicit.language == "english"


def test_speech_returns_audio_with_content_type(server, oai):
    mp3 = oai.audio.speech.create(model="tts-1", voice="alloy", input="こんにちは", response_format="mp3")
    assert mp3.response.headers["content-type"] == "audio/mpeg"
    assert mp3.content[:2] == b"\xff\xfb" and len(mp3.content) % 417 == 0
    wav_bytes = oai.audio.speech.create(model="tts-1", voice="alloy", input="hello there", response_format="wav").content
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        assert wav.getframerate() == 24000 and wav.getnframes() > 0
    assert server.last("openai.speech").prompt == "hello there"
    server.set_responder("openai.speech", lambda req: b"ID3custom")
    assert oai.audio.speech.create(model="tts-1", voice="alloy", input="x").content == b"ID3custom"


# ==== OpenAI files + fine-tuning ========================================================================
def test_files_and_fine_tuning_job_lifecycle(server, oai):
    training = b'{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n' * 4
    uploaded = oai.files.create(file=("train.jsonl", training), purpose="fine-tune")
    assert uploaded.object == "file" and uploaded.bytes == len(training) and uploaded.purpose == "fine-tune"
    assert oai.files.retrieve(uploaded.id).filename == "train.jsonl"
    assert server.file_content(uploaded.id) == training
    with pytest.raises(openai.BadRequestError):
        oai.files.create(file=("bad.jsonl", b"not json\n"), purpose="fine-tune")

    with pytest.raises(openai.BadRequestError) as info:
        oai.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file="file-missing")
    assert info.value.param == "training_file"

    job = oai.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=uploaded.id, suffix="aiv",
                                      hyperparameters={"n_epochs": 2})
    assert job.object == "fine_tuning.job" and job.status == "validating_files" and job.fine_tuned_model is None
    assert oai.fine_tuning.jobs.retrieve(job.id).status == "validating_files"  # stays until the test moves it
    server.set_job_status(job.id, "running")
    assert oai.fine_tuning.jobs.retrieve(job.id).status == "running"

    server.finish_job(job.id, fine_tuned_model="ft:gpt-4o-mini:aivlingual::abc", trained_tokens=4321,
                      metrics={"train_loss": 0.123})
    done = oai.fine_tuning.jobs.retrieve(job.id)
    assert (done.status, done.fine_tuned_model, done.trained_tokens) == ("succeeded", "ft:gpt-4o-mini:aivlingual::abc", 4321)
    assert done.hyperparameters.n_epochs == 2 and done.finished_at is not None

    events = oai.fine_tuning.jobs.list_events(job.id).data
    assert events[0].message == "The job has successfully completed"  # newest first
    metric_events = [e for e in events if e.type == "metrics"]
    assert metric_events and metric_events[0].data["train_loss"] == 0.123
    assert [e.message for e in oai.fine_tuning.jobs.list_events(job.id, limit=2).data] == [e.message for e in events[:2]]

    csv_text = base64.b64decode(oai.files.content(done.result_files[0]).content).decode()
    header, *rows = csv_text.strip().splitlines()
    assert header.split(",")[:2] == ["step", "train_loss"] and rows[-1].split(",")[1] == "0.123"

    checkpoint = oai.fine_tuning.jobs.checkpoints.list(job.id).data[0]
    assert checkpoint.metrics.train_loss == 0.123 and checkpoint.fine_tuning_job_id == job.id
    assert "ft:gpt-4o-mini:aivlingual::abc" in [m.id for m in oai.models.list()]
    assert oai.models.retrieve("ft:gpt-4o-mini:aivlingual::abc").owned_by == "aivlingual"
    with pytest.raises(openai.BadRequestError):
        oai.fine_tuning.jobs.cancel(job.id)
    assert server.count("openai.fine_tuning") >= 8 and server.count("openai.files") >= 3


def test_failed_cancelled_and_listed_jobs(server, oai):
    file_id = oai.files.create(file=("t.jsonl", b'{"messages": []}\n'), purpose="fine-tune").id
    first = oai.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
    second = oai.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
    third = oai.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
    server.fail_job(first.id, "Training file has too few examples", code="invalid_training_file")
    failed = oai.fine_tuning.jobs.retrieve(first.id)
    assert failed.status == "failed" and failed.error.code == "invalid_training_file"
    assert failed.error.message == "Training file has too few examples"
    assert oai.fine_tuning.jobs.cancel(second.id).status == "cancelled"
    page = oai.fine_tuning.jobs.list(limit=2)
    assert [j.id for j in page.data] == [third.id, second.id] and page.has_more
    assert [j.id for j in oai.fine_tuning.jobs.list(limit=2)] == [third.id, second.id, first.id]  # auto-paging
    with pytest.raises(openai.NotFoundError):
        oai.fine_tuning.jobs.retrieve("ftjob-nope")


def test_job_progression_advances_per_retrieve(server, oai):
    file_id = oai.files.create(file=("t.jsonl", b'{"messages": []}\n' * 3), purpose="fine-tune").id
    server.set_job_progression("queued", "running", "succeeded", fine_tuned_model="ft:x:y::z")
    job = oai.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
    statuses = [oai.fine_tuning.jobs.retrieve(job.id).status for _ in range(4)]
    assert statuses == ["queued", "running", "succeeded", "succeeded"]
    final = server.get_job(job.id)
    assert final["fine_tuned_model"] == "ft:x:y::z" and final["trained_tokens"] > 0


# ==== Gemini ========================================================================================
def test_gemini_base_url_env_is_honoured_by_the_sdk(server, monkeypatch):
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL", raising=False)
    monkeypatch.delenv("GOOGLE_GENAI_USE_VERTEXAI", raising=False)
    monkeypatch.delenv("GOOGLE_GENAI_USE_ENTERPRISE", raising=False)
    assert genai.Client(api_key="test")._api_client._http_options.base_url.startswith("https://generativelanguage")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.gemini_base_url)
    assert genai_base_url.get_base_url(False) == server.gemini_base_url
    client = genai.Client(api_key="test")
    assert client._api_client._http_options.base_url == server.gemini_base_url
    response = client.models.generate_content(model="gemini-2.5-flash", contents="hello")
    assert response.text == "[gemini-2.5-flash] hello"
    req = server.last("gemini.generate")
    assert req.protocol == "gemini" and req.api_key == "test" and req.header("x-goog-api-key") == "test"
    assert req.path == "/v1/models/gemini-2.5-flash:generateContent"


def test_gemini_generate_with_pydantic_response_schema(server, gem):
    response = gem.models.generate_content(
        model="gemini-2.5-flash",
        contents="食べる",
        config=types.GenerateContentConfig(system_instruction="Make a card.", response_mime_type="application/json",
                                           response_schema=Card, max_output_tokens=800),
    )
    assert isinstance(response.parsed, Card) and response.parsed.level is Level.N5
    req = server.last("gemini.generate")
    assert req.schema["type"] == "OBJECT"  # the SDK sends Gemini's schema dialect for pydantic models
    assert req.system == "Make a card." and req.user == "食べる" and req.max_output_tokens == 800
    usage = response.usage_metadata
    assert usage.prompt_token_count == estimate_tokens("Make a card.\n\n食べる")
    assert usage.candidates_token_count == estimate_tokens(response.text)
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
    assert response.model_version == "gemini-2.5-flash" and response.response_id
    assert response.candidates[0].finish_reason == types.FinishReason.STOP


def test_gemini_inline_audio_json_schema_and_responder(server, gem):
    def responder(req):
        assert req.audio is not None and req.inline_data[0].mime_type == "audio/wav"
        return Transcript(language="ja", segments=[Segment(start=0.0, end=2.0, text="こんにちは")])

    server.set_responder("gemini.*", responder)
    response = gem.models.generate_content(
        model="gemini-2.5-flash",
        contents=[types.Part.from_bytes(data=_wav(2.0), mime_type="audio/wav"), "Transcribe this audio."],
        config=types.GenerateContentConfig(response_mime_type="application/json",
                                           response_json_schema=Transcript.model_json_schema()),
    )
    assert Transcript.model_validate_json(response.text).segments[0].text == "こんにちは"
    req = server.last("gemini.generate")
    assert req.schema == Transcript.model_json_schema()
    details = {d.modality.value: d.token_count for d in response.usage_metadata.prompt_tokens_details}
    assert details == {"TEXT": estimate_tokens("Transcribe this audio."), "AUDIO": 64}  # 32 tokens per second


def test_gemini_max_tokens_safety_and_stream(server, gem):
    server.set_responder("gemini.generate", lambda req: "word " * 40)
    capped = gem.models.generate_content(model="g", contents="x", config={"max_output_tokens": 4})
    assert capped.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS and capped.text == ("word " * 40)[:12]

    server.set_responder("gemini.generate", lambda req: Reply(content=None, finish_reason="SAFETY"))
    blocked = gem.models.generate_content(model="g", contents="x")
    assert blocked.text is None and blocked.candidates[0].finish_reason == types.FinishReason.SAFETY

    server.set_responder("gemini.generate", None)
    pieces = [chunk.text for chunk in gem.models.generate_content_stream(model="g", contents="stream this")]
    assert len(pieces) > 1 and "".join(pieces) == "[g] stream this"


def test_gemini_embed_content(server, gem):
    result = gem.models.embed_content(model="gemini-embedding-001", contents=["犬", "猫"])
    assert [e.values for e in result.embeddings] == [
        pytest.approx(fake_embedding("犬", 64)), pytest.approx(fake_embedding("猫", 64))]
    small = gem.models.embed_content(model="gemini-embedding-001", contents="犬", config={"output_dimensionality": 8})
    assert small.embeddings[0].values == pytest.approx(fake_embedding("犬", 8))
    req = server.last("gemini.embed")
    assert req.inputs == ["犬"] and req.model == "gemini-embedding-001"
    assert server.count("gemini.embed", model="gemini-embedding-001") == 2
    assert gem.models.count_tokens(model="g", contents="hello").total_tokens == estimate_tokens("hello")


# ==== faults: OpenAI ================================================================================
def test_openai_rate_limit_fault_exposes_retry_after(server, oai):
    server.inject("openai.chat", Fault.status(429, retry_after=0.1))
    with pytest.raises(openai.RateLimitError) as info:
        oai.chat.completions.create(model="gpt-4o-mini", messages=_user("x"))
    assert info.value.response.headers["retry-after"] == "0.1"
    assert info.value.code == "rate_limit_exceeded" and info.value.type == "requests"
    assert oai.chat.completions.create(model="gpt-4o-mini", messages=_user("x")).choices  # fault consumed
    assert server.requests[0].status == 429 and server.requests[0].fault == Fault.status(429, retry_after=0.1)
    assert (server.count("openai.chat"), server.count_success("openai.chat")) == (2, 1)


def test_openai_server_errors_timeout_disconnect_and_malformed_json(server, oai):
    server.inject("openai.chat", Fault.status(500), Fault.status(503, message="overloaded"))
    with pytest.raises(openai.InternalServerError) as first:
        oai.chat.completions.create(model="m", messages=_user("x"))
    with pytest.raises(openai.InternalServerError) as second:
        oai.chat.completions.create(model="m", messages=_user("x"))
    assert (first.value.status_code, second.value.status_code) == (500, 503) and second.value.body["message"] == "overloaded"

    server.inject("openai.chat", Fault.delay(1.0))
    with pytest.raises(openai.APITimeoutError):
        oai.chat.completions.create(model="m", messages=_user("x"), timeout=0.2)

    server.inject("openai.embeddings", Fault.disconnect())
    with pytest.raises(openai.APIConnectionError):
        oai.embeddings.create(model="m", input="x")

    server.inject("openai.chat", Fault.malformed_json())
    with pytest.raises(json.JSONDecodeError):
        oai.chat.completions.create(model="m", messages=_user("x"))
    assert server.count_success() == 0 and server.count() == 5


def test_openai_invalid_content_fault_breaks_parse(server, oai):
    server.inject("openai.chat", Fault.invalid_content('{"word": 1}'))
    with pytest.raises(pydantic.ValidationError):
        oai.chat.completions.parse(model="m", messages=_user("x"), response_format=Card)
    server.inject("openai.chat", Fault.invalid_content("not json at all"))
    raw = oai.chat.completions.create(model="m", messages=_user("x"))
    assert raw.choices[0].message.content == "not json at all" and raw.usage.completion_tokens > 0


def test_openai_sdk_retries_are_visible_in_the_count(server):
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=2)
    server.inject("openai.chat", Fault.status(500, retry_after=0.01), Fault.status(429, retry_after=0.01))
    completion = client.chat.completions.create(model="m", messages=_user("x"))
    assert completion.choices[0].message.content == "[m] x"
    assert (server.count("openai.chat"), server.count_success("openai.chat")) == (3, 1)
    assert [r.header("x-stainless-retry-count") for r in server.requests] == ["0", "1", "2"]
    assert [r.status for r in server.requests] == [500, 429, 200]
    client.close()


# ==== faults: Gemini ==================================================================================
def test_gemini_error_faults(server, gem):
    server.inject("gemini.generate", Fault.status(429, retry_after=0.1), Fault.status(500))
    with pytest.raises(genai_errors.ClientError) as rate:
        gem.models.generate_content(model="g", contents="x")
    assert rate.value.code == 429 and rate.value.status == "RESOURCE_EXHAUSTED"
    assert rate.value.response.headers["retry-after"] == "0.1"
    assert rate.value.details["error"]["details"][0]["retryDelay"] == "0.1s"
    with pytest.raises(genai_errors.ServerError) as internal:
        gem.models.generate_content(model="g", contents="x")
    assert internal.value.code == 500 and internal.value.status == "INTERNAL"

    server.inject("gemini.generate", Fault.malformed_json())
    with pytest.raises(json.JSONDecodeError):
        gem.models.generate_content(model="g", contents="x")

    server.inject("gemini.generate", Fault.invalid_content("not json"))
    bad = gem.models.generate_content(model="g", contents="x", config=types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=Card))
    assert bad.text == "not json" and bad.parsed is None


def test_gemini_timeout_and_disconnect_surface_httpx2_errors(server, monkeypatch):
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.gemini_base_url)
    client = genai.Client(api_key="test", http_options=types.HttpOptions(timeout=200))
    server.inject("gemini.generate", Fault.delay(1.0))
    with pytest.raises(httpx2.TimeoutException):  # google-genai 3.x uses httpx2, not httpx
        client.models.generate_content(model="g", contents="x")
    server.inject("gemini.embed", Fault.disconnect())
    with pytest.raises(httpx2.TransportError):
        client.models.embed_content(model="e", contents=["x"])


def test_gemini_sdk_retry_options_are_visible_in_the_count(server, monkeypatch):
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.gemini_base_url)
    retry = types.HttpRetryOptions(attempts=3, initial_delay=0.01, max_delay=0.02, jitter=0)
    client = genai.Client(api_key="test", http_options=types.HttpOptions(retry_options=retry))
    server.inject("gemini.generate", Fault.status(503), Fault.status(429))
    assert client.models.generate_content(model="g", contents="x").text == "[g] x"
    assert (server.count("gemini.generate"), server.count_success("gemini.generate")) == (3, 1)


# ==== fault routing, persistent failures, auth ============================================================
def test_wildcard_and_exact_queues_and_fail_always(server, oai, gem):
    server.inject("*", Fault.status(500))
    server.inject("openai.embeddings", Fault.status(429))
    with pytest.raises(openai.RateLimitError):  # the exact-kind queue is served first
        oai.embeddings.create(model="m", input="x")
    with pytest.raises(genai_errors.ServerError):  # the "*" fault is taken by any kind
        gem.models.generate_content(model="g", contents="x")
    assert server.pending_faults() == 0

    server.fail_always("gemini.*", 503)
    for _ in range(3):
        with pytest.raises(genai_errors.ServerError):
            gem.models.embed_content(model="e", contents=["x"])
    assert oai.embeddings.create(model="m", input="x").data  # other protocol unaffected
    server.inject("gemini.embed", Fault.delay(0.01))  # queued faults win over the persistent one
    assert gem.models.embed_content(model="e", contents=["x"]).embeddings
    server.clear_faults()
    assert gem.models.embed_content(model="e", contents=["x"]).embeddings
    assert server.count("gemini.embed") == 5 and server.count_success("gemini.embed") == 2


def test_responder_can_return_a_fault_for_specific_requests(server, oai):
    server.set_responder("openai.chat", lambda req: Fault.status(400, message="nope") if "bad" in req.user else None)
    assert oai.chat.completions.create(model="m", messages=_user("good")).choices[0].message.content == "[m] good"
    with pytest.raises(openai.BadRequestError) as info:
        oai.chat.completions.create(model="m", messages=_user("bad"))
    assert info.value.body["message"] == "nope"


def test_required_api_key(server, oai, gem):
    server.require_api_key("right-key")
    with pytest.raises(openai.AuthenticationError) as oai_info:
        oai.chat.completions.create(model="m", messages=_user("x"))
    assert oai_info.value.code == "invalid_api_key"
    with pytest.raises(genai_errors.ClientError) as gem_info:
        gem.models.generate_content(model="g", contents="x")
    assert gem_info.value.code == 401 and gem_info.value.status == "UNAUTHENTICATED"
    good = openai.OpenAI(base_url=server.openai_base_url, api_key="right-key", max_retries=0)
    assert good.chat.completions.create(model="m", messages=_user("x")).choices
    server.require_api_key("right-key", "gemini", gemini_status=400)
    with pytest.raises(genai_errors.ClientError) as real_style:
        gem.models.generate_content(model="g", contents="x")
    assert real_style.value.code == 400 and real_style.value.status == "INVALID_ARGUMENT"
    assert [r.api_key for r in server.requests] == ["test", "test", "right-key", "test"]
    assert server.count() == 4 and server.count_success() == 1
    good.close()


def test_unknown_routes_are_logged_404_and_ignore_faults(server, oai):
    server.fail_always("*", 500)
    with pytest.raises(openai.NotFoundError):
        oai.moderations.create(input="x")  # a route the fake does not speak
    assert server.last().kind == "openai.unknown" and server.last().status == 404


def test_responder_exception_is_reported(server, oai):
    def broken(req):
        raise RuntimeError("responder bug")

    server.set_responder("openai.chat", broken)
    with pytest.raises(openai.InternalServerError):
        oai.chat.completions.create(model="m", messages=_user("x"))
    with pytest.raises(AssertionError, match="responder bug"):
        server.assert_no_handler_errors()
    server.reset()
    assert server.requests == [] and server.handler_errors == []
    assert oai.chat.completions.create(model="m", messages=_user("x")).choices


def test_log_is_thread_safe_under_concurrent_clients(server, oai):
    errors = []

    def worker(n):
        try:
            for i in range(5):
                oai.embeddings.create(model=f"m{n % 2}", input=f"text {n} {i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert server.wait_for_requests(30, "openai.embeddings", timeout=1)
    assert server.count("openai.embeddings") == 30 and server.count(model="m0") == 15
    assert sorted(r.seq for r in server.requests) == list(range(1, 31))
    assert not server.wait_for_requests(31, timeout=0.05)


def test_fixture_points_both_sdks_at_the_server(provider_server):
    chat = openai.OpenAI(max_retries=0).chat.completions.create(model="m", messages=_user("env"))
    assert chat.choices[0].message.content == "[m] env"
    assert genai.Client().models.generate_content(model="g", contents="env").text == "[g] env"
    assert provider_server.count("openai.chat") == 1 and provider_server.count("gemini.generate") == 1


# ==== schema synthesis ====================================================================================
def test_example_from_schema_covers_refs_unions_formats_and_bounds():
    class Node(pydantic.BaseModel):
        name: str
        children: list["Node"] = []

    schema = {
        "$defs": {"Tag": {"type": "object", "properties": {"t": {"type": "string", "enum": ["a", "b"]}}, "required": ["t"]}},
        "type": "object",
        "properties": {
            "tag": {"$ref": "#/$defs/Tag"},
            "maybe": {"anyOf": [{"$ref": "#/$defs/Tag"}, {"type": "null"}]},
            "nullable_list": {"type": ["array", "null"]},
            "when": {"type": "string", "format": "date-time"},
            "code": {"type": "string", "pattern": "^[0-9]+$"},
            "long": {"type": "string", "minLength": 3},
            "count": {"type": "integer", "minimum": 5, "maximum": 10},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 0.5},
            "open": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5},
            "pair": {"type": "array", "items": {"type": "string"}, "minItems": 2, "uniqueItems": True},
            "none": {"type": "array", "maxItems": 0},
            "const": {"const": "fixed"},
            "merged": {"allOf": [{"$ref": "#/$defs/Tag"}, {"properties": {"u": {"type": "boolean"}}, "required": ["u"]}]},
        },
        "required": ["tag", "maybe", "nullable_list", "when", "code", "long", "count", "ratio", "open", "pair",
                     "none", "const", "merged"],
    }
    assert example_from_schema(schema) == {
        "tag": {"t": "a"}, "maybe": None, "nullable_list": None, "when": "2024-01-01T00:00:00Z", "code": "0",
        "long": "xxx", "count": 5, "ratio": 0.5, "open": 0.25, "pair": ["x", "x1"], "none": [], "const": "fixed",
        "merged": {"t": "a", "u": False},
    }
    gemini_dialect = {"type": "OBJECT", "properties": {"b": {"type": "INTEGER"}, "a": {"type": "STRING", "nullable": True}},
                      "required": ["b", "a"], "property_ordering": ["a", "b"], "minItems": "1"}
    assert list(example_from_schema(gemini_dialect).items()) == [("a", None), ("b", 0)]
    assert Node.model_validate(example_from_schema(Node.model_json_schema())) == Node(name="x")
    assert Card.model_validate(example_from_schema(Card.model_json_schema())).examples == [Example(ja="x", en="x")]


def test_responder_faults_delay_and_invalid_content_on_other_kinds(server, oai):
    server.set_responder("openai.transcriptions", lambda req: Fault.invalid_content("壊れた"))
    result = oai.audio.transcriptions.create(model="whisper-1", file=("a.wav", _wav(1.0), "audio/wav"),
                                             response_format="verbose_json", timestamp_granularities=["segment"])
    assert result.text == "壊れた" and [s.text for s in result.segments] == ["壊れた"]
    server.set_responder("openai.chat", lambda req: Fault.delay(0.05))  # sleeps, then the default content
    assert oai.chat.completions.create(model="m", messages=_user("slow")).choices[0].message.content == "[m] slow"
    assert server.last("openai.chat").succeeded


def test_stop_ends_keep_alive_connections():
    with ProviderServer() as own:
        client = openai.OpenAI(base_url=own.openai_base_url, api_key="test", max_retries=0, timeout=5)
        assert client.models.list().data  # leaves a pooled keep-alive connection
        own.stop()
        with pytest.raises(openai.APIConnectionError):
            client.models.list()
        assert own.count() == 1
        client.close()
