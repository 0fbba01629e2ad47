"""Transcripts of YouTube videos via ``youtube-transcript-api`` (no API key).

A human-made Japanese track is preferred over YouTube's speech recognition,
which garbles exactly the slang a learner wants.  Every library failure is
mapped to :class:`TranscriptUnavailableError` with advice on what to do next.

The library's player request already answers with the video's title, channel and
length (``videoDetails``); a response hook on the session reads them from that
same response, so they cost no extra request.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import ParseError

import requests
from defusedxml import DefusedXmlException
from youtube_transcript_api import (
    AgeRestricted,
    CouldNotRetrieveTranscript,
    FailedToCreateConsentCookie,
    InvalidVideoId,
    IpBlocked,
    NoTranscriptFound,
    PoTokenRequired,
    RequestBlocked,
    TranscriptList,
    TranscriptsDisabled,
    VideoUnavailable,
    VideoUnplayable,
    YouTubeDataUnparsable,
    YouTubeRequestFailed,
    YouTubeTranscriptApi,
)

from aivlingual_assets.ingestion.errors import TranscriptUnavailableError, without_credentials
from aivlingual_assets.ingestion.recording import Recording, parse_video_id, placeholder_title
from aivlingual_assets.ingestion.segments import Segment
from aivlingual_assets.ingestion.subtitles import join_lines

_PLAYER_PATH = "/youtubei/v1/player"
_INBOX = "download the video and drop it (with a subtitle file if you have one) into the inbox instead."
_ADD_SUBTITLE = _INBOX[:1].upper() + _INBOX[1:]


def fetch_youtube_transcript(
    video_id: str,
    *,
    languages: Sequence[str] = ("ja",),
    http_client: requests.Session | None = None,
) -> tuple[list[Segment], dict[str, Any]]:
    """Segments of the best track in ``languages`` plus metadata about the track.

    Order: a manually created track in any of ``languages`` (in order), then a
    generated one.  Snippet ends are clipped to the next start, because
    YouTube's on-screen durations overlap.  ``video_id`` may also be a URL.
    """
    video_id = parse_video_id(video_id)
    languages = tuple(languages)
    if not languages:
        raise ValueError("languages must name at least one language code, e.g. ('ja',)")
    session = http_client if http_client is not None else requests.Session()
    api = YouTubeTranscriptApi(http_client=session)
    details: dict[str, Any] = {}
    try:
        with _reading_video_details(session, video_id, details):
            tracks = api.list(video_id)
        transcript = _pick_track(tracks, languages, video_id)
        fetched = transcript.fetch()
    except TranscriptUnavailableError:
        raise
    except CouldNotRetrieveTranscript as error:
        raise _translate(error, video_id) from error
    except (ParseError, DefusedXmlException, requests.JSONDecodeError, KeyError, TypeError) as error:
        raise TranscriptUnavailableError(
            video_id,
            f"YouTube returned transcript data that could not be read ({error.__class__.__name__}: {error}).",
            "YouTube may have changed its format: upgrade youtube-transcript-api, or " + _INBOX,
        ) from error
    except requests.RequestException as error:
        raise _request_failed(video_id, error, session) from None

    segments = _to_segments(fetched.snippets)
    if not segments:
        raise TranscriptUnavailableError(
            video_id, f"the {fetched.language_code} transcript track is empty.", _ADD_SUBTITLE
        )
    metadata = {
        "video_id": video_id,
        "language": fetched.language_code,
        "language_name": fetched.language,
        "is_generated": fetched.is_generated,
        "source": "youtube-generated" if fetched.is_generated else "youtube-manual",
        **video_details(details),
    }
    return segments, metadata


_LEARNED_FIELDS: tuple[str, ...] = ("title", "channel", "duration_seconds")


def with_video_details(recording: Recording, *, http_client: requests.Session | None = None) -> Recording:
    """A YouTube recording still titled "YouTube video <id>" with its real title, and the channel and length
    it lacked, as YouTube tells them; any other recording as it is (no request)."""
    if recording.source != "youtube" or not recording.video_id or recording.title != placeholder_title(
            recording.video_id):
        return recording
    learned = fetch_video_details(recording.video_id, http_client=http_client)
    update = {name: learned[name] for name in _LEARNED_FIELDS
              if learned.get(name) and (name == "title" or getattr(recording, name) is None)}
    return recording.model_copy(update=update) if update else recording


def fetch_video_details(video_id: str, *, http_client: requests.Session | None = None) -> dict[str, Any]:
    """``title``, ``channel``, ``channel_id``, ``duration_seconds`` of a video, from the player response.

    The same two requests as listing the video's transcripts (watch page, player), so a recording added
    by its bare id carries its real title from its first ``recordings`` row on.  Raises
    :class:`TranscriptUnavailableError` when YouTube answers nothing about the video.
    """
    video_id = parse_video_id(video_id)
    session = http_client if http_client is not None else requests.Session()
    details: dict[str, Any] = {}
    try:
        with _reading_video_details(session, video_id, details):
            YouTubeTranscriptApi(http_client=session).list(video_id)
    except CouldNotRetrieveTranscript as error:
        if not details:  # a video without captions still has its details: only nothing at all is an error
            raise _translate(error, video_id) from error
    except requests.RequestException as error:
        raise _request_failed(video_id, error, session) from None
    return video_details(details)


def _request_failed(video_id: str, error: requests.RequestException, session: requests.Session
                    ) -> TranscriptUnavailableError:
    """Our error for a failed request; raise it ``from None``: a proxy's password may ride in the
    message, so neither ours nor the original (Dagster stores causes) keeps it."""
    return TranscriptUnavailableError(
        video_id,
        f"the request to YouTube failed ({error.__class__.__name__}: {without_credentials(error, session)}).",
        "Check the network connection; the run can simply be retried.",
    )


def video_details(details: dict[str, Any]) -> dict[str, Any]:
    """``title``, ``channel``, ``channel_id``, ``duration_seconds`` from a player response's ``videoDetails``.

    Only what is there: a live stream still running has length 0, which means unknown, not 0 s.
    """
    found: dict[str, Any] = {}
    for key, name in (("title", "title"), ("author", "channel"), ("channelId", "channel_id")):
        value = details.get(key)
        if isinstance(value, str) and value.strip():
            found[name] = value.strip()
    try:
        length = float(details.get("lengthSeconds") or 0)
    except (TypeError, ValueError):
        length = 0.0
    if length > 0:
        found["duration_seconds"] = length
    return found


@contextmanager
def _reading_video_details(session: requests.Session, video_id: str, found: dict[str, Any]) -> Iterator[None]:
    """Copies ``videoDetails`` of the player response for ``video_id`` into ``found`` while inside."""

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code != 200 or not urlsplit(response.url or "").path.endswith(_PLAYER_PATH):
            return
        try:
            data = response.json()  # the body stays cached for the library's own .json()
        except ValueError:
            return  # the library reports unreadable data itself
        details = data.get("videoDetails") if isinstance(data, dict) else None
        if isinstance(details, dict) and details.get("videoId") in (None, video_id):
            found.update(details)

    hooks = session.hooks.setdefault("response", [])
    hooks.append(hook)
    try:
        yield
    finally:
        hooks.remove(hook)


def available_tracks(tracks: TranscriptList) -> list[str]:
    """Human-readable list of a video's tracks, e.g. ``["en (manual)", "ja (auto)"]``."""
    return [f"{t.language_code} ({'auto' if t.is_generated else 'manual'})" for t in tracks]


