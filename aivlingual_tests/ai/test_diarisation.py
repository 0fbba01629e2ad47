"""Diarised transcription: who said each segment, from OpenAI's diarising model or Gemini's schema.

Through the real openai and google-genai SDKs against the fake servers, which answer in the
providers' diarised formats (``aivlingual_tests.fakes.diarisation``).
"""

from __future__ import annotations

import wave
from pathlib import Path

import openai
import pytest
import sqlalchemy as sa

from aivlingual_assets.ai import AICore, AISettings
from aivlingual_assets.ai.ledger import usage_log


def core() -> AICore:
    return AICore(AISettings.from_env(retry_base_seconds=0.01, retry_max_seconds=0.2))


def silent_wav(path: Path, seconds: float) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(b"\0\0" * int(16000 * seconds))
    return path


def usage_rows(ai: AICore) -> list[dict]:
    with ai.ledger.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(usage_log).order_by(usage_log.c.id))]


def test_openai_diarising_model_labels_every_segment_cached_and_metered(provider_server, monkeypatch, tmp_path):
    monkeypatch.delenv("GEMINI_API_KEY")
    audio = silent_wav(tmp_path / "collab.wav", 42.0)
    provider_server.set_responder("openai.transcriptions", lambda req: [
        {"start": 0.0, "end": 3.5, "text": "こんぺこ！", "speaker": "Pekora"},
        {"start": 3.5, "end": 7.0, "text": "にゃっはろ〜", "speaker": "Miko"},
        {"start": 7.0, "end": 42.0, "text": "今日はコラボです", "speaker": "Pekora"},
    ])
    ai = core()
    with ai.meter() as meter:
        first = ai.transcribe(audio, language="ja", speakers=True)
        again = ai.transcribe(audio, language="ja", speakers=True)
    assert (first.provider, first.model) == ("openai", "gpt-4o-transcribe-diarize")
    assert [(s["speaker"], s["text"]) for s in first.segments] == [
        ("Pekora", "こんぺこ！"), ("Miko", "にゃっはろ〜"), ("Pekora", "今日はコラボです")]
    sent = provider_server.last("openai.transcriptions").form
    assert sent["response_format"] == "diarized_json" and sent["chunking_strategy"] == "auto"
    assert "timestamp_granularities[]" not in sent
    assert first.cost_usd == pytest.approx(42.0 / 60 * 0.006)
    assert again.cache_hit and again.segments == first.segments and again.cost_usd == 0.0
    assert provider_server.count("openai.transcriptions") == 1
    assert (meter.api_calls, meter.cache_hits) == (1, 1) and meter.cost_usd == pytest.approx(first.cost_usd)
    rows = usage_rows(ai)
    assert [(r["kind"], r["model"], r["cache_hit"]) for r in rows] == [
        ("transcription", "gpt-4o-transcribe-diarize", False), ("transcription", "gpt-4o-transcribe-diarize", True)]
    assert rows[1]["saved_usd"] == pytest.approx(first.cost_usd)


def test_plain_segments_stay_with_the_plain_model_and_its_own_cache_entry(provider_server, monkeypatch, tmp_path):
    monkeypatch.delenv("GEMINI_API_KEY")
    audio = silent_wav(tmp_path / "solo.wav", 12.0)
    ai = core()
    plain = ai.transcribe(audio, language="ja")
    assert plain.model == "whisper-1" and all("speaker" not in s for s in plain.segments)
    diarised = ai.transcribe(audio, language="ja", speakers=True)
    assert not diarised.cache_hit and {s["speaker"] for s in diarised.segments} == {"A", "B"}
    assert provider_server.count("openai.transcriptions") == 2


