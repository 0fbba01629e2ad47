"""Checks on a transcript's shape, shared by asset checks and the CLI."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import pandas as pd

# Japanese *letters* only (kana incl. ー/ゝ/ヽ, kanji incl. 々〆〇, half-width katakana): punctuation such as
# ・ or 、 is no letter, and counting it made the ratio exceed 1 next to a few Latin letters.
_JAPANESE = re.compile(
    "[\u3005-\u3007\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f]"
)
_OTHER_WORD = re.compile(r"[^\W\d_]+")  # a run of letters, digits and underscore excluded
MOSTLY_JAPANESE = 0.5
# YouTube stops archiving a live stream after 12 hours: a cue later than a day is a wrong timing line
MAX_PLAUSIBLE_SECONDS = 24 * 3600.0
END_TOLERANCE_SECONDS = 1.0


def known_duration(value: object) -> float | None:
    """A recording's duration in seconds, or None when unknown (None, NaN, 0 or negative: nothing to compare with)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def clock(seconds: float) -> str:
    """``H:MM:SS`` of a time in seconds (hours unbounded, as subtitle files write them)."""
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def late_cues_warning(ends: Iterable[float], duration: float | None) -> str | None:
    """A warning when cues end after the recording's known end, or (length unknown) later than any stream lasts."""
    duration = known_duration(duration)
    if duration is not None:
        limit, what = duration + END_TOLERANCE_SECONDS, f"the recording's end ({clock(duration)})"
    else:
        limit, what = MAX_PLAUSIBLE_SECONDS, f"any stream lasts ({clock(MAX_PLAUSIBLE_SECONDS)})"
    late = [end for end in ends if math.isfinite(end) and end > limit]
    if not late:
        return None
    return (f"{len(late)} cue(s) end later than {what}, the latest at {clock(max(late))}: their timing lines are "
            "probably wrong (a typo in the hours?). Fix them in the subtitle file and process it again.")


def timing_problems(
    frame: pd.DataFrame, duration: float | None, tolerance: float = END_TOLERANCE_SECONDS
) -> list[str]:
    """Human-readable problems: missing, negative or reversed times, starts going backwards, past the end.

    ``duration`` None (or 0/NaN, see :func:`known_duration`) means unknown: only the order is checked,
    and that no segment ends later than any stream lasts (:data:`MAX_PLAUSIBLE_SECONDS`).
    """
    duration = known_duration(duration)
    problems: list[str] = []
    previous_start = -1.0
    for i, (start, end) in enumerate(zip(frame["start"], frame["end"])):
        if not (math.isfinite(start) and math.isfinite(end)):  # NaN compares False with everything below
            problems.append(f"segment {i} has no valid time ({start} -> {end})")
            continue
        if start < 0:
            problems.append(f"segment {i} starts before 0 ({start:.2f}s)")
        if end < start:
            problems.append(f"segment {i} ends before it starts ({start:.2f}s > {end:.2f}s)")
        if start < previous_start:
            problems.append(f"segment {i} starts before the previous one ({start:.2f}s < {previous_start:.2f}s)")
        if duration is not None and end > duration + tolerance:
            problems.append(f"segment {i} ends at {end:.2f}s, after the recording's end ({duration:.2f}s)")
        elif duration is None and end > MAX_PLAUSIBLE_SECONDS:
            problems.append(f"segment {i} ends at {clock(end)}, later than any stream lasts "
                            f"({clock(MAX_PLAUSIBLE_SECONDS)})")
        previous_start = start
    return problems


def transcript_end(frame: pd.DataFrame) -> float | None:
    """Where the transcript's last segment ends: the duration it covers from 0, or None when empty."""
    ends = frame["end"].dropna()
    return float(ends.max()) if len(ends) else None


def japanese_ratio(texts: list[str]) -> float:
    """Share of written units that are Japanese (0 when there is nothing to count).

    A unit is one kana or kanji, or one run of other letters: a Latin word ("Minecraft") or a laugh
    ("ｗｗｗ") counts once, since it stands for about as much speech as a kana or two; counting its
    letters made Japanese chat with a few game names look English.  Digits, punctuation and symbols
    are not counted.  Kanji-only text (Chinese) cannot be told apart and counts as Japanese.
    """
    japanese = other = 0
    for text in texts:
        japanese += len(_JAPANESE.findall(text))
        other += len(_OTHER_WORD.findall(_JAPANESE.sub(" ", text)))
    total = japanese + other
    return japanese / total if total else 0.0


def has_letters(texts: list[str]) -> bool:
    """Whether there is any word to measure the language of (not just digits, punctuation, ♪)."""
    return any(_OTHER_WORD.search(text) for text in texts)
