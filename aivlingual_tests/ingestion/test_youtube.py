"""youtube-transcript-api's real code against recorded YouTube responses (no network)."""

from __future__ import annotations

import pytest

from aivlingual_assets.ingestion.errors import TranscriptUnavailableError
from aivlingual_assets.ingestion.youtube import fetch_youtube_transcript, video_details
from aivlingual_tests.ingestion.recorded_http import recorded_session


def fetch(video_id: str, **kwargs):
    session, adapter = recorded_session(status_overrides=kwargs.pop("status_overrides", None))
    return fetch_youtube_transcript(video_id, http_client=session, **kwargs), adapter


def unavailable(video_id: str, **kwargs) -> TranscriptUnavailableError:
    session, _ = recorded_session(status_overrides=kwargs.pop("status_overrides", None))
    with pytest.raises(TranscriptUnavailableError) as caught:
        fetch_youtube_transcript(video_id, http_client=session, **kwargs)
    assert caught.value.video_id == video_id
    return caught.value


def test_manual_japanese_track_is_preferred_over_generated():
    (segments, metadata), adapter = fetch("https://www.youtube.com/watch?v=MANUAL_ja01")
    assert metadata == {
        "video_id": "MANUAL_ja01",
        "language": "ja",
        "language_name": "日本語",
        "is_generated": False,
        "source": "youtube-manual",
        # from the player response the library fetches anyway (videoDetails): no extra request
        "title": "【雑談】まったりおしゃべり配信",
        "channel": "ここあ Ch.",
        "channel_id": "UCkOkOaFixtureChannel00A",
        "duration_seconds": 95.0,
    }
    assert [s.text for s in segments] == [
        "みんな〜、こんばんは！ここあです",
        "今日はまったり雑談していくよ",
        "初見さんも、ゆっくりしていってね",
        "え、もうスパチャ？ありがとう！",
        '"神回"って言うのはまだ早いよｗ',  # entities decoded, blank snippet dropped, lines joined
    ]
    assert (segments[0].start, segments[0].end) == (0.4, 3.0)
    timedtext = adapter.fetched("/api/timedtext")
    assert len(timedtext) == 1 and "kind=asr" not in timedtext[0] and "lang=ja" in timedtext[0]
    assert len(adapter.fetched("/youtubei/v1/player")) == 1


def test_video_details_ride_along_without_extra_requests_and_leave_the_session_as_it_was():
    session, adapter = recorded_session()
    hooks_before = list(session.hooks["response"])
    _, metadata = fetch_youtube_transcript("ASRONLY_ja1", http_client=session)
    assert metadata["title"] == "【ホラー】深夜の学校を探索する" and metadata["duration_seconds"] == 95.0
    assert len(adapter.fetched("/watch")) == 1 and len(adapter.fetched("/youtubei/v1/player")) == 1
    assert session.hooks["response"] == hooks_before  # the caller's session gets no lasting hook
    with pytest.raises(TranscriptUnavailableError):
        fetch_youtube_transcript("NOCAPTIONS1", http_client=session)
    assert session.hooks["response"] == hooks_before  # also not after a failure


def test_video_details_keep_only_what_is_known():
    live_now = {"videoId": "LIVE0000001", "title": " 【歌枠】 ", "lengthSeconds": "0", "author": "ここあ Ch."}
    assert video_details(live_now) == {"title": "【歌枠】", "channel": "ここあ Ch."}  # length 0: unknown, not 0 s
    assert video_details({"lengthSeconds": "oops", "title": ""}) == {}
    assert video_details({}) == {}


def test_generated_track_is_used_when_there_is_no_manual_one():
    (segments, metadata), adapter = fetch("ASRONLY_ja1")
    assert metadata["is_generated"] is True and metadata["source"] == "youtube-generated"
    assert metadata["language"] == "ja"
    assert [s.text for s in segments][:3] == ["はいどうも皆さんこんばんは", "今日は深夜の学校を探索して", "いこうと思います"]
    # YouTube's on-screen durations overlap; segments are clipped to the next start
    for current, following in zip(segments, segments[1:]):
        assert current.end == following.start
    assert segments[-1].end == pytest.approx(13.4)
    assert "kind=asr" in adapter.fetched("/api/timedtext")[0]


def test_language_priority_follows_the_argument():
    (segments, metadata), adapter = fetch("MANUAL_ja01", languages=("en", "ja"))
    assert metadata["language"] == "en" and metadata["source"] == "youtube-manual"
    assert segments[0].text == "Hi everyone, good evening! It's Cocoa"
    (_, metadata), _ = fetch("MANUAL_ja01", languages=("ko", "ja"))  # no Korean track: next choice
    assert metadata["language"] == "ja"


def test_disabled_transcripts():
    error = unavailable("NOCAPTIONS1")
    assert "disabled" in error.reason
    assert "inbox" in error.advice and "NOCAPTIONS1" in str(error)


def test_unavailable_video():
    error = unavailable("GONEVIDEO01")
    assert "unavailable" in error.reason and "Check the URL" in error.advice


def test_no_japanese_track_lists_available_languages():
    error = unavailable("ENGLISHONLY")
    assert "no transcript in ja" in error.reason
    assert "en (manual)" in error.reason and "en (auto)" in error.reason
    assert "Pick another video" in error.advice


def test_ip_block_suggests_a_proxy():
    error = unavailable("BLOCKED0001", status_overrides={"BLOCKED0001": 429})
    assert "blocking" in error.reason and "proxy" in error.advice


def test_age_restricted_and_members_only():
    assert "age-restricted" in unavailable("AGELIMIT001").reason
    members = unavailable("MEMBERS0001")
    assert "not playable" in members.reason and "メンバー限定" in members.reason


def test_invalid_id_is_rejected_before_any_request():
    from aivlingual_assets.ingestion.errors import InvalidVideoIdError

    session, adapter = recorded_session()
    with pytest.raises(InvalidVideoIdError):
        fetch_youtube_transcript("not a video", http_client=session)
    assert adapter.requests == []
