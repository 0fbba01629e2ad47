"""The transcript representation shared by every source (subtitles, YouTube, ASR).

A transcript is a list of :class:`Segment` in memory and a DataFrame with the
columns of :data:`TRANSCRIPT_COLUMNS` on disk, so downstream assets never care
where the words came from.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd

TRANSCRIPT_COLUMNS: tuple[str, ...] = ("start", "end", "text", "speaker")


@dataclass(frozen=True, slots=True)
class Segment:
    """One timed line of speech; times are seconds from the start of the recording."""

    start: float
    end: float
    text: str
    speaker: str | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"Segment.{name} must be a number of seconds, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"Segment.{name} must be a finite, non-negative number of seconds, got {value!r}")
        if self.end < self.start:
            raise ValueError(
                f"Segment ends before it starts ({self.start} > {self.end}) for text {self.text!r}; "
                "swap or fix the timestamps."
            )
        if not isinstance(self.text, str):
            raise TypeError(f"Segment.text must be a str, got {type(self.text).__name__}")
        object.__setattr__(self, "start", float(self.start))
        object.__setattr__(self, "end", float(self.end))

    @property
    def duration(self) -> float:
        return self.end - self.start


def segments_to_frame(segments: Iterable[Segment]) -> pd.DataFrame:
    """Segments -> DataFrame (start/end float seconds, text str, speaker object or None)."""
    rows = list(segments)
    frame = pd.DataFrame(
        {
            "start": pd.Series([s.start for s in rows], dtype="float64"),
            "end": pd.Series([s.end for s in rows], dtype="float64"),
            "text": pd.Series([s.text for s in rows], dtype="str"),
            # object keeps None as None (not NaN), which is what "no speaker" means
            "speaker": pd.Series([s.speaker for s in rows], dtype="object"),
        }
    )
    return frame


def frame_to_segments(frame: pd.DataFrame) -> list[Segment]:
    """The inverse of :func:`segments_to_frame` (missing speakers become None)."""
    missing = [c for c in ("start", "end", "text") if c not in frame.columns]
    if missing:
        raise ValueError(
            f"A transcript frame needs the columns {list(TRANSCRIPT_COLUMNS)}; missing {missing}."
        )
    speakers = frame["speaker"] if "speaker" in frame.columns else [None] * len(frame)
    return [
        Segment(
            start=float(start),
            end=float(end),
            text=str(text),
            speaker=None if speaker is None or pd.isna(speaker) else str(speaker),
        )
        for start, end, text, speaker in zip(frame["start"], frame["end"], frame["text"], speakers)
    ]


def speaker_lookup(frame: pd.DataFrame) -> Callable[[float], str | None]:
    """Who was speaking at a time of the recording: the speaker of the latest line that starts by then and has
    not ended (None where no line, or a line without a speaker, covers it). Expressions, anchored to lines,
    take their speaker from it."""
    if "speaker" not in frame.columns or frame.empty:
        return lambda _seconds: None
    rows = sorted(
        (float(start), float(end), None if speaker is None or pd.isna(speaker) else str(speaker))
        for start, end, speaker in zip(frame["start"], frame["end"], frame["speaker"])
    )
    starts = [row[0] for row in rows]

    def speaker_at(seconds: float) -> str | None:
        i = bisect.bisect_right(starts, float(seconds) + 1e-6)
        while i > 0:
            i -= 1
            start, end, speaker = rows[i]
            if end + 1e-6 < seconds:
                continue  # ended before: an earlier line may still be running (overlapping speech)
            return speaker
        return None

    return speaker_at
