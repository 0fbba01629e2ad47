"""The transcript checks on bad data: broken times, unknown lengths, English, empty transcripts."""

from __future__ import annotations

import math

import dagster as dg
import pandas as pd
import pytest

from aivlingual_assets.assets import ingestion
from aivlingual_assets.ingestion.quality import (
    japanese_ratio,
    known_duration,
    late_cues_warning,
    timing_problems,
    transcript_end,
)
from aivlingual_assets.ingestion.recording import recording_from_youtube
from aivlingual_assets.resources.pipeline import PipelineResource


def transcript(*rows: tuple[float, float, str]) -> pd.DataFrame:
    """A transcript frame as stored, built by hand: Segment itself refuses reversed times."""
    return pd.DataFrame({
        "start": pd.Series([r[0] for r in rows], dtype="float64"),
        "end": pd.Series([r[1] for r in rows], dtype="float64"),
        "text": pd.Series([r[2] for r in rows], dtype="str"),
        "speaker": pd.Series([None] * len(rows), dtype="object"),
    })


def recordings_row(key: str, duration: float | None) -> pd.DataFrame:
    return pd.DataFrame([{"partition_key": key, "duration_seconds": math.nan if duration is None else duration}])


GOOD = transcript((0.0, 2.0, "こんばんは"), (2.0, 4.5, "今日は雑談"), (5.0, 9.0, "またね"))


def test_good_times_have_no_problems():
    assert timing_problems(GOOD, 9.0) == []


def test_times_going_backwards():
    problems = timing_problems(transcript((0.0, 2.0, "a"), (5.0, 6.0, "b"), (3.0, 4.0, "c")), None)
    assert problems == ["segment 2 starts before the previous one (3.00s < 5.00s)"]


def test_end_before_start_and_negative_start():
    problems = timing_problems(transcript((-1.0, 1.0, "a"), (5.0, 3.0, "b")), None)
    assert problems == ["segment 0 starts before 0 (-1.00s)", "segment 1 ends before it starts (5.00s > 3.00s)"]


def test_segments_past_the_recording_end_allow_a_second_of_slack():
    frame = transcript((0.0, 5.0, "a"), (5.0, 10.9, "b"), (11.0, 12.5, "c"))
    assert timing_problems(frame, 10.0) == [
        "segment 2 ends at 12.50s, after the recording's end (10.00s)",
    ]
    assert timing_problems(frame, 10.0, tolerance=0.0)[0].startswith("segment 1 ends at 10.90s")


ELEVEN_YEARS = 99999 * 3600.0  # a cue at 99999:00:00


def test_a_cue_later_than_any_stream_is_a_problem_even_when_the_length_is_unknown():
    frame = transcript((0.0, 5.0, "a"), (ELEVEN_YEARS, ELEVEN_YEARS + 5, "b"))
    assert timing_problems(frame, None) == ["segment 1 ends at 99999:00:05, later than any stream lasts (24:00:00)"]


def test_late_cues_are_warned_against_the_known_end_or_any_plausible_length():
    ends = [5.0, 120.0, ELEVEN_YEARS + 5]
    known = late_cues_warning(ends, 100.0)
    assert known.startswith("2 cue(s) end later than the recording's end (0:01:40), the latest at 99999:00:05")
    unknown = late_cues_warning(ends, None)
    assert unknown.startswith("1 cue(s) end later than any stream lasts (24:00:00), the latest at 99999:00:05")
    assert late_cues_warning([5.0, 100.9], 100.0) is None and late_cues_warning([23 * 3600.0], None) is None


@pytest.mark.parametrize("unknown", [None, 0.0, -3.0, math.nan, math.inf, "n/a"])
def test_unknown_duration_checks_only_the_order(unknown):
    assert known_duration(unknown) is None
    assert timing_problems(transcript((0.0, 5000.0, "a")), unknown) == []  # never "past 0 s"


def test_a_missing_time_is_a_problem_not_silently_accepted():
    problems = timing_problems(transcript((0.0, math.nan, "a"), (1.0, 2.0, "b")), 10.0)
    assert problems == ["segment 0 has no valid time (0.0 -> nan)"]


def test_japanese_ratio_of_japanese_english_and_mixed_lines():
    assert japanese_ratio(["みんな〜、こんばんは！ここあです"]) == 1.0
    assert japanese_ratio(["Hi everyone, good evening! It's Cocoa"]) == 0.0
    # a game name or a laugh is one word, not nine letters outweighing the Japanese around it
    assert japanese_ratio(["今日はMinecraftやります"]) > 0.8
    assert japanese_ratio(["まだ早いよｗｗｗ"]) > 0.8
    # digits are no letters; punctuation such as ・ never pushes the ratio above 1
    assert japanese_ratio(["2024年12月25日の配信"]) == 1.0
    assert 0.0 <= japanese_ratio(["a・・・・"]) <= 1.0
    assert japanese_ratio(["人々", "〆切"]) == 1.0
    assert japanese_ratio([]) == 0.0 and japanese_ratio(["♪♪♪", "123"]) == 0.0


def test_english_transcript_warns_and_does_not_fail():
    english = transcript((0.0, 3.0, "Hi everyone, good evening!"), (3.0, 6.0, "Today we just chat, welcome"))
    result = ingestion.transcript_mostly_japanese(english)
    assert result.passed is False and result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["japanese_ratio"].value == 0.0


def test_japanese_stream_with_english_words_passes():
    frame = transcript((0.0, 3.0, "今日はApexやっていくよ"), (3.0, 6.0, "GGｗｗｗ、ナイスー"), (6.0, 9.0, "スパチャありがとう！"))
    result = ingestion.transcript_mostly_japanese(frame)
    assert result.passed is True


def test_empty_transcript():
    empty = transcript()
    assert timing_problems(empty, 10.0) == [] and transcript_end(empty) is None
    assert ingestion.transcript_not_empty(empty).passed is False  # this check owns "empty"
    language = ingestion.transcript_mostly_japanese(empty)
    assert language.passed is True and "no words" in language.description  # no false "wrong language"


def test_within_recording_check_says_when_the_duration_is_unknown(aiv_home):
    pipeline = PipelineResource()
    late = transcript((0.0, 2.0, "a"), (2.0, 500.0, "b"))
    unknown = ingestion.transcript_times_valid(transcripts=late, recordings=recordings_row("yt-abcdefghijk", None),
                                               pipeline=pipeline)
    assert unknown.passed is True and "duration is unknown" in unknown.description
    assert unknown.metadata["duration_known"].value is False

    known = ingestion.transcript_times_valid(transcripts=late, recordings=recordings_row("file-0", 100.0),
                                             pipeline=pipeline)
    assert known.passed is False and "100.00s" in known.description
    assert "segment 1 ends at 500.00s" in known.metadata["first_problems"].value


def test_within_recording_check_uses_a_duration_learned_after_the_recordings_asset(aiv_home):
    """The recordings row of a bare YouTube id has no length; the transcripts asset may register YouTube's."""
    pipeline = PipelineResource()
    pipeline.registry().register(recording_from_youtube("abcdefghijk", duration_seconds=95.0))
    result = ingestion.transcript_times_valid(transcripts=transcript((0.0, 300.0, "a")),
                                              recordings=recordings_row("yt-abcdefghijk", None), pipeline=pipeline)
    assert result.passed is False and result.metadata["duration_known"].value is True
