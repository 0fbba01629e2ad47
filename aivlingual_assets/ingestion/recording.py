"""What a recording is, where it came from, and its stable partition key.

A recording is either a YouTube video (key ``yt-<videoId>``) or local files: a
media file and/or a subtitle file that share a name (key ``file-<12 hex>`` of
the media's SHA-256, else the subtitle's).  Keys derive from content, so the
same file dropped twice, or renamed, maps to the same partition.

Pairing: a subtitle's name may carry a language tag before its extension
(``talk.ja.srt`` pairs with ``talk.mp4``), as YouTube downloaders write them.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import SplitResult, parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict

from aivlingual_assets.ingestion.channel_feed import is_channel_id, playlist_feed_url
from aivlingual_assets.ingestion.errors import (
    InvalidVideoIdError,
    MediaError,
    MissingFileError,
    UnsupportedFileError,
    YouTubeUrlWithoutVideoIdError,
)
from aivlingual_assets.ingestion.media import MEDIA_EXTENSIONS, file_sha256, probe_duration
from aivlingual_assets.ingestion.quality import late_cues_warning
from aivlingual_assets.ingestion.subtitles import SUBTITLE_EXTENSIONS, check_subtitle_size, parse_subtitle_file

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS: tuple[str, ...] = MEDIA_EXTENSIONS + SUBTITLE_EXTENSIONS
DEFAULT_LANGUAGE = "ja"
KEY_HASH_LENGTH = 12

_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
_DOWNLOADER_ID = re.compile(r"\[([A-Za-z0-9_-]{11})\]$")  # yt-dlp's "Title [id].ext"
_YOUTUBE_HOSTS = ("youtube.com", "youtube-nocookie.com")
_PATH_ID_PREFIXES = ("shorts", "live", "embed", "v", "e")
_CHANNEL_PREFIXES = ("channel", "c", "user")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


class Recording(BaseModel):
    """One stream recording, the unit every downstream asset is partitioned by."""

    model_config = ConfigDict(frozen=True)

    partition_key: str
    source: Literal["youtube", "file"]
    title: str
    channel: str | None = None
    duration_seconds: float | None = None
    url: str | None = None
    path: str | None = None
    subtitle_path: str | None = None
    content_hash: str | None = None
    language: str = DEFAULT_LANGUAGE
    video_id: str | None = None
    warning: str | None = None  # what was worked around when registering it (e.g. a corrupt media file)


# --- file names --------------------------------------------------------------------------


def _name_parts(path: str | Path) -> tuple[str, str]:
    """(stem, lower-case extension) of a path's file name; plain string work, as the inbox calls it per file."""
    stem, suffix = os.path.splitext(os.path.basename(os.fspath(path)))
    return stem, suffix.lower()


def file_kind(path: str | Path) -> Literal["media", "subtitle"] | None:
    """``"media"``, ``"subtitle"`` or None (unsupported) from the extension alone."""
    suffix = _name_parts(path)[1]
    if suffix in MEDIA_EXTENSIONS:
        return "media"
    if suffix in SUBTITLE_EXTENSIONS:
        return "subtitle"
    return None


def subtitle_language(path: str | Path) -> str | None:
    """The language tag in ``name.<tag>.srt`` (``"ja"``, ``"en-US"``), or None."""
    base, dot, tag = _name_parts(path)[0].rpartition(".")
    if dot and base and _LANGUAGE_TAG.fullmatch(tag):
        return tag
    return None


def pairing_stem(path: str | Path) -> str:
    """The name shared by a recording's files: the stem, minus a subtitle's language tag."""
    stem, suffix = _name_parts(path)
    if suffix in SUBTITLE_EXTENSIONS:
        tag = subtitle_language(path)
        if tag:
            return stem[: -len(tag) - 1]
    return stem


def subtitle_preference(path: str | Path) -> tuple[int, int, str]:
    """Sort key choosing among several subtitles: Japanese, then untagged, then others; .srt first."""
    tag = subtitle_language(path)
    primary = tag.replace("_", "-").split("-")[0].lower() if tag else None
    language_rank = 0 if primary == DEFAULT_LANGUAGE else 1 if primary is None else 2
    extension_rank = SUBTITLE_EXTENSIONS.index(_name_parts(path)[1])
    return language_rank, extension_rank, os.path.basename(os.fspath(path))


