from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from aivlingual_assets.ingestion.errors import (
    EmptyTranscriptError,
    MissingFileError,
    SubtitleError,
    SubtitleTooLargeError,
    UnsupportedFileError,
)
from aivlingual_assets.ingestion.segments import Segment, frame_to_segments, segments_to_frame
from aivlingual_assets.ingestion.subtitles import (
    clean_cue_text,
    join_lines,
    parse_subtitle_file,
    parse_subtitle_text,
    read_subtitle_file,
)
from aivlingual_tests.ingestion.conftest import SUBTITLES


def texts(segments: list[Segment]) -> list[str]:
    return [s.text for s in segments]


def test_srt_markup_is_cleaned_and_cues_are_ordered():
    segments = parse_subtitle_file(SUBTITLES / "tagged.srt")  # starts with a UTF-8 BOM
    assert texts(segments) == [
        "こんばんは！今日もよろしくね",
        "それは草（笑）マジでウケる",  # （笑） is content, the two lines join without a space
        "画面の上に出るテロップ",  # {\an8} removed
        'ねえ聞いて、"神回" だって & 同接もすごい',
        "Let's go 一緒にがんばろう",  # the markup-only cue 5 is dropped
    ]
    assert [s.start for s in segments] == sorted(s.start for s in segments)
    assert segments[0].start == 1.0 and segments[0].end == 3.5
    assert segments[3].speaker == "Ruri"
    assert all(s.speaker is None for i, s in enumerate(segments) if i != 3)


def test_vtt_styles_settings_voices_and_ruby():
    segments = parse_subtitle_file(SUBTITLES / "styled.vtt")
    assert texts(segments) == ["はじめまして！", "初見さんいらっしゃい", "推しの配信、最高！", "それな〜"]
    assert [s.speaker for s in segments] == ["Kohaku", None, None, "Mika"]
    assert (segments[-1].start, segments[-1].end) == (6.5, 8.25)


@pytest.mark.parametrize("name", ["youtube_auto.ja.vtt", "youtube_auto_rolling.srt"])
def test_rolling_auto_captions_collapse_to_one_segment_per_line(name: str):
    segments = parse_subtitle_file(SUBTITLES / name)
    assert texts(segments) == [
        "みなさんこんばんはここあです",
        "今日はゲームをやってみよう",
        "と思います",
        "草草",
        "草草",  # said twice: the repeat is kept, only the rolled-over copy is dropped
    ]
    assert [s.start for s in segments] == [0.16, 2.4, 5.12, 7.84, 10.0]
    for current, following in zip(segments, segments[1:]):
        assert current.end <= following.start


def test_growing_word_by_word_captions_merge_into_one_line():
    text = (
        "1\n00:00:01,000 --> 00:00:01,500\n今日は\n\n"
        "2\n00:00:01,500 --> 00:00:02,000\n今日はいい\n\n"
        "3\n00:00:02,000 --> 00:00:03,000\n今日はいい天気\n\n"
        "4\n00:00:03,000 --> 00:00:04,000\n今日はいい天気\nですね\n"
    )
    segments = parse_subtitle_text(text, fmt="srt")
    assert texts(segments) == ["今日はいい天気", "ですね"]
    assert (segments[0].start, segments[0].end) == (1.0, 3.0)


def test_ordinary_subtitles_are_not_treated_as_rolling():
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\nはい\n\n"
        "2\n00:00:02,000 --> 00:00:03,000\nはい、そうです\n\n"
        "3\n00:00:04,000 --> 00:00:05,000\nなるほど\n\n"
        "4\n00:00:05,500 --> 00:00:07,000\nそれで？\n"
    )
    assert texts(parse_subtitle_text(text, fmt="srt")) == ["はい", "はい、そうです", "なるほど", "それで？"]


def test_flash_duplicates_are_dropped_in_ordinary_files():
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\n一行目\n\n"
        "2\n00:00:02,000 --> 00:00:02,010\n一行目\n\n"
        "3\n00:00:03,000 --> 00:00:04,000\n二行目\n"
    )
    assert texts(parse_subtitle_text(text, fmt="srt")) == ["一行目", "二行目"]