def _pick_track(tracks: TranscriptList, languages: tuple[str, ...], video_id: str):
    try:
        return tracks.find_manually_created_transcript(languages)
    except NoTranscriptFound:
        pass
    try:
        return tracks.find_generated_transcript(languages)
    except NoTranscriptFound:
        available = available_tracks(tracks)
        raise TranscriptUnavailableError(
            video_id,
            f"it has no transcript in {', '.join(languages)}; available: "
            f"{', '.join(available) if available else 'none'}.",
            "Pick another video; if the stream really is in that language, download it and drop it into "
            "the inbox so its audio is transcribed.",
        ) from None


def _to_segments(snippets) -> list[Segment]:
    ordered = sorted(snippets, key=lambda s: s.start)
    segments: list[Segment] = []
    for index, snippet in enumerate(ordered):
        lines = [line.strip() for line in snippet.text.splitlines() if line.strip()]
        if not lines:
            continue
        start = round(max(0.0, float(snippet.start)), 3)
        end = round(start + max(0.0, float(snippet.duration)), 3)
        if index + 1 < len(ordered):
            following = max(0.0, float(ordered[index + 1].start))
            if start <= following < end:
                end = following
        segments.append(Segment(start, end, join_lines(lines)))
    return segments


def _translate(error: CouldNotRetrieveTranscript, video_id: str) -> TranscriptUnavailableError:
    """Our error for each library exception: what happened, then what to do."""
    if isinstance(error, TranscriptsDisabled):
        return TranscriptUnavailableError(video_id, "subtitles are disabled for this video.", _ADD_SUBTITLE)
    if isinstance(error, (VideoUnavailable, InvalidVideoId)):
        return TranscriptUnavailableError(
            video_id, "the video is unavailable (deleted, private or a wrong id).",
            "Check the URL; if the stream was archived privately, use a local recording in the inbox.",
        )
    if isinstance(error, AgeRestricted):
        return TranscriptUnavailableError(
            video_id, "the video is age-restricted, so YouTube only serves it to signed-in users.", _ADD_SUBTITLE
        )
    if isinstance(error, (IpBlocked, RequestBlocked)):
        return TranscriptUnavailableError(
            video_id, "YouTube is blocking requests from this IP address (too many requests or a cloud IP).",
            "Wait before retrying, route requests through a residential proxy (pass a requests.Session "
            "with proxies as http_client), or " + _INBOX,
        )
    if isinstance(error, PoTokenRequired):
        return TranscriptUnavailableError(
            video_id, "YouTube requires a proof-of-origin token for this transcript.",
            "Upgrade youtube-transcript-api, or " + _INBOX,
        )
    if isinstance(error, VideoUnplayable):
        details = "; ".join(filter(None, [error.reason, *error.sub_reasons])) or "no reason given"
        return TranscriptUnavailableError(
            video_id, f"the video is not playable ({details}).",
            "Members-only or region-locked streams cannot be fetched; pick another video or " + _INBOX,
        )
    if isinstance(error, YouTubeRequestFailed):
        return TranscriptUnavailableError(
            video_id, f"the request to YouTube failed ({error.reason}).", "Retry later; this is usually temporary."
        )
    if isinstance(error, (YouTubeDataUnparsable, FailedToCreateConsentCookie)):
        return TranscriptUnavailableError(
            video_id, f"YouTube's page could not be understood ({error.cause or error.__class__.__name__}).",
            "Upgrade youtube-transcript-api (YouTube changes its pages often), or " + _INBOX,
        )
    return TranscriptUnavailableError(
        video_id, f"{error.__class__.__name__}: {error.cause or 'no details'}", _ADD_SUBTITLE
    )
