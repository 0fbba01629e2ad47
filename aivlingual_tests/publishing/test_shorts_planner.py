"""Clip planning for Shorts: choice of windows, empty plans, copy and prompt."""

from __future__ import annotations

import math
import pickle

import pandas as pd
import pytest

from aivlingual_assets.publishing.clip_planner import (
    BASE_HASHTAGS,
    ClipCopy,
    ClipPlanList,
    ClipPlanningError,
    apply_clip_copy,
    clip_copy_prompt,
    clip_plans_from_frame,
    clip_plans_to_frame,
    is_sentence_final,
    offline_clip_copy,
    plan_clips,
)

SEGMENT = 3.0
DURATION = 300.0
DENSE = (120.0, 150.0)


def make_transcript(duration: float = DURATION) -> pd.DataFrame:
    """3-second segments; every third one ends a sentence, the others trail with 、."""
    rows = []
    for i in range(int(duration // SEGMENT)):
        text = f"文{i}の話をしてるんだよね。" if i % 3 == 2 else f"それで{i}番目の話、"
        rows.append({"start": i * SEGMENT, "end": (i + 1) * SEGMENT, "text": text, "speaker": "A"})
    return pd.DataFrame(rows)


def expression(text: str, start: float, level: str = "N3", category: str = "slang", **extra) -> dict:
    row = {
        "expression": text,
        "lemma": text,
        "reading": extra.pop("reading", "よみ"),
        "meaning": extra.pop("meaning", f"meaning of {text}"),
        "category": category,
        "explanation": "",
        "example": "",
        "start": start,
        "end": start + 0.6,
        "url": None,
        "level": level,
        "level_score": {"N5": 1, "N4": 2, "N3": 3, "N2": 4, "N1": 5}.get(level, 4.5),
    }
    row.update(extra)
    return row


def make_expressions() -> pd.DataFrame:
    levels = ["N5", "N4", "N3", "N2", "N1", "slang", "N3", "N2"]
    categories = ["word", "grammar", "slang", "idiom", "word", "slang", "grammar", "word"]
    dense = [
        expression(f"濃{i}", DENSE[0] + 1 + i * 3.5, level, category)
        for i, (level, category) in enumerate(zip(levels, categories))
    ]
    sparse = [expression(f"疎{i}", t) for i, t in enumerate([10.0, 50.0, 90.0, 190.0, 230.0, 270.0])]
    return pd.DataFrame(dense + sparse)


@pytest.fixture(scope="module")
def plans() -> ClipPlanList:
    return plan_clips(
        make_transcript(),
        make_expressions(),
        duration_seconds=DURATION,
        url_for=lambda s: f"https://www.youtube.com/watch?v=abc&t={int(s)}s",
    )


def test_plans_respect_count_length_and_overlap(plans):
    assert 3 <= len(plans) <= 5
    assert plans.reason is None
    for plan in plans:
        assert 15 <= plan.duration <= 60
        assert plan.expressions, "every clip teaches at least one expression"
    spans = sorted((p.start, p.end) for p in plans)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end <= start
    assert [p.index for p in plans] == list(range(1, len(plans) + 1))
    assert [p.score for p in plans] == sorted((p.score for p in plans), reverse=True)


def test_clip_edges_fall_on_segment_edges(plans):
    transcript = make_transcript()
    starts, ends = set(transcript.start), set(transcript.end)
    for plan in plans:
        assert plan.start in starts and plan.end in ends
        assert plan.lines[0].start == plan.start and plan.lines[-1].end == plan.end
        for expr in plan.expressions:
            assert plan.start <= expr.start <= plan.end


def test_densest_region_is_chosen_first(plans):
    best = plans[0]
    assert best.start < DENSE[1] and best.end > DENSE[0]
    assert sum(e.expression.startswith("濃") for e in best.expressions) >= 6
    # it ends at the end of a sentence rather than mid-clause
    assert is_sentence_final(best.lines[-1].text)


def test_plan_is_deterministic_and_links_the_clip_start(plans):
    again = plan_clips(
        make_transcript(),
        make_expressions(),
        duration_seconds=DURATION,
        url_for=lambda s: f"https://www.youtube.com/watch?v=abc&t={int(s)}s",
    )
    assert [p.model_dump() for p in again] == [p.model_dump() for p in plans]
    assert plans[0].url == f"https://www.youtube.com/watch?v=abc&t={int(plans[0].start)}s"


def test_short_recording_gives_an_empty_plan_with_a_reason():
    transcript = make_transcript(9.0)
    result = plan_clips(transcript, make_expressions().head(1), duration_seconds=9.0)
    assert isinstance(result, ClipPlanList) and len(result) == 0
    assert "shorter" in result.reason


def test_no_expressions_gives_an_empty_plan_with_a_reason():
    empty = make_expressions().iloc[0:0]
    result = plan_clips(make_transcript(), empty, duration_seconds=DURATION)
    assert result == [] and "no expressions" in result.reason


def test_fewer_clips_than_wanted_are_returned_with_a_reason():
    transcript = make_transcript(40.0)
    exprs = pd.DataFrame([expression("推し", 4.0), expression("草", 20.0, "slang")])
    result = plan_clips(transcript, exprs, duration_seconds=40.0)
    assert 1 <= len(result) < 3
    assert result.reason and "wanted at least 3" in result.reason


def test_repeated_lemma_counts_once_and_untimed_expressions_are_ignored():
    transcript = make_transcript(60.0)
    exprs = pd.DataFrame(
        [
            expression("推し", 5.0),
            expression("推しの", 8.0, lemma="推し"),
            expression("草", float("nan"), "slang"),
        ]
    )
    result = plan_clips(transcript, exprs, duration_seconds=60.0, n_min=1, n_max=1)
    assert [e.expression for e in result[0].expressions] == ["推し"]


def test_bad_input_raises_clear_errors():
    with pytest.raises(ClipPlanningError, match="missing column"):
        plan_clips(make_transcript().drop(columns=["end"]), make_expressions(), duration_seconds=DURATION)
    with pytest.raises(ClipPlanningError, match="missing column"):
        plan_clips(make_transcript(), make_expressions().drop(columns=["start"]), duration_seconds=DURATION)
    broken = make_transcript()
    broken.loc[3, "end"] = 1.0
    with pytest.raises(ClipPlanningError, match="ends"):
        plan_clips(broken, make_expressions(), duration_seconds=DURATION)
    with pytest.raises(ClipPlanningError, match="min_len"):
        plan_clips(make_transcript(), make_expressions(), duration_seconds=DURATION, min_len=70, max_len=60)
    with pytest.raises(ClipPlanningError, match="duration"):
        plan_clips(make_transcript(), make_expressions(), duration_seconds=math.nan)


@pytest.mark.parametrize(
    "text, final",
    [
        ("今日は楽しかった。", True),
        ("マジで？", True),
        ("これ可愛いよね〜", True),
        ("推しが尊いw", True),
        ("それでさ、", False),
        ("えっと、その", False),
        ("あのね", False),
        ("", False),
    ],
)
def test_sentence_final_detection(text, final):
    assert is_sentence_final(text) is final


def test_offline_copy_features_the_hardest_expression(plans):
    copy = offline_clip_copy(plans[0])
    assert copy.title_ja.startswith("「濃4」") and "ってどういう意味？" in copy.title_ja
    assert "濃4" in copy.title_en and len(copy.title_en) <= 100
    for tag in BASE_HASHTAGS:
        assert tag in copy.hashtags
    assert "#JLPTN1" in copy.hashtags and len(copy.hashtags) <= 15
    assert all(" " not in t and t.startswith("#") for t in copy.hashtags)
    assert plans[0].url in copy.description_en and plans[0].url in copy.description_ja
    assert plans[0].title_ja == copy.title_ja  # plans come with offline copy


def test_clip_copy_normalises_llm_output(plans):
    copy = ClipCopy(
        title_ja="あ" * 150,
        title_en="  What   does it mean? ",
        description_ja="<b>説明</b>",
        description_en="text",
        hashtags=["日本語", "#learn japanese", "#日本語", "", *[f"#t{i}" for i in range(20)]],
    )
    assert len(copy.title_ja) == 100 and copy.title_en == "What does it mean?"
    assert "<" not in copy.description_ja
    assert copy.hashtags[:2] == ["#日本語", "#learnjapanese"] and len(copy.hashtags) == 15
    updated = apply_clip_copy(plans[0], copy)
    assert updated.title_en == "What does it mean?" and updated.start == plans[0].start


def test_prompt_carries_the_japanese_lines_and_schema(plans):
    prompt = clip_copy_prompt(plans[0])
    for line in plans[0].lines:
        assert line.text in prompt
    for expr in plans[0].expressions:
        assert expr.expression in prompt
    assert "title_ja" in prompt and "hashtags" in prompt and plans[0].url in prompt
    assert "[000.0s]" in prompt  # times are relative to the clip


def test_plan_list_survives_pickling_with_its_reason():
    result = plan_clips(make_transcript(40.0), pd.DataFrame([expression("推し", 4.0)]), duration_seconds=40.0)
    restored = pickle.loads(pickle.dumps(result))
    assert restored == result and restored.reason == result.reason and restored.reason


def test_plans_round_trip_through_a_dataframe(plans):
    frame = clip_plans_to_frame(plans)
    assert len(frame) == len(plans)
    assert [p.model_dump() for p in clip_plans_from_frame(frame)] == [p.model_dump() for p in plans]
