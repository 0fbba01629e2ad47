"""Rolling auto-captions whose cues stay on screen after the next line appears.

YouTube's rolling captions show each line for as long as it scrolls, so a cue routinely ends
after the next cue has started.  Collapsed to one segment per spoken line, the segments must
never overlap: each line ends when the next one appears (issue 15, item 23).
"""

from __future__ import annotations

from aivlingual_assets.ingestion.subtitles import parse_subtitle_text

OVERLAPPING_ROLL = (
    "1\n00:00:00,000 --> 00:00:03,000\nみなさんこんばんは\n\n"
    "2\n00:00:02,000 --> 00:00:05,000\nみなさんこんばんは\n今日は雑談します\n\n"
    "3\n00:00:04,000 --> 00:00:07,500\n今日は雑談します\n最後まで見てね\n"
)


def test_rolled_lines_end_when_the_next_line_appears():
    segments = parse_subtitle_text(OVERLAPPING_ROLL, fmt="srt")
    assert [(s.text, s.start, s.end) for s in segments] == [
        ("みなさんこんばんは", 0.0, 2.0),  # shown until 3.0, but the next line starts at 2.0
        ("今日は雑談します", 2.0, 4.0),
        ("最後まで見てね", 4.0, 7.5),  # the last line keeps its own end
    ]
    for current, following in zip(segments, segments[1:]):
        assert current.end <= following.start
