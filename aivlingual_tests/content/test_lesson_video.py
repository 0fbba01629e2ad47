"""The weekly lesson video: 15-20 minutes when the week has enough, cards and clips, chapters that play back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest

from aivlingual_assets.assets import analysis, content
from aivlingual_assets.definitions import build_resources
from aivlingual_assets.publishing.content_source import Clearance, Source
from aivlingual_assets.publishing.lesson_video import (
    CARD_SECONDS,
    LessonItem,
    RecordingInfo,
    lesson_ass,
    lesson_items,
    lesson_problems,
    new_in_week,
    plan_lesson,
    planned_chapters,
    read_chapters,
    render_lesson,
)


def item(n: int, *, level="N3", count=1, start=None, recording="rec") -> LessonItem:
    start = 30.0 * n if start is None else start
    return LessonItem(key=f"k{n}", expression=f"表現{n}", reading=f"ひょうげん{n}", meaning=f"meaning {n}", level=level,
                      count=count, recording=recording, recording_title="雑談", channel="Ch.", url="https://youtu.be/x",
                      media="/media/rec.mp4", line_start=start, line_end=start + 3)


def test_a_rich_week_fills_fifteen_to_twenty_minutes_a_thin_one_is_shorter():
    rich = plan_lesson([item(n) for n in range(200)], week="2026-12-07")
    assert 15 * 60 <= rich.planned_seconds <= 20 * 60
    thin = plan_lesson([item(n) for n in range(5)], week="2026-12-07")
    assert len(thin.items) == 5 and thin.planned_seconds < 5 * 60
    assert plan_lesson([], week="2026-12-07").segments == []


def test_cards_precede_their_clips_easiest_level_first_and_chapters_last_at_least_ten_seconds():
    plan = plan_lesson([item(1, level="N1"), item(2, level="slang"), item(3, level="N5"), item(4, level="N3")],
                       week="w")
    kinds = [s.kind for s in plan.segments]
    assert kinds == ["title", "card", "clip", "card", "clip", "card", "clip", "card", "clip", "credits"]
    assert [i.level for i in plan.items] == ["N5", "N3", "N1", "slang"]
    starts = [at for at, _ in planned_chapters(plan)]
    assert starts[0] == 0 and len(starts) == 5
    assert all(b - a >= 10 for a, b in zip(starts, starts[1:]))
    assert plan.segments[1].seconds == CARD_SECONDS


def test_the_most_said_expressions_are_chosen_and_one_line_is_shown_once():
    items = [item(n, count=1) for n in range(100)] + [item(500, count=9, start=9000.0), item(501, count=9, start=15000.0)]
    items.append(item(502, count=9, start=15000.0))  # said in the same line as 501
    plan = plan_lesson(items, week="w", min_seconds=60, max_seconds=120)
    chosen = {i.key for i in plan.items}
    assert {"k500", "k501"} <= chosen and "k502" not in chosen


def stock_row(key, at, recording="rec"):
    return {"key": key, "expression": key, "reading": key, "meaning": "m", "level": "N3", "level_score": 0.5,
            "example": "line", "count": 1, "occurrences": json.dumps([{"recording": recording, "start": 5.0, "end": 7.0}]),
            "first_seen": json.dumps({"recording": recording, "at": at})}


def test_only_the_weeks_new_expressions_from_cleared_recordings_with_media_are_shown():
    week = datetime(2026, 12, 7, tzinfo=UTC)
    stock = pd.DataFrame([stock_row("old", "2026-11-30T10:00:00+00:00"), stock_row("new", "2026-12-08T10:00:00+00:00"),
                          stock_row("next", "2026-12-14T00:00:00+00:00"),
                          stock_row("other", "2026-12-09T10:00:00+00:00", recording="not-cleared"),
                          stock_row("remote", "2026-12-09T10:00:00+00:00", recording="youtube-only")])
    new = new_in_week(stock, week, week + timedelta(days=7))
    assert set(new["key"]) == {"new", "other", "remote"}
    source = Source(recording="rec", title="t", channel="c", url="u")
    infos = {"rec": RecordingInfo(source, "/m.mp4", Clearance(True, "local")),
             "not-cleared": RecordingInfo(source, "/n.mp4", Clearance(False, "not cleared for publishing: ...")),
             "youtube-only": RecordingInfo(source, None, Clearance(True, "listed"))}
    items, skipped = lesson_items(new, infos.get)
    assert [i.key for i in items] == ["new"]
    assert any("not cleared" in s for s in skipped) and any("no local media" in s for s in skipped)


@pytest.mark.slow
def test_rendered_lesson_probes_to_its_planned_length_and_chapters(tmp_path, analysed_sample):
    items = [item(1, start=20.0), item(2, start=60.0, level="N5")]
    items = [i.model_copy(update={"media": str(analysed_sample.media)}) for i in items]
    plan = plan_lesson(items, week="2026-12-07", min_seconds=60, max_seconds=120)
    video = render_lesson(plan, tmp_path / "lesson.mp4")
    chapters = planned_chapters(plan)
    assert lesson_problems(video, planned_seconds=plan.planned_seconds, chapters=chapters,
                           segments=len(plan.segments)) == []
    found = read_chapters(video)
    assert [round(at) for at, _ in found] == [round(at) for at, _ in chapters] == [0, 10, 21]
    assert found[1][1].startswith("表現2（ひょうげん2）")  # N5 first
    # the check notices a video that does not match its plan
    assert lesson_problems(video, planned_seconds=plan.planned_seconds + 10, chapters=chapters[:2],
                           segments=len(plan.segments))


@pytest.mark.slow
def test_sample_week_becomes_a_lesson_video_with_chapters(sample):
    stock = dg.materialize([analysis.vocabulary], instance=sample.instance, resources=build_resources())
    assert stock.success
    week = content.lesson_weeks.get_last_partition_key()
    result = dg.materialize(
        [analysis.vocabulary, content.lesson_video, content.lesson_video_plays], selection=[content.lesson_video],
        partition_key=week, instance=sample.instance, resources=build_resources(),
        run_config={"ops": {"lesson_video": {"config": {"min_minutes": 0.5, "max_minutes": 1.0}}}},
    )
    assert result.success and all(c.passed for c in result.get_asset_check_evaluations())
    frame = sample.frames().read("lesson_video", week)
    assert frame["kind"].iloc[0] == "title" and frame["kind"].iloc[-1] == "credits"
    assert 30 <= frame["seconds"].sum() <= 60
    assert frame.loc[frame["kind"] == "clip", "channel"].notna().all()
    assert frame["video_path"].notna().all()


def test_the_weekly_schedule_asks_for_the_week_that_has_just_ended():
    monday = datetime(2026, 12, 7, 6, tzinfo=UTC)
    context = dg.build_schedule_context(scheduled_execution_time=monday)
    request = content.lesson_schedule(context)
    assert request.partition_key == "2026-11-30" == content.last_full_week(monday + timedelta(days=3))
    assert request.partition_key in content.lesson_weeks.get_partition_keys(current_time=monday)


@pytest.mark.slow
def test_sample_week_gets_a_worksheet_of_its_new_stock_crediting_each_stream(sample):
    from pypdf import PdfReader

    assert dg.materialize([analysis.vocabulary], instance=sample.instance, resources=build_resources()).success
    week = content.lesson_weeks.get_last_partition_key()
    result = dg.materialize([analysis.vocabulary, content.weekly_worksheet, content.weekly_worksheet_complete],
                            selection=[content.weekly_worksheet], partition_key=week, instance=sample.instance,
                            resources=build_resources())
    assert result.success and all(c.passed for c in result.get_asset_check_evaluations())
    row = sample.frames().read("weekly_worksheet", week).iloc[0]
    stock = sample.frames().read("vocabulary")
    assert sorted(json.loads(row["expressions"])) == sorted(stock["expression"])
    first_page = "".join(PdfReader(row["path"]).pages[0].extract_text().split())  # a long link wraps
    assert "「samplestream」" in first_page and "sample_stream.mp4" in first_page


def test_a_clip_shows_its_line_while_it_is_said_with_the_expression_highlighted_and_the_credit_throughout():
    clip = item(1, start=20.0).model_copy(update={"example": "みんな表現1って知ってる？", "channel": "Sample Ch."})
    ass = lesson_ass(clip, 6.0)
    line = next(e for e in ass.splitlines() if ",Line," in e and e.startswith("Dialogue"))
    assert line.startswith("Dialogue: 1,0:00:01.50,0:00:04.50,Line")  # said 20-23 s, the clip starts at 18.5 s
    assert "{\\c&H0000E5FF&}表現1{\\r}" in line
    credit = next(e for e in ass.splitlines() if ",Credit," in e)
    assert credit.startswith("Dialogue: 0,0:00:00.00,0:00:06.00") and "Sample Ch." in credit
