"""Upload metadata: every platform limit met by construction, the original channel credited."""

from __future__ import annotations

import json

import pytest
from twitter_text import parse_tweet

from aivlingual_assets.assets import content
from aivlingual_assets.ingestion.recording import Recording
from aivlingual_assets.publishing.clip_planner import ClipExpression
from aivlingual_assets.publishing.content_source import clearance_for
from aivlingual_assets.publishing.upload_metadata import (
    CHAPTER_MIN_SECONDS,
    UploadCopy,
    UploadSubject,
    assemble,
    limit_problems,
    recording_chapters,
    x_length,
    youtube_tags_length,
)


def expr(text: str, start: float, reading: str = "", meaning: str = "a meaning") -> ClipExpression:
    return ClipExpression(expression=text, reading=reading or None, meaning=meaning, level="N3", start=start,
                          end=start + 1)


def subject(kind="short", expressions=None, channel="Hololive Test Ch.") -> UploadSubject:
    return UploadSubject(
        kind=kind, index=1 if kind == "short" else 0, recording="rec", title="雑談配信", channel=channel,
        url="https://www.youtube.com/watch?v=abcdefghijk", link="https://www.youtube.com/watch?v=abcdefghijk&t=83s",
        start=83.0, end=120.0, expressions=expressions or [expr("推し", 90, "おし", "favourite member")],
    )


def greedy_copy() -> UploadCopy:
    """What a careless model might answer: everything far too long."""
    return UploadCopy(title="推しの話" * 60 + "<script>", hook="長い" * 400, tags=[f"タグ{i} extra words" for i in range(80)],
                      x_text="漢字" * 150, instagram_text="説明" * 2000)


def test_a_model_answer_far_too_long_still_yields_uploads_within_every_limit():
    package = assemble(subject(), greedy_copy(), duration=600)
    assert limit_problems(package) == []
    assert len(package.title) <= 100 and "<" not in package.title
    assert youtube_tags_length(package.tags) <= 500
    assert parse_tweet(package.x_post).weightedLength <= 280
    assert len(package.instagram_post) <= 2200


def test_x_post_is_measured_as_x_counts_japanese_double():
    package = assemble(subject(), greedy_copy(), duration=600)
    # by plain characters it would have room left; by X's weighting it is full
    assert len(package.x_post) < 200 < x_length(package.x_post) <= 280
    assert "https://www.youtube.com/watch?v=abcdefghijk&t=83s" in package.x_post  # the link survives trimming


def test_every_text_credits_the_channel_and_links_the_original_moment():
    package = assemble(subject(), UploadCopy(title="t", hook="h", tags=[], x_text="x", instagram_text="i"),
                       duration=600)
    for text in (package.description, package.x_post, package.instagram_post):
        assert "Hololive Test Ch." in text
    assert "https://www.youtube.com/watch?v=abcdefghijk&t=83s" in package.description
    assert "推し（おし）: favourite member" in package.description
    assert "1:23–2:00" in package.description  # the Short's span in the original stream


def test_recording_chapters_follow_youtube_rules():
    expressions = [expr(f"表現{i}", t) for i, t in enumerate([3, 5, 40, 41, 95, 180, 290, 295])]
    chapters = recording_chapters(expressions, duration=300)
    starts = [c.start for c in chapters]
    assert starts[0] == 0 and len(starts) >= 3
    assert all(b - a >= CHAPTER_MIN_SECONDS for a, b in zip(starts, starts[1:]))
    assert 300 - starts[-1] >= CHAPTER_MIN_SECONDS  # 290 would leave a 10-s-or-less last chapter
    assert "表現0" in chapters[0].title
    assert recording_chapters(expressions[:2], duration=300) == []  # fewer than three: no chapters at all
    package = assemble(subject("recording", expressions), greedy_copy(), duration=300)
    assert package.chapters == chapters and "\n0:00 Opening" in package.description


