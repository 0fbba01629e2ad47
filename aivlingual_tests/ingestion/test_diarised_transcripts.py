"""Speech-to-text of a collab stream fills the transcript's speaker column (real SDKs, fake servers)."""

from __future__ import annotations

import pytest

from aivlingual_assets.ai import AICore, AISettings
from aivlingual_assets.ingestion.segments import frame_to_segments, segments_to_frame
from aivlingual_assets.ingestion.subtitles import read_subtitle_file
from aivlingual_assets.ingestion.transcript_source import transcribe_media

from .conftest import make_media


def core() -> AICore:
    return AICore(AISettings.from_env(retry_base_seconds=0.01, retry_max_seconds=0.2))


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_transcribed_collab_stream_has_speakers_cached_and_metered(provider_server, monkeypatch, tmp_path, provider):
    monkeypatch.delenv("GEMINI_API_KEY" if provider == "openai" else "OPENAI_API_KEY")
    media = make_media(tmp_path / "collab.m4a", seconds=6.0, video=False)
    said = [{"start": 0.0, "end": 2.0, "text": "こんぺこ！", "speaker": "Pekora"},
            {"start": 2.0, "end": 4.0, "text": "にゃっはろ〜", "speaker": "Miko"},
            {"start": 4.0, "end": 6.0, "text": "コラボです", "speaker": "Pekora"}]
    if provider == "openai":
        provider_server.set_responder("openai.transcriptions", lambda req: said)
    else:
        provider_server.set_responder("gemini.generate", lambda req: {"language": "ja", "segments": said})
    ai = core()
    with ai.meter() as meter:
        segments, info = transcribe_media(media, transcriber=ai, language="ja", work_dir=tmp_path)
    frame = segments_to_frame(segments)
    assert frame["speaker"].tolist() == ["Pekora", "Miko", "Pekora"]
    assert frame["text"].tolist() == ["こんぺこ！", "にゃっはろ〜", "コラボです"]
    assert [s.speaker for s in frame_to_segments(frame)] == frame["speaker"].tolist()
    assert info["speakers"] == "Miko, Pekora"
    expected_model = {"openai": "gpt-4o-transcribe-diarize", "gemini": "gemini-2.5-flash-lite"}[provider]
    assert info["models"] == f"{provider}/{expected_model}"
    assert meter.api_calls == 1 and meter.cost_usd > 0

    with ai.meter() as rerun:
        again, _ = transcribe_media(media, transcriber=ai, language="ja", work_dir=tmp_path)
    assert again == segments
    assert (rerun.api_calls, rerun.cache_hits, rerun.cost_usd) == (0, 1, 0.0)


def test_subtitle_voices_fill_the_speaker_column(tmp_path):
    vtt = tmp_path / "collab.vtt"
    vtt.write_text(
        "WEBVTT\n\n"
        "00:00:01.000 --> 00:00:03.000\n<v Pekora>こんぺこ！</v>\n\n"
        "00:00:03.500 --> 00:00:05.000\n<v.loud Miko>にゃっはろ〜\n\n"
        "00:00:05.500 --> 00:00:07.000\n二人でコラボです\n",
        encoding="utf-8",
    )
    segments, _ = read_subtitle_file(vtt)
    assert [(s.text, s.speaker) for s in segments] == [
        ("こんぺこ！", "Pekora"), ("にゃっはろ〜", "Miko"), ("二人でコラボです", None)]
    assert segments_to_frame(segments)["speaker"].tolist() == ["Pekora", "Miko", None]