ENCODINGS = SUBTITLES / "encodings"  # sample_stream.ja.srt's first 12 cues, saved as each tool would
UTF8_SAMPLE = (ENCODINGS / "sample.utf-8.srt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "encoding"),
    [("shift_jis", "cp932"), ("euc-jp", "euc_jp"), ("utf-16le-nobom", "utf_16_le"), ("utf-16be-nobom", "utf_16_be")],
)
def test_japanese_subtitle_encodings_are_detected_and_named(name: str, encoding: str):
    segments, used = read_subtitle_file(ENCODINGS / f"sample.{name}.srt")
    assert used == encoding
    # cp932 maps the wave dash 〜 to its full-width twin ～, as Windows does: compare with what the encoding keeps
    expected = parse_subtitle_text(UTF8_SAMPLE.encode(encoding).decode(encoding), fmt="srt")
    assert segments == expected and len(segments) == 12
    assert segments[1].text == "今日も配信来てくれてありがとう！"


def test_the_small_shift_jis_fixture_is_read_too():
    assert read_subtitle_file(SUBTITLES / "shift_jis.srt") == (
        [Segment(1.0, 2.0, "こんにちは、配信はじめます")], "cp932")


def test_utf8_is_named_with_or_without_bom():
    assert read_subtitle_file(ENCODINGS / "sample.utf-8.srt")[1] == "utf-8"
    assert read_subtitle_file(SUBTITLES / "tagged.srt")[1] == "utf-8 (BOM)"


def test_damaged_utf8_names_file_offset_and_fix_instead_of_guessing_another_encoding(tmp_path: Path):
    data = (ENCODINGS / "sample.utf-8.srt").read_bytes()
    offset = data.index("雑談".encode())
    damaged = tmp_path / "damaged.srt"
    damaged.write_bytes(data[:offset] + b"\xff" + data[offset + 1:])
    with pytest.raises(SubtitleError) as caught:
        parse_subtitle_file(damaged)
    error = caught.value
    assert error.byte_offset == offset and error.line == data[:offset].count(b"\n") + 1
    message = str(error)
    assert "damaged.srt" in message and f"byte offset {offset}" in message
    assert "not valid UTF-8" in message and "Re-save" in message

    bad = tmp_path / "bad.vtt"
    bad.write_bytes(codecs.BOM_UTF8 + "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok".encode() + b"\xff\n")
    with pytest.raises(SubtitleError) as caught:
        parse_subtitle_file(bad)
    assert caught.value.byte_offset == len(codecs.BOM_UTF8) + len("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok")


def test_binary_garbage_is_not_decoded_as_some_encoding(tmp_path: Path):
    garbage = tmp_path / "garbage.srt"
    garbage.write_bytes(bytes(range(256)) * 16)
    with pytest.raises(SubtitleError, match="not valid UTF-8"):
        parse_subtitle_file(garbage)


def test_utf16_with_bom_is_accepted(tmp_path: Path):
    path = tmp_path / "windows.srt"
    path.write_bytes(codecs.BOM_UTF16_LE + "1\r\n00:00:01,000 --> 00:00:02,000\r\nてぇてぇ\r\n".encode("utf-16-le"))
    assert texts(parse_subtitle_file(path)) == ["てぇてぇ"]


def test_broken_srt_timing_reports_the_line():
    with pytest.raises(SubtitleError) as caught:
        parse_subtitle_file(SUBTITLES / "broken_timing.srt")
    assert caught.value.line == 9
    assert "broken_timing.srt" in str(caught.value) and "00:00:0X,000" in str(caught.value)


def test_broken_vtt_timing_reports_the_line_instead_of_dropping_the_cue():
    with pytest.raises(SubtitleError) as caught:
        parse_subtitle_file(SUBTITLES / "broken_timing.vtt")
    assert caught.value.line == 9
    assert "00:00:99.000" in str(caught.value)


