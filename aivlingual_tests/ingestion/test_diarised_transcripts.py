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


def test_voices_keep_their_names_across_chunks(provider_server, monkeypatch, tmp_path):
    """Chunk 1's anonymous A/B become Speaker 1/2; later chunks get their voice samples as known speakers."""
    from aivlingual_assets.ingestion import transcript_source

    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setattr(transcript_source, "CHUNK_SECONDS", 6.0)
    media = make_media(tmp_path / "long-collab.m4a", seconds=11.0, video=False)  # two chunks
    # two turns per chunk; the fake labels them A/B, or with the known speakers' names when it is given some
    provider_server.set_responder("openai.transcriptions", lambda req: [
        {"start": 0.0, "end": 2.5, "text": "一つ目の話"}, {"start": 2.5, "end": 5.0, "text": "二つ目の話"}])
    ai = core()
    segments, info = transcribe_media(media, transcriber=ai, language="ja", work_dir=tmp_path)
    assert [s.speaker for s in segments] == ["Speaker 1", "Speaker 2"] * 2
    first, second = provider_server.find("openai.transcriptions")
    assert "known_speaker_names[]" not in first.form
    assert second.form["known_speaker_names[]"] == ["Speaker 1", "Speaker 2"]
    assert all(r.startswith("data:audio/") for r in second.form["known_speaker_references[]"])

    with ai.meter() as rerun:  # the same samples are the same bytes: every chunk is a cache hit
        again, _ = transcribe_media(media, transcriber=ai, language="ja", work_dir=tmp_path)
    assert again == segments and (rerun.api_calls, rerun.cache_hits) == (0, 2)


def test_voice_names_heard_are_kept_and_new_voices_numbered(tmp_path):
    from aivlingual_assets.ingestion.transcript_source import Voices

    audio = make_media(tmp_path / "a.wav", seconds=12.0, video=False)
    voices = Voices(tmp_path / "voices")
    names = voices.learn([{"start": 0, "end": 3, "speaker": "Pekora"}, {"start": 3, "end": 4, "speaker": "A"},
                          {"start": 4, "end": 8, "speaker": "B"}, {"start": 8, "end": 9, "speaker": "Pekora"}], audio)
    assert names == {"Pekora": "Pekora", "A": "Speaker 1", "B": "Speaker 2"}
    # a voice heard for less than 2 s has no sample to send; a sample is at most 10 s
    assert list(voices.samples()) == ["Pekora", "Speaker 2"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in voices.samples().values())
    later = voices.learn([{"start": 0, "end": 3, "speaker": "Speaker 2"}, {"start": 3, "end": 6, "speaker": "A"}],
                         audio)
    assert later == {"Speaker 2": "Speaker 2", "A": "Speaker 3"}
