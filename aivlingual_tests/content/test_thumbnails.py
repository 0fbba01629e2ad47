"""Thumbnails: the documented frame rule, both sizes, the text measured inside the safe area."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from PIL import Image

from aivlingual_assets.assets import content
from aivlingual_assets.definitions import build_resources
from aivlingual_assets.publishing.cards import Box
from aivlingual_assets.publishing.clip_cutter import run_ffmpeg
from aivlingual_assets.publishing.clip_planner import ClipExpression, ClipPlan
from aivlingual_assets.publishing.content_source import PublishingRights, Source
from aivlingual_assets.publishing.thumbnails import (
    COVER_SAFE,
    COVER_SIZE,
    THUMBNAIL_SAFE,
    THUMBNAIL_SIZE,
    ThumbnailPlan,
    build_thumbnails,
    candidate_times,
    render_cover,
    render_thumbnail,
    thumbnail_problems,
)

SOURCE = Source(recording="rec", title="雑談", channel="とても長いチャンネル名のテストチャンネル Official Channel",
                url="https://youtu.be/x")


def plan(expression="推し", reading="おし", meaning="favourite member", start=10.0) -> ClipPlan:
    key = ClipExpression(expression=expression, reading=reading, meaning=meaning, level="slang", start=start + 1)
    return ClipPlan(index=1, start=start, end=start + 20, score=1, expressions=[key], lines=[])


def test_candidates_follow_the_key_expression_and_stay_inside_the_clip():
    assert candidate_times(plan(start=10.0), plan(start=10.0).expressions[0]) == [11.2, 11.7, 12.2, 20.0]
    late = plan(start=0.0)
    late.expressions[0].start = 19.9  # said at the very end: candidates are clamped into the clip
    assert all(0 <= t <= 19.95 for t in candidate_times(late, late.expressions[0]))


@pytest.mark.parametrize("expression,meaning", [
    ("推し", "favourite member"),
    ("ゆっくりしていってね配信者さん大歓迎ですよ", "make yourself at home; stay as long as you like; a very long "
     "meaning that goes on and on well past what fits on two lines of a thumbnail at any size"),
])
def test_text_of_any_length_stays_inside_the_safe_area_at_the_right_sizes(expression, meaning):
    frame = Image.new("RGB", (1920, 1080), (200, 40, 40))
    cover, cover_ink = render_cover(frame, plan(expression, "よみ", meaning).expressions[0], SOURCE)
    thumb, thumb_ink = render_thumbnail(frame, plan(expression, "よみ", meaning).expressions[0], SOURCE)
    assert cover.size == COVER_SIZE and thumb.size == THUMBNAIL_SIZE
    assert COVER_SAFE.contains(cover_ink) and THUMBNAIL_SAFE.contains(thumb_ink)
    assert cover_ink.height > 300  # overlaid large


def test_check_reports_wrong_sizes_and_text_outside_the_safe_area(tmp_path):
    Image.new("RGB", (1280, 720)).save(tmp_path / "c.jpg")
    Image.new("RGB", (1280, 720)).save(tmp_path / "t.jpg")
    row = ThumbnailPlan(recording="r", index=1, expression="x", reading=None, meaning=None, frame_seconds=0,
                        cover_path=str(tmp_path / "c.jpg"), thumbnail_path=str(tmp_path / "t.jpg"),
                        cover_text_box=json.dumps(Box(100, 300, 800, 1400).as_list()),
                        thumbnail_text_box=json.dumps(Box(64, 48, 1270, 700).as_list()))
    problems = thumbnail_problems(row)
    assert any("cover is 1280x720" in p for p in problems)
    assert any("thumbnail text" in p and "safe area" in p for p in problems)


@pytest.fixture
def flat_then_detailed(tmp_path):
    """2 s of flat grey, then 2 s of a detailed test pattern."""
    out = tmp_path / "v.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=gray:s=320x180:d=2:r=10", "-f", "lavfi",
                "-i", "testsrc=s=320x180:d=2:r=10", "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]",
                "-map", "[v]", "-pix_fmt", "yuv420p", str(out)], what="making a test video")
    return out


def test_the_sharpest_candidate_frame_is_chosen(flat_then_detailed, tmp_path):
    p = plan(start=0.0)
    p.expressions[0].start = 1.0
    p = p.model_copy(update={"end": 3.0})  # candidates 1.2, 1.7 and the midpoint 1.5 are flat; 2.2 shows the pattern
    [row] = build_thumbnails([p], source=SOURCE, media=flat_then_detailed, out_dir=tmp_path / "out", render=True)
    assert row.frame_seconds == 2.2
    assert thumbnail_problems(row) == []


def test_without_clearance_only_the_plan_is_made(flat_then_detailed, tmp_path):
    [row] = build_thumbnails([plan(start=0.0)], source=SOURCE, media=flat_then_detailed, out_dir=tmp_path / "out",
                             render=False)
    assert row.cover_path is None and row.thumbnail_path is None and row.expression == "推し"
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_sample_shorts_get_a_cover_and_a_thumbnail_each(sample):
    result = sample.materialize([content.thumbnails])  # its check runs in its step
    assert result.success
    assert [(c.check_name, c.passed) for c in result.get_asset_check_evaluations()] == [("thumbnails_fit", True)]
    frame = sample.frames().read("thumbnails", sample.key)
    assert len(frame) == len(sample.frames().read("shorts", sample.key)) >= 3
    for row in frame.itertuples():
        assert Image.open(row.cover_path).size == (1080, 1920)
        assert Image.open(row.thumbnail_path).size == (1280, 720)


@pytest.mark.slow
def test_a_recording_not_cleared_gets_plans_only(sample):
    resources = {**build_resources(), "rights": PublishingRights(local_files_cleared=False)}
    result = sample.materialize([content.thumbnails], resources=resources)
    assert result.success
    frame = sample.frames().read("thumbnails", sample.key)
    assert frame["cover_path"].isna().all() and frame["expression"].notna().all()
    meta = result.asset_materializations_for_node("thumbnails")[-1].metadata
    assert meta["cleared_for_publishing"] == dg.BoolMetadataValue(False)


@pytest.mark.slow
def test_shorts_of_a_recording_not_cleared_are_planned_but_never_cut(sample):
    from aivlingual_assets.assets import publishing

    resources = {**build_resources(), "rights": PublishingRights(local_files_cleared=False)}
    result = sample.materialize([publishing.shorts], resources=resources,
                                run_config={"ops": {"shorts": {"config": {"cut_clips": True}}}})
    assert result.success
    shorts = sample.frames().read("shorts", sample.key)
    assert len(shorts) >= 3 and shorts["clip_path"].isna().all()
    meta = result.asset_materializations_for_node("shorts")[-1].metadata
    assert meta["clips_cut"].value == 0 and meta["cleared_for_publishing"].value is False


def test_characters_the_font_lacks_are_left_out_instead_of_drawn_as_boxes():
    frame = Image.new("RGB", (1920, 1080), (0, 0, 0))
    with_emoji = plan("推し🌱", "おし", "favourite 😂").expressions[0]
    without = plan("推し", "おし", "favourite").expressions[0]
    assert render_cover(frame, with_emoji, SOURCE)[0].tobytes() == render_cover(frame, without, SOURCE)[0].tobytes()