def test_cue_ending_before_it_starts():
    text = "1\n00:00:01,000 --> 00:00:02,000\nok\n\n7\n00:00:05,000 --> 00:00:04,000\n逆\n"
    with pytest.raises(SubtitleError, match="cue 7 ends"):
        parse_subtitle_text(text, fmt="srt", source="reversed.srt")


def test_vtt_without_header():
    with pytest.raises(SubtitleError, match="WEBVTT"):
        parse_subtitle_file(SUBTITLES / "missing_header.vtt")


@pytest.mark.parametrize("name", ["empty.srt", "no_cues.vtt", "only_markup.srt"])
def test_empty_transcripts(name: str):
    with pytest.raises(EmptyTranscriptError) as caught:
        parse_subtitle_file(SUBTITLES / name)
    assert name in str(caught.value)


def test_unsupported_and_missing_files(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(UnsupportedFileError, match=r"\.txt"):
        parse_subtitle_file(tmp_path / "notes.txt")
    with pytest.raises(MissingFileError):
        parse_subtitle_file(tmp_path / "gone.srt")


def test_clean_cue_text_and_join():
    lines, speaker = clean_cue_text("<v Aoi>やばい</v>\n<font color=red>エモい</font>　すぎる")
    assert (lines, speaker) == (["やばい", "エモい すぎる"], "Aoi")
    assert join_lines(["今日は", "配信"]) == "今日は配信"
    assert join_lines(["ASMR", "配信"]) == "ASMR 配信"


def test_segments_frame_round_trip():
    segments = parse_subtitle_file(SUBTITLES / "styled.vtt")
    frame = segments_to_frame(segments)
    assert list(frame.columns) == ["start", "end", "text", "speaker"]
    assert str(frame["start"].dtype) == "float64" and frame["speaker"].dtype == object
    assert frame["speaker"].tolist() == ["Kohaku", None, None, "Mika"]
    assert frame_to_segments(frame) == segments
    assert segments_to_frame([]).empty


def test_segment_validation():
    with pytest.raises(ValueError, match="ends before it starts"):
        Segment(2.0, 1.0, "x")
    with pytest.raises(ValueError):
        Segment(-1.0, 1.0, "x")


def test_a_50_mb_subtitle_is_refused_before_it_is_read(tmp_path: Path, monkeypatch):
    import tracemalloc

    monkeypatch.delenv("AIVLINGUAL_MAX_SUBTITLE_MB", raising=False)
    huge = tmp_path / "a_year_of_streams.srt"
    with huge.open("wb") as handle:
        handle.truncate(50 * 2**20)  # sparse: the size of a 50 MB file without writing one
    tracemalloc.start()
    try:
        with pytest.raises(SubtitleTooLargeError) as caught:
            parse_subtitle_file(huge)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # never read into memory
    message = str(caught.value)
    assert "a_year_of_streams.srt" in message and "50.0 MB, above the 10 MB limit" in message
    assert "Split it into files under 10 MB" in message and "AIVLINGUAL_MAX_SUBTITLE_MB" in message


def test_the_subtitle_size_limit_is_set_in_the_environment(tmp_path: Path, monkeypatch):
    subtitle = ENCODINGS / "sample.utf-8.srt"  # 1,164 bytes
    monkeypatch.setenv("AIVLINGUAL_MAX_SUBTITLE_MB", "0.001")  # 1,048 bytes
    with pytest.raises(SubtitleTooLargeError, match="above the 0.001 MB limit"):
        parse_subtitle_file(subtitle)
    monkeypatch.setenv("AIVLINGUAL_MAX_SUBTITLE_MB", "0.002")
    assert len(parse_subtitle_file(subtitle)) == 12
    monkeypatch.setenv("AIVLINGUAL_MAX_SUBTITLE_MB", "lots")
    with pytest.raises(ValueError, match="AIVLINGUAL_MAX_SUBTITLE_MB='lots' is not a positive number"):
        parse_subtitle_file(subtitle)
