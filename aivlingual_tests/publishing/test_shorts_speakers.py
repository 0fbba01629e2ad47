"""Collab streams: who said the line reaches the expressions table, the Shorts plans and their subtitles."""

from __future__ import annotations

import pandas as pd

from aivlingual_assets.analysis.pipeline import expressions_frame
from aivlingual_assets.analysis.schemas import Category, Expression
from aivlingual_assets.ingestion.segments import Segment, segments_to_frame, speaker_lookup
from aivlingual_assets.publishing.clip_planner import clip_plans_from_frame, clip_plans_to_frame, plan_clips
from aivlingual_assets.publishing.shorts import clip_file_name
from aivlingual_assets.publishing.subtitle_burn import build_ass

SPEAKERS = ("Pekora", "Miko", None)


def collab_transcript(seconds: float = 90.0) -> pd.DataFrame:
    """3-second lines; speakers take turns every line (every third one unlabelled)."""
    segments = [
        Segment(3.0 * i, 3.0 * (i + 1), f"{i}番目の話をしてるんだよね。" if i % 3 == 2 else f"それで{i}番目の話、",
                SPEAKERS[i % 3])
        for i in range(int(seconds // 3))
    ]
    return segments_to_frame(segments)


def expression(text: str, start: float) -> Expression:
    return Expression(expression=text, lemma=text, reading="くさ", meaning="lol", category=Category.slang,
                      explanation="-", example=text, start=start, end=start + 3.0)


def test_speaker_lookup_names_who_was_speaking():
    at = speaker_lookup(collab_transcript())
    assert (at(0.0), at(3.0), at(4.5), at(7.0), at(9.0)) == ("Pekora", "Miko", "Miko", None, "Pekora")
    assert at(1000.0) is None
    assert speaker_lookup(pd.DataFrame({"start": [0.0], "end": [1.0], "text": ["x"]}))(0.5) is None


def test_overlapping_speech_belongs_to_the_line_still_running():
    frame = segments_to_frame([Segment(0.0, 10.0, "長い話", "Pekora"), Segment(2.0, 3.0, "うん", "Miko")])
    at = speaker_lookup(frame)
    assert (at(2.5), at(5.0)) == ("Miko", "Pekora")


def test_the_expressions_table_carries_the_speaker_of_the_line():
    items = [expression("草", 3.0), expression("てぇてぇ", 6.0), expression("ぺこ", 9.0)]
    frame = expressions_frame(items, recording="file-abc", recording_title="collab", url_for=lambda s: None,
                              speaker_at=speaker_lookup(collab_transcript()))
    assert frame["speaker"].tolist() == ["Miko", None, "Pekora"]
    plain = expressions_frame(items, recording="file-abc", recording_title="collab", url_for=lambda s: None)
    assert plain["speaker"].tolist() == [None, None, None]


def _expressions_table(rows: list[tuple[str, float, str | None]]) -> pd.DataFrame:
    return pd.DataFrame([{"expression": t, "lemma": t, "reading": "よみ", "meaning": "m", "category": "slang",
                          "start": s, "end": s + 0.5, "level": "N3", "level_score": 3.0, "speaker": who}
                         for t, s, who in rows])


def test_shorts_plans_carry_the_speaker_and_their_subtitles_show_it():
    transcript = collab_transcript()
    table = _expressions_table([("草", 3.2, "Miko"), ("てぇてぇ", 9.5, None), ("神回", 12.1, "Pekora")])
    plans = plan_clips(transcript, table, duration_seconds=90.0, n_min=1, n_max=1)
    plan = plans[0]
    by_text = {e.expression: e.speaker for e in plan.expressions}
    assert by_text["草"] == "Miko" and by_text["神回"] == "Pekora"
    assert by_text["てぇてぇ"] == "Pekora"  # no speaker in the table: the line's
    assert set(plan.speakers) == {"Pekora", "Miko"}
    frame = clip_plans_to_frame(plans)
    assert set(frame["speakers"].iloc[0].split(", ")) == {"Pekora", "Miko"}
    assert clip_plans_from_frame(frame)[0] == plan
    lines = [e.split(",", 9)[9] for e in build_ass(plan).splitlines() if e.startswith("Dialogue: 1,")]
    labelled = [line for line in lines if line.startswith("【")]
    assert any(line.startswith("【Miko】") for line in labelled)
    assert any(line.startswith("【Pekora】") for line in labelled)
    assert len(labelled) < len(lines)  # unlabelled lines stay as they were


def test_an_expressions_speaker_does_not_rename_the_cut_clip():
    transcript = collab_transcript()
    with_speaker = plan_clips(transcript, _expressions_table([("草", 3.2, "Miko")]), duration_seconds=90.0,
                              n_min=1, n_max=1)[0]
    without = plan_clips(transcript, _expressions_table([("草", 3.2, None)]).drop(columns="speaker"),
                         duration_seconds=90.0, n_min=1, n_max=1)[0]
    assert with_speaker.expressions[0].speaker == "Miko" and without.expressions[0].speaker == "Miko"
    assert clip_file_name("file-abc", with_speaker) == clip_file_name(
        "file-abc", with_speaker.model_copy(update={"expressions": [
            e.model_copy(update={"speaker": None}) for e in with_speaker.expressions]}))


def test_copy_prompts_of_two_clips_share_their_instructions_and_end_with_the_clip():
    """The instructions and schema come first (the providers' prompt caches read them), the clip last."""
    import os

    from aivlingual_assets.publishing.clip_planner import clip_copy_prompt

    table = _expressions_table([("草", 3.2, "Miko"), ("神回", 60.1, "Pekora")])
    first, second = plan_clips(collab_transcript(), table, duration_seconds=90.0, n_min=2, n_max=2)
    prompts = [clip_copy_prompt(first), clip_copy_prompt(second)]
    shared = os.path.commonprefix(prompts)
    schema_end = prompts[0].index("This clip:")
    assert len(shared) >= schema_end and '"title_ja"' in shared[:schema_end]  # instructions and schema shared
    for plan, prompt in zip((first, second), prompts):
        assert prompt.index("<<<TRANSCRIPT") > schema_end  # the clip's own text after them
        assert prompt.rstrip().endswith(f"category {plan.expressions[-1].category}")
        assert len(shared) > 0.6 * len(prompt)
