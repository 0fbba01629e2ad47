"""Exceptions raised by the ingestion domain.

Every message says what is wrong and how to fix it, because these errors end
up in Dagster run logs read by someone who did not write the code.  They all
derive from :class:`IngestionError` so callers (sensors, assets) can catch the
whole family, and from the closest builtin so generic handlers still work.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from urllib.request import getproxies

if TYPE_CHECKING:
    import requests


class IngestionError(Exception):
    """Base class of every error raised by ``aivlingual_assets.ingestion``."""


class UnsupportedFileError(IngestionError, ValueError):
    """A file whose extension is neither a supported media nor subtitle type."""

    def __init__(self, path: str | Path, supported: tuple[str, ...]):
        self.path = Path(path)
        self.supported = supported
        super().__init__(
            f"{self.path} has the unsupported extension {self.path.suffix or '(none)'!r}. "
            f"Supported extensions: {', '.join(supported)}. "
            "Convert the file (e.g. with ffmpeg) or rename it if the extension is wrong."
        )


class MissingFileError(IngestionError, FileNotFoundError):
    """A path that should exist (a recording, a subtitle, the inbox) does not."""

    def __init__(self, path: str | Path, what: str = "file"):
        self.path = Path(path)
        super().__init__(
            f"The {what} {self.path} does not exist (or is not readable). "
            "Check the path, or that the file was not moved while it was being processed."
        )


class InvalidVideoIdError(IngestionError, ValueError):
    """Text that is neither a YouTube URL nor an 11-character video id."""

    def __init__(self, text: str):
        self.text = text
        super().__init__(
            f"Cannot find a YouTube video id in {text!r}. Pass a video URL "
            "(https://www.youtube.com/watch?v=..., https://youtu.be/..., /shorts/..., /live/..., "
            "/embed/...) or the bare 11-character id such as 'dQw4w9WgXcQ'."
        )


class YouTubeUrlWithoutVideoIdError(InvalidVideoIdError):
    """A YouTube URL that names no single video: a playlist, a channel, or a watch URL missing its id."""

    def __init__(self, text: str, what: str, advice: str):
        IngestionError.__init__(
            self,
            f"{text!r} is a YouTube URL without a video id: {_sentence(what)} {advice} "
            "To process one video, pass its URL (https://www.youtube.com/watch?v=..., https://youtu.be/...) "
            "or its bare 11-character id such as 'dQw4w9WgXcQ'.",
        )
        self.text = text
        self.what = what
        self.advice = advice


class SubtitleError(IngestionError, ValueError):
    """A subtitle file that cannot be read or parsed."""

    def __init__(
        self,
        path: str | Path,
        problem: str,
        *,
        line: int | None = None,
        byte_offset: int | None = None,
        advice: str | None = None,
    ):
        self.path = Path(path)
        self.problem = problem
        self.line = line
        self.byte_offset = byte_offset
        where = ""
        if line is not None:
            where = f" at line {line}"
            if byte_offset is not None:
                where += f" (byte offset {byte_offset})"
        elif byte_offset is not None:
            where = f" at byte offset {byte_offset}"
        message = f"Cannot read subtitle file {self.path}{where}: {_sentence(problem)}"
        if advice:
            message += f" {advice}"
        super().__init__(message)


class SubtitleTooLargeError(SubtitleError):
    """A subtitle file above the size the pipeline reads (``AIVLINGUAL_MAX_SUBTITLE_MB``)."""

    def __init__(self, path: str | Path, size_bytes: int, limit_mb: float, setting: str):
        self.size_bytes = size_bytes
        self.limit_mb = limit_mb
        size_mb = size_bytes / 2**20
        super().__init__(
            path,
            f"it is {size_mb:.1f} MB, above the {limit_mb:g} MB limit for one subtitle file "
            f"({setting}). One 12-hour stream's subtitles take 1.5 to 5 MB.",
            advice=f"Split it into files under {limit_mb:g} MB, one per stream (a subtitle editor such as "
            "Subtitle Edit: Tools -> Split subtitle), and process each with its own video; or, if this really is "
            f"one recording and the machine has the memory and time for it (the README's 'What happens when "
            f"things go wrong' gives both per MB), raise {setting}.",
        )


class EmptyTranscriptError(SubtitleError):
    """A subtitle file (or transcript) that holds no usable cue."""

    def __init__(self, path: str | Path, problem: str = "it contains no subtitle cues."):
        super().__init__(
            path,
            problem,
            advice="Check that the right file was exported, or delete it so the media "
            "file is transcribed instead.",
        )


class TranscriptUnavailableError(IngestionError):
    """YouTube has no usable transcript for a video (or refuses to serve it)."""

    def __init__(self, video_id: str, reason: str, advice: str):
        self.video_id = video_id
        self.reason = reason
        self.advice = advice
        super().__init__(
            f"No transcript could be fetched for YouTube video {video_id} "
            f"(https://www.youtube.com/watch?v={video_id}): {_sentence(reason)} {advice}"
        )


class FeedError(IngestionError):
    """A YouTube channel feed that cannot be fetched or parsed."""

    def __init__(self, url: str, problem: str, advice: str = ""):
        self.url = url
        self.problem = problem
        message = f"Cannot read the channel feed {url}: {_sentence(problem)}"
        if advice:
            message += f" {advice}"
        super().__init__(message)


class MediaError(IngestionError):
    """ffmpeg could not read or convert a media file."""

    def __init__(self, path: str | Path, problem: str, stderr_tail: str = ""):
        self.path = Path(path)
        self.problem = problem
        self.stderr_tail = stderr_tail
        message = f"Cannot process media file {self.path}: {_sentence(problem)}"
        if stderr_tail:
            message += f"\nffmpeg said:\n{stderr_tail}"
        super().__init__(message)


class InboxError(IngestionError):
    """The inbox folder itself cannot be scanned."""


def _sentence(text: str) -> str:
    """End a message fragment with a full stop so the advice after it reads as a new sentence."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "。")) else text + "."


def without_credentials(error: BaseException, session: "requests.Session | None" = None) -> str:
    """The error's text without proxy passwords (the session's and the environment's) or a
    URL's user:password@: a network error may quote the proxy URL it failed on."""
    text = str(error)
    proxies = [*((session.proxies or {}).values() if session is not None else ()), *getproxies().values()]
    for proxy in proxies:
        password = urlsplit(proxy).password if isinstance(proxy, str) else None
        if password:
            text = text.replace(password, "***")
    return re.sub(r"(?<=://)[^/\s:@]+:[^/\s@]+@", "***@", text)
