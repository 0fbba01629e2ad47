"""ASS/SRT generation for burned-in Shorts subtitles."""

from __future__ import annotations

import re

import pytest

from aivlingual_assets.publishing.clip_planner import ClipExpression, ClipPlan, TranscriptLine
from aivlingual_assets.publishing.subtitle_burn import (
    SubtitleError,
    ass_time,
    build_ass,
    build_srt,
    escape_ass_text,
    gloss_text,
    japanese_font_dir,
    japanese_font_file,
    render_text,
    wrap_breaks,
    write_ass,
)


def make_plan(**overrides) -> ClipPlan:
    fields = dict(
        index=1,
        start=100.0,
        end=120.0,
        score=5.0,
        expressions=[
            ClipExpression(expression="推し", reading="おし", meaning="favourite member", level="N3", start=101.6, end=102.0),
            ClipExpression(expression="草", reading="くさ", meaning="lol", level="slang", start=110.0),
        ],
        lines=[
            TranscriptLine(start=100.0, end=104.0, text="今日も推しが{可愛い}\\N", speaker="Aki, main"),
            TranscriptLine(start=104.0, end=112.5, text="マジで草なんだけど、このゲームほんとに難しすぎて笑えない", speaker=None),
            TranscriptLine(start=112.5, end=125.0, text="おつかれさまでした。", speaker="Aki"),
        ],
        title_ja="「推し」ってどういう意味？",
    )
    fields.update(overrides)
    return ClipPlan(**fields)


def dialogues(ass: str) -> list[list[str]]:
    return [line[len("Dialogue: ") :].split(",", 9) for line in ass.splitlines() if line.startswith("Dialogue: ")]


def strip_our_tags(text: str) -> str:
    return text.replace("{\\c&H0000E5FF&}", "").replace("{\\r}", "")


def test_escape_neutralises_override_blocks_and_escapes():
    assert escape_ass_text("a{\\b1}c\\Nd\ne") == "a｛＼b1｝c＼Nd\\Ne"
    assert escape_ass_text("tab\there\x07") == "tab here"


def test_ass_header_targets_vertical_play_resolution():
    ass = build_ass(make_plan())
    assert "PlayResX: 1080" in ass and "PlayResY: 1920" in ass
    assert re.search(r"^Style: Line,IPAexGothic,\d+,", ass, re.MULTILINE)


def test_events_are_relative_to_clip_start_and_clamped():
    events = dialogues(build_ass(make_plan()))
    lines = [e for e in events if e[3] == "Line"]
    assert [(e[1], e[2]) for e in lines] == [
        ("0:00:00.00", "0:00:04.00"),
        ("0:00:04.00", "0:00:12.50"),
        ("0:00:12.50", "0:00:20.00"),  # the last line is cut at the clip end
    ]
    assert all(len(e) == 10 for e in events)
    assert lines[0][4] == "Aki main"  # a comma in the speaker would shift the columns


def test_transcript_text_cannot_inject_ass_overrides():
    events = dialogues(build_ass(make_plan()))
    first_line = strip_our_tags(next(e for e in events if e[3] == "Line")[9]).replace("\\N", "")  # our wraps
    assert "{" not in first_line and "}" not in first_line and "\\" not in first_line
    assert "｛可愛い｝" in first_line


def test_each_line_shows_who_said_it():
    lines = [strip_our_tags(e[9]).replace("\\N", "") for e in dialogues(build_ass(make_plan())) if e[3] == "Line"]
    assert lines[0].startswith("【Aki, main】今日も推しが")
    assert lines[1].startswith("マジで草")  # no speaker, no label
    assert lines[2] == "【Aki】おつかれさまでした。"


def test_expressions_are_highlighted_and_glossed_on_top():
    events = dialogues(build_ass(make_plan()))
    first_line = next(e for e in events if e[3] == "Line")[9]
    assert "{\\c&H0000E5FF&}推し{\\r}" in first_line
    glosses = [e for e in events if e[3] == "Gloss"]
    assert [g[9] for g in glosses] == ["推し (おし) = favourite member", "草 (くさ) = lol"]
    assert glosses[0][1] == ass_time(1.4)  # shown just before it is said
    assert any(e[3] == "Title" and "推し" in e[9] for e in events)


def test_long_japanese_lines_are_wrapped_for_the_frame():
    events = dialogues(build_ass(make_plan()))
    long_line = [e for e in events if e[3] == "Line"][1][9]
    assert "\\N" in long_line
    for part in strip_our_tags(long_line).split("\\N"):
        assert 0 < len(part) <= 14


def test_wrapping_respects_kinsoku_and_protected_spans():
    text = "あいうえおかきくけこ。さしすせそ"
    breaks = wrap_breaks(text, 10)
    assert breaks and text[breaks[0]] != "。"
    assert wrap_breaks("ああああ推しだよ", 5, protected=[(4, 6)]) == [4]
    assert render_text("one two three", max_units=4).count("\\N") == 2


def test_gloss_omits_reading_equal_to_expression():
    assert gloss_text("てぇてぇ", "てぇてぇ", "precious") == "てぇてぇ = precious"
    assert gloss_text("推し", None, None) == "推し"


def test_srt_uses_clip_relative_times(tmp_path):
    srt = build_srt(make_plan())
    assert srt.startswith("1\n00:00:00,000 --> 00:00:04,000\n")
    assert "3\n00:00:12,500 --> 00:00:20,000\nおつかれさまでした。" in srt
    path = write_ass(make_plan(), tmp_path / "sub" / "clip.ass")
    assert path.read_text(encoding="utf-8-sig").startswith("[Script Info]")


def test_clip_without_duration_is_rejected():
    with pytest.raises(SubtitleError):
        build_ass(make_plan(end=100.0))


def test_japanese_font_ships_with_a_pypi_package():
    font = japanese_font_file()
    assert font.suffix == ".ttf" and font.stat().st_size > 1_000_000
    assert font.parent == japanese_font_dir()
