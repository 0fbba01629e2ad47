"""What every published piece carries: the source recording, its channel and link, and whether it may be published.

A recording is *cleared for publishing* when its creator allows re-use (clips, thumbnails, a lesson
video). The switch is :class:`PublishingRights`, a Dagster resource (``rights``):

- ``cleared_recordings``: partition keys or YouTube video ids (also ``AIVLINGUAL_CLEARED_RECORDINGS``,
  comma-separated);
- ``cleared_channels``: channel ids or names whose every recording is cleared (also
  ``AIVLINGUAL_CLEARED_CHANNELS``);
- ``local_files_cleared`` (default True): recordings added as local files are the user's own material.

A recording that is not cleared gets plans only (metadata, worksheets, frames describing what would be
made), never a published clip, thumbnail or lesson-video segment.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from .. import settings
from ..ingestion.recording import Recording, watch_url
from .clip_planner import ClipExpression


@dataclass(frozen=True)
class Source:
    """The original recording a piece of content comes from."""

    recording: str
    title: str
    channel: str | None
    url: str | None

    @classmethod
    def of(cls, recording: Recording) -> Source:
        url = recording.url or (watch_url(recording.video_id) if recording.video_id else None)
        if url is None and recording.path:
            url = Path(recording.path).absolute().as_uri()
        return cls(recording=recording.partition_key, title=recording.title, channel=recording.channel, url=url)

    @property
    def channel_label(self) -> str:
        return self.channel or "the original channel (not recorded)"

    def credit(self) -> str:
        """One line naming the stream, its channel and its link."""
        link = f" {self.url}" if self.url else ""
        return f"Original stream: 「{self.title}」 by {self.channel_label}{link}"


def clock(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss`` as YouTube writes timestamps and chapters."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def expressions_from_frame(frame: pd.DataFrame) -> list[ClipExpression]:
    """The levelled expressions of a recording (``difficulty`` frame) in spoken order."""
    found: list[ClipExpression] = []
    for record in frame.to_dict("records"):
        text, start = _text(record.get("expression")), _number(record.get("start"))
        if text is None or start is None:
            continue
        end = _number(record.get("end"))
        found.append(ClipExpression(
            expression=text, lemma=_text(record.get("lemma")), reading=_text(record.get("reading")),
            meaning=_text(record.get("meaning")), level=_text(record.get("level")),
            category=_text(record.get("category")), level_score=_number(record.get("level_score")),
            start=start, end=end if end is not None and end >= start else None,
        ))
    return sorted(found, key=lambda e: (e.start, e.expression))


def example_lines(frame: pd.DataFrame) -> dict[str, str]:
    """Expression -> the stream line it was said in (the ``example`` column)."""
    out: dict[str, str] = {}
    if "example" not in frame.columns:
        return out
    for expression, example in zip(frame["expression"], frame["example"]):
        text = _text(example)
        if text and _text(expression):
            out.setdefault(str(expression), text)
    return out


def stock_expressions(rows: pd.DataFrame) -> tuple[list[ClipExpression], dict[str, str], list[str]]:
    """Stock rows as expressions (timed at their first occurrence), their example lines, and the recordings."""
    from ..analysis.stock_columns import nested

    found: list[ClipExpression] = []
    recordings: list[str] = []
    for record in rows.to_dict("records"):
        occurrences = list(nested(record.get("occurrences"), ()))  # native, or JSON text
        if not occurrences or _text(record.get("expression")) is None:
            continue
        first = occurrences[0]
        recordings.append(str(first.get("recording")))
        found.append(ClipExpression(
            expression=str(record["expression"]), lemma=_text(record.get("lemma")), reading=_text(record.get("reading")),
            meaning=_text(record.get("meaning")), level=_text(record.get("level")),
            category=_text(record.get("category")), level_score=_number(record.get("level_score")),
            start=float(first.get("start") or 0.0), end=_number(first.get("end")),
        ))
    return found, example_lines(rows), list(dict.fromkeys(recordings))


def _split_env(name: str) -> list[str]:
    return [item.strip() for item in (settings.env(name) or "").split(",") if item.strip()]


@dataclass(frozen=True)
class Clearance:
    cleared: bool
    reason: str

    def metadata(self) -> Mapping[str, object]:
        return {"cleared_for_publishing": self.cleared, "clearance": self.reason}


def clearance_for(recording: Recording, *, recordings: Iterable[str], channels: Iterable[str],
                  local_files_cleared: bool) -> Clearance:
    """Whether ``recording`` may be published, and why (a plain function, for tests and the resource)."""
    recordings, channels = set(recordings), set(channels)
    if recording.partition_key in recordings or (recording.video_id and recording.video_id in recordings):
        return Clearance(True, "the recording is listed in cleared_recordings")
    if recording.channel and recording.channel in channels:
        return Clearance(True, f"its channel {recording.channel} is listed in cleared_channels")
    if recording.source == "file" and not recording.video_id and local_files_cleared:
        return Clearance(True, "a local file (local_files_cleared is on)")
    return Clearance(False, "not cleared for publishing: add it to cleared_recordings (or its channel to "
                            "cleared_channels) of the 'rights' resource, or AIVLINGUAL_CLEARED_RECORDINGS")


class PublishingRights(dg.ConfigurableResource):
    """Which recordings may be published as clips, thumbnails and lesson videos (see the module docs)."""

    cleared_recordings: list[str] = []
    cleared_channels: list[str] = []
    local_files_cleared: bool = True

    def clearance(self, recording: Recording) -> Clearance:
        return clearance_for(
            recording,
            recordings=[*self.cleared_recordings, *_split_env("AIVLINGUAL_CLEARED_RECORDINGS")],
            channels=[*self.cleared_channels, *_split_env("AIVLINGUAL_CLEARED_CHANNELS")],
            local_files_cleared=self.local_files_cleared,
        )