def media_preference(path: str | Path) -> tuple[int, str]:
    """Sort key choosing among several media files: video containers before audio-only."""
    return MEDIA_EXTENSIONS.index(_name_parts(path)[1]), os.path.basename(os.fspath(path))


def find_partner_subtitle(media_path: str | Path) -> Path | None:
    """The preferred subtitle next to a media file (same stem, optional language tag)."""
    media_path = Path(media_path)
    stem = media_path.stem
    candidates = []
    with os.scandir(media_path.parent) as entries:
        for entry in entries:
            if entry.name.startswith(stem) and file_kind(entry.name) == "subtitle" and entry.is_file():
                candidate = media_path.parent / entry.name
                if candidate.stem == stem or pairing_stem(candidate) == stem:
                    candidates.append(candidate)
    return min(candidates, key=subtitle_preference) if candidates else None


def find_partner_media(subtitle_path: str | Path) -> Path | None:
    """The preferred media file next to a subtitle (its full stem first, then minus the language tag)."""
    subtitle_path = Path(subtitle_path)
    for stem in dict.fromkeys((subtitle_path.stem, pairing_stem(subtitle_path))):
        found = [
            subtitle_path.with_name(stem + ext)
            for ext in MEDIA_EXTENSIONS
            if subtitle_path.with_name(stem + ext).is_file()
        ]
        if found:
            return min(found, key=media_preference)
    return None


# --- recordings --------------------------------------------------------------------------


def recording_from_path(path: str | Path) -> Recording:
    """A file recording from a media or subtitle file, pulling in its side-by-side partner."""
    path = Path(path)
    kind = file_kind(path)
    if kind is None:
        raise UnsupportedFileError(path, SUPPORTED_EXTENSIONS)
    if not path.is_file():
        raise MissingFileError(path, "recording file")
    if kind == "media":
        return recording_from_files(media=path, subtitle=find_partner_subtitle(path))
    return recording_from_files(media=find_partner_media(path), subtitle=path)


def recording_from_files(*, media: str | Path | None, subtitle: str | Path | None) -> Recording:
    """A file recording from an already-paired media and/or subtitle (as the inbox scan finds them).

    Hashing streams the whole media file; duration comes from the media's
    header, else from the subtitle's last cue (which also validates it) unless that
    cue is later than any stream lasts (then unknown, with a warning).  A media
    file ffmpeg cannot read does not block a good subtitle: the recording is then
    the subtitle's alone, with a ``warning`` that says so (logged here, shown by the
    ``recordings`` asset).
    """
    if media is None and subtitle is None:
        raise ValueError("A file recording needs a media file, a subtitle file, or both.")
    media_path = _checked(media, "media") if media is not None else None
    subtitle_path = _checked(subtitle, "subtitle") if subtitle is not None else None
    warning = None
    duration: float | None = None
    unreadable_media: Path | None = None
    if media_path is not None:
        try:
            duration = probe_duration(media_path)
        except MediaError as error:
            if subtitle_path is None:
                raise
            # the subtitle alone is a whole transcript: a broken video must not block it
            warning = (
                f"The media file {media_path.name} cannot be read ({error.problem.rstrip('.')}), so this recording "
                f"uses the subtitle {subtitle_path.name} alone: no audio and no Shorts. Replace the media file "
                "with a good copy and process it again to get them."
            )
            logger.warning(warning)
            media_path, unreadable_media = None, media_path
    if media_path is None:
        assert subtitle_path is not None
        ends = [segment.end for segment in parse_subtitle_file(subtitle_path)]
        late = late_cues_warning(ends, None)
        if late:  # an 11-year "recording" from one typo: its length is unknown, not the typo
            late = f"{subtitle_path.name}: {late}"
            logger.warning(late)
            warning = f"{warning} {late}" if warning else late
        else:
            duration = max(ends)
    keyed = media_path or subtitle_path
    assert keyed is not None
    digest = file_sha256(keyed)
    stem = pairing_stem(keyed)
    downloader_id = _DOWNLOADER_ID.search(stem)
    video_id = downloader_id.group(1) if downloader_id else None
    language = DEFAULT_LANGUAGE
    tag = subtitle_language(subtitle_path) if subtitle_path is not None else None
    # "live.abc.srt" next to "live.abc.mp4" shares the full stem: "abc" is part of the name, not a language
    paired_media = media_path or unreadable_media
    if tag and subtitle_path is not None and (paired_media is None or paired_media.stem != subtitle_path.stem):
        language = tag.replace("_", "-").split("-")[0].lower()
    return Recording(
        partition_key=f"file-{digest[:KEY_HASH_LENGTH]}",
        source="file",
        title=stem.replace("_", " ").strip() or keyed.name,
        duration_seconds=duration,
        url=watch_url(video_id) if video_id else None,
        path=str(media_path) if media_path else None,
        subtitle_path=str(subtitle_path) if subtitle_path else None,
        content_hash=digest,
        language=language,
        video_id=video_id,
        warning=warning,
    )