def test_gemini_asked_for_speaker_labelled_segments_with_a_schema(provider_server, monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY")
    audio = silent_wav(tmp_path / "collab.wav", 20.0)
    ai = core()
    with ai.meter() as meter:
        first = ai.transcribe(audio, language="ja", speakers=True)
        again = ai.transcribe(audio, language="ja", speakers=True)
    assert (first.provider, first.model) == ("gemini", "gemini-2.5-flash-lite")
    assert first.segments and [s["speaker"] for s in first.segments][:2] == ["A", "B"]
    assert first.segments[-1]["end"] == pytest.approx(20.0, abs=0.01)
    request = provider_server.last("gemini.generate")
    item = request.schema["$defs"]["_SpeakerSegment"]
    assert {"start", "end", "text", "speaker"} <= set(item["required"])
    assert "label every segment with its speaker" in request.prompt
    assert first.cost_usd > 0 and again.cache_hit and again.segments == first.segments
    assert provider_server.count("gemini.generate") == 1
    assert (meter.api_calls, meter.cache_hits) == (1, 1)
    assert [r["cache_hit"] for r in usage_rows(ai)] == [False, True]


def test_a_diarising_model_is_chosen_through_the_catalogue(provider_server, monkeypatch, tmp_path):
    """Switched off in the catalogue, the diarising model is not used; the plain one answers without speakers."""
    monkeypatch.delenv("GEMINI_API_KEY")
    ai = core()
    ai.ledger.update_model("openai", "gpt-4o-transcribe-diarize", "transcription", active=False)
    ai.invalidate_catalogue()
    result = ai.transcribe(silent_wav(tmp_path / "a.wav", 6.0), language="ja", speakers=True)
    assert result.model == "whisper-1" and all("speaker" not in s for s in result.segments)


def test_the_fake_refuses_what_the_real_diarising_model_refuses(provider_server, tmp_path):
    client = openai.OpenAI(base_url=provider_server.openai_base_url, api_key="test", max_retries=0)
    long_audio = silent_wav(tmp_path / "long.wav", 31.0).read_bytes()
    with pytest.raises(openai.BadRequestError, match="chunking_strategy"):
        client.audio.transcriptions.create(model="gpt-4o-transcribe-diarize", file=("a.wav", long_audio),
                                           response_format="diarized_json")
    with pytest.raises(openai.BadRequestError, match="not compatible"):
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", long_audio),
                                           response_format="diarized_json")
    result = client.audio.transcriptions.create(model="gpt-4o-transcribe-diarize", file=("a.wav", long_audio),
                                                response_format="diarized_json", chunking_strategy="auto")
    assert type(result).__name__ == "TranscriptionDiarized"
    assert result.segments[0].type == "transcript.text.segment" and result.segments[0].speaker == "A"
    assert result.usage.type == "tokens"


def test_the_diarising_model_named_by_hand_answers_in_its_only_timed_format(provider_server, monkeypatch, tmp_path):
    monkeypatch.delenv("GEMINI_API_KEY")
    result = core().transcribe(silent_wav(tmp_path / "a.wav", 8.0), language="ja", provider="openai",
                               model="gpt-4o-transcribe-diarize")
    assert provider_server.last("openai.transcriptions").form["response_format"] == "diarized_json"
    assert result.segments and all(s["speaker"] in ("A", "B") for s in result.segments)


@pytest.mark.parametrize("only", ["openai", "gemini"])
def test_known_speakers_are_sent_with_their_voice_samples_and_key_the_cache(provider_server, monkeypatch, tmp_path,
                                                                             only):
    monkeypatch.delenv("GEMINI_API_KEY" if only == "openai" else "OPENAI_API_KEY")
    audio = silent_wav(tmp_path / "chunk2.wav", 20.0)
    pekora, miko = silent_wav(tmp_path / "pekora.wav", 3.0), silent_wav(tmp_path / "miko.wav", 4.0)
    ai = core()
    result = ai.transcribe(audio, language="ja", speakers=True, known_speakers={"Pekora": pekora, "Miko": miko})
    if only == "openai":
        sent = provider_server.last("openai.transcriptions").form
        assert sent["known_speaker_names[]"] == ["Pekora", "Miko"]
        assert all(ref.startswith("data:audio/") for ref in sent["known_speaker_references[]"])
        assert {s["speaker"] for s in result.segments} == {"Pekora", "Miko"}
    else:
        request = provider_server.last("gemini.generate")
        assert len([p for p in request.inline_data if p.mime_type.startswith("audio/")]) == 3
        assert "Sample of the voice of Pekora:" in request.prompt and "(Pekora, Miko)" in request.prompt
    kind = "openai.transcriptions" if only == "openai" else "gemini.generate"
    assert ai.transcribe(audio, language="ja", speakers=True,
                         known_speakers={"Pekora": pekora, "Miko": miko}).cache_hit
    other = silent_wav(tmp_path / "other.wav", 5.0)
    assert not ai.transcribe(audio, language="ja", speakers=True, known_speakers={"Pekora": other}).cache_hit
    assert provider_server.count(kind) == 2
