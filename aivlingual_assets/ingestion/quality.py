"""Checks on a transcript's shape, shared by asset checks and the CLI."""

from __future__ import annotations

import re

import pandas as pd

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
_LETTER = re.compile(r"\w")


def timing_problems(frame: pd.DataFrame, duration: float | None, tolerance: float = 1.0) -> list[str]:
    """Human-readable problems: negative or reversed times, starts going backwards, past the end."""
    problems: list[str] = []
    previous_start = -1.0
    for i, (start, end) in enumerate(zip(frame["start"], frame["end"])):
        if start < 0:
            problems.append(f"segment {i} starts before 0 ({start:.2f}s)")
        if end < start:
            problems.append(f"segment {i} ends before it starts ({start:.2f}s > {end:.2f}s)")
        if start < previous_start:
            problems.append(f"segment {i} starts before the previous one ({start:.2f}s < {previous_start:.2f}s)")
        if duration and end > duration + tolerance:
            problems.append(f"segment {i} ends at {end:.2f}s, after the recording's end ({duration:.2f}s)")
        previous_start = start
    return problems


def japanese_ratio(texts: list[str]) -> float:
    """Share of letters that are kana or kanji (0 when there are no letters)."""
    japanese = letters = 0
    for text in texts:
        japanese += len(_JAPANESE.findall(text))
        letters += len(_LETTER.findall(text))
    return japanese / letters if letters else 0.0