def recording_from_youtube(
    url_or_id: str, title: str | None = None, channel: str | None = None, duration_seconds: float | None = None
) -> Recording:
    """A YouTube recording (no network): key ``yt-<videoId>``, canonical watch URL."""
    video_id = parse_video_id(url_or_id)
    return Recording(
        partition_key=f"yt-{video_id}",
        source="youtube",
        title=title or placeholder_title(video_id),
        channel=channel,
        duration_seconds=duration_seconds,
        url=watch_url(video_id),
        video_id=video_id,
    )


def placeholder_title(video_id: str) -> str:
    """The title a YouTube recording gets before anything told us the real one."""
    return f"YouTube video {video_id}"


# facts about the recording itself: a later registration that does not know them must not erase them
_KNOWN_FACTS: tuple[str, ...] = ("channel", "duration_seconds", "url", "video_id", "content_hash")


def merge_known(known: Recording, new: Recording) -> Recording:
    """``new`` (a re-registration of the same key) without forgetting what ``known`` already knew.

    The newer registration wins (paths move, titles change), except that a None fact or a
    placeholder title never replaces a known one: the channel feed gives title and channel,
    then ``aivlingual process <id>`` re-adds the bare id.
    """
    kept = {name: getattr(known, name) for name in _KNOWN_FACTS
            if getattr(new, name) is None and getattr(known, name) is not None}
    if new.video_id and new.title == placeholder_title(new.video_id) and known.title != new.title:
        kept["title"] = known.title
    return new.model_copy(update=kept) if kept else new


def parse_video_id(text: str) -> str:
    """The 11-character id from a bare id or a watch / youtu.be / shorts / live / embed URL.

    A YouTube URL that names no video (a playlist, a channel, a watch URL without ``v=``) raises
    :class:`YouTubeUrlWithoutVideoIdError`, which says how to add playlists and channels instead.
    """
    candidate = (text or "").strip()
    if _VIDEO_ID.fullmatch(candidate):
        return candidate
    parts = _youtube_url(candidate)
    if parts is None:
        raise InvalidVideoIdError(text)
    segments = [s for s in parts.path.split("/") if s]
    found: str | None = None
    if (parts.hostname or "").lower().endswith("youtu.be"):
        found = segments[0] if segments else None
    elif segments[:1] == ["watch"] or not segments:
        found = (parse_qs(parts.query).get("v") or [None])[0]
    elif len(segments) >= 2 and segments[0] in _PATH_ID_PREFIXES:
        found = segments[1]
    if found and _VIDEO_ID.fullmatch(found):
        return found
    raise _without_video_id(candidate, parts, segments)


def is_youtube_url(text: str) -> bool:
    """Whether ``text`` is a URL (scheme optional) on a YouTube host, whatever it points to."""
    return _youtube_url((text or "").strip()) is not None