def test_missing_channel_is_still_credited_in_words():
    package = assemble(subject(channel=None), greedy_copy(), duration=600)
    assert limit_problems(package) == []
    assert "original channel" in package.x_post


def test_local_files_are_cleared_by_default_and_youtube_recordings_only_when_listed():
    local = Recording(partition_key="mine", source="file", title="t", path="/x/mine.mp4")
    stream = Recording(partition_key="yt-abc", source="youtube", title="t", video_id="abcdefghijk", channel="UCx")
    assert clearance_for(local, recordings=[], channels=[], local_files_cleared=True).cleared
    assert not clearance_for(local, recordings=[], channels=[], local_files_cleared=False).cleared
    assert not clearance_for(stream, recordings=[], channels=[], local_files_cleared=True).cleared
    assert clearance_for(stream, recordings=["abcdefghijk"], channels=[], local_files_cleared=True).cleared
    assert clearance_for(stream, recordings=[], channels=["UCx"], local_files_cleared=True).cleared


@pytest.mark.slow
def test_sample_gets_upload_metadata_for_each_short_and_the_recording(sample):
    result = sample.materialize([content.upload_metadata])  # its check runs in its step
    assert result.success
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "upload_metadata_within_limits" and check.passed and check.partition == sample.key
    frame = sample.frames().read("upload_metadata", sample.key)
    shorts = sample.frames().read("shorts", sample.key)
    assert list(frame["kind"]).count("short") == len(shorts) and list(frame["kind"]).count("recording") == 1
    whole = frame[frame["kind"] == "recording"].iloc[0]
    expressions = sample.frames().read("difficulty", sample.key)
    assert all(e in whole["description"] for e in expressions["expression"])
    assert len(json.loads(whole["chapters"])) >= 3
    assert frame["cleared"].all()  # a local file
    assert (frame["x_weighted_length"] <= 280).all()
    meta = result.asset_materializations_for_node("upload_metadata")[-1].metadata
    saved = json.loads(open(meta["json"].value, encoding="utf-8").read())
    assert saved["cleared_for_publishing"] and [u["title"] for u in saved["uploads"]] == list(frame["title"])


def test_a_long_recording_keeps_every_expression_by_shortening_meanings_first():
    expressions = [expr(f"表現{i:03d}", 10.0 * i, f"ひょうげん{i}", "first sense; second sense / third sense")
                   for i in range(100)]
    package = assemble(subject("recording", expressions), greedy_copy(), duration=1600)
    assert limit_problems(package) == []
    assert all(e.expression in package.description for e in expressions)
    assert "first sense" in package.description and "third sense" not in package.description


def careless_writer(request):
    """A model that answers the upload task with everything too long and a made-up link."""
    if not request.user.startswith("Write the upload text"):
        return None
    return {"title": "【神回】" + "推しの話" * 40, "hook": "See https://made-up.example " + "長い" * 100,
            "tags": [f"tag {i}" for i in range(60)], "x_text": "漢字" * 100, "instagram_text": "説明" * 300}


@pytest.mark.slow
def test_a_model_writes_the_copy_once_limits_still_hold_and_a_rerun_is_served_from_the_cache(
        sample, provider_server, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    provider_server.set_responder("openai.chat", careless_writer)
    checks = [content.upload_metadata]  # with its check upload_metadata_within_limits
    result = sample.materialize(checks)
    assert result.success and [c.passed for c in result.get_asset_check_evaluations()] == [True]
    frame = sample.frames().read("upload_metadata", sample.key)
    calls = provider_server.count("openai.chat")
    assert calls == len(frame)  # one cached request per Short and one for the recording
    assert frame["title"].str.startswith("【神回】推しの話").all() and (frame["title"].str.len() <= 100).all()
    assert not frame["description"].str.contains("made-up.example").any()  # only our own links
    meta = result.asset_materializations_for_node("upload_metadata")[-1].metadata
    assert meta["ai/api_calls"].value == calls

    rerun = sample.materialize(checks)
    assert rerun.success and provider_server.count("openai.chat") == calls