def _youtube_url(candidate: str) -> SplitResult | None:
    if not candidate or any(c.isspace() for c in candidate):
        return None
    try:
        parts = urlsplit(candidate if "://" in candidate else f"https://{candidate}")
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if host == "youtu.be" or host.endswith(".youtu.be") or any(host == h or host.endswith("." + h)
                                                                for h in _YOUTUBE_HOSTS):
        return parts
    return None


def _without_video_id(text: str, parts: SplitResult, segments: list[str]) -> YouTubeUrlWithoutVideoIdError:
    """The error for a YouTube URL with no video id, with how to add what it points to instead."""
    playlist = (parse_qs(parts.query).get("list") or [None])[0]
    if playlist:
        return YouTubeUrlWithoutVideoIdError(
            text, f"it is the playlist {playlist}",
            "A playlist is not one recording: pass the URLs of its videos (`aivlingual process URL1 URL2 ...`), "
            "or follow it like a channel by adding its feed "
            f"{playlist_feed_url(playlist)} to AIVLINGUAL_CHANNELS (comma-separated) and turning on "
            "youtube_channels_sensor, which queues its latest ~15 videos and every video added later.",
        )
    if segments and (segments[0] in _CHANNEL_PREFIXES or segments[0].startswith("@")):
        channel = segments[1] if segments[0] == "channel" and len(segments) >= 2 else None
        name = channel or "/".join(segments[:2] if segments[0] in _CHANNEL_PREFIXES else segments[:1])
        how = (f"add {channel} to AIVLINGUAL_CHANNELS" if channel and is_channel_id(channel) else
               "add the channel's id (starts with 'UC': on the channel page, About -> Share channel -> "
               "Copy channel ID) to AIVLINGUAL_CHANNELS")
        return YouTubeUrlWithoutVideoIdError(
            text, f"it is the channel {name}",
            f"To process a channel's streams, {how} (comma-separated) and turn on youtube_channels_sensor: "
            "it queues the channel's latest ~15 videos and every new upload.",
        )
    return YouTubeUrlWithoutVideoIdError(
        text, "it names no video", "Copy the video's address from its page or its Share button.",
    )


def recording_from_source(text: str) -> Recording:
    """What ``aivlingual process`` accepts: a media or subtitle path, a YouTube URL, or a bare video id.

    An existing file always wins; any URL is read as a URL (never as a file name, which would mangle
    ``https://`` into a path), so a playlist, channel or non-YouTube URL gets an error that says so.
    """
    stripped = (text or "").strip()
    path = Path(stripped).expanduser()
    if stripped and path.exists():
        return recording_from_path(path)
    if is_youtube_url(stripped) or _VIDEO_ID.fullmatch(stripped) or _URL_SCHEME.match(stripped):
        return recording_from_youtube(stripped)  # parse_video_id explains what is wrong with the URL
    return recording_from_path(path)  # the missing-file / unsupported-file error


def watch_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def timestamp_url(recording: Recording, seconds: float) -> str | None:
    """A link that opens the recording at ``seconds``.

    YouTube (or a file named after its video id): ``…watch?v=ID&t=NNs``.
    Local media: a ``file://`` URI with a Media Fragment ``#t=SS.sss``, which
    browsers and VLC honour.  Subtitle-only recordings have nothing to play: None.
    """
    seconds = max(0.0, float(seconds))
    if recording.video_id:
        return f"{watch_url(recording.video_id)}&t={int(seconds)}s"
    if recording.path:
        fragment = f"{seconds:.3f}".rstrip("0").rstrip(".")
        return f"{Path(recording.path).absolute().as_uri()}#t={fragment}"
    return None


def _checked(path: str | Path, kind: Literal["media", "subtitle"]) -> Path:
    path = Path(path).absolute()
    if file_kind(path) != kind:
        allowed = MEDIA_EXTENSIONS if kind == "media" else SUBTITLE_EXTENSIONS
        raise UnsupportedFileError(path, allowed)
    if not path.is_file():
        raise MissingFileError(path, f"{kind} file")
    if kind == "subtitle":
        check_subtitle_size(path)  # refused when it is added, not after the media was hashed and probed
    return path
