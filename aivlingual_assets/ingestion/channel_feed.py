"""New videos of followed channels from YouTube's public Atom feed (no API key).

``https://www.youtube.com/feeds/videos.xml?channel_id=UC…`` lists a channel's
latest ~15 uploads; ``…?playlist_id=PL…`` a playlist's, in the same format.
Every failure is a :class:`FeedError`, so a sensor polling many channels
can log one bad feed and carry on with the rest.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlsplit
from xml.etree.ElementTree import Element, ParseError

import requests
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from aivlingual_assets.ingestion.errors import FeedError, without_credentials

DEFAULT_BASE_URL = "https://www.youtube.com"
FEED_PATH = "/feeds/videos.xml"

_NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "yt": "http://www.youtube.com/xml/schemas/2015",
    "media": "http://search.yahoo.com/mrss/",
}
_CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")
_CHANNEL_ADVICE = (
    "Use the channel id (starts with 'UC', 24 characters: on the channel page, "
    "About -> Share channel -> Copy channel ID), a https://www.youtube.com/channel/UC… URL, "
    "or the full feed URL."
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One video listed in a channel feed."""

    video_id: str
    title: str
    channel_title: str
    channel_id: str | None
    published: datetime
    url: str


def feed_url(channel: str, *, base_url: str = DEFAULT_BASE_URL) -> str:
    """Feed URL for a channel id (UC…), a /channel/UC… URL, or a feed URL (returned as is)."""
    text = (channel or "").strip()
    if _CHANNEL_ID.fullmatch(text):
        return f"{base_url.rstrip('/')}{FEED_PATH}?channel_id={text}"
    if text.startswith(("http://", "https://")):
        parts = urlsplit(text)
        if parts.path.rstrip("/").endswith(FEED_PATH) and parse_qs(parts.query):
            return text
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) >= 2 and segments[0] == "channel" and _CHANNEL_ID.fullmatch(segments[1]):
            return f"{base_url.rstrip('/')}{FEED_PATH}?channel_id={segments[1]}"
    raise FeedError(text or repr(channel), "this is not a channel id, channel URL or feed URL.", _CHANNEL_ADVICE)


def is_channel_id(text: str) -> bool:
    """Whether ``text`` is a channel id: 'UC' and 22 more characters."""
    return bool(_CHANNEL_ID.fullmatch(text))


def playlist_feed_url(playlist_id: str, *, base_url: str = DEFAULT_BASE_URL) -> str:
    """The Atom feed of a playlist (its latest ~15 videos): followed like a channel's, e.g. in AIVLINGUAL_CHANNELS."""
    return f"{base_url.rstrip('/')}{FEED_PATH}?playlist_id={playlist_id}"


def fetch_channel_feed(
    channel: str,
    *,
    session: requests.Session | None = None,
    base_url: str = DEFAULT_BASE_URL,
    timeout: float = 10,
) -> list[FeedEntry]:
    """Download and parse a channel's feed; newest first, as YouTube lists them."""
    url = feed_url(channel, base_url=base_url)
    http = session or requests
    try:
        response = http.get(url, timeout=timeout, headers={"Accept": "application/atom+xml, application/xml"})
    except requests.Timeout:
        raise FeedError(url, f"no answer within {timeout} s.", "It will be retried on the next poll.") from None
    except requests.RequestException as error:
        raise FeedError(url, f"network error ({error.__class__.__name__}: {without_credentials(error, session)}).",
                        "Check the connection; it will be retried on the next poll.") from None
    if response.status_code == 404:
        raise FeedError(url, "YouTube answered 404: no channel with this id.", _CHANNEL_ADVICE)
    if response.status_code != 200:
        raise FeedError(url, f"YouTube answered HTTP {response.status_code}.",
                        "This is usually temporary; it will be retried on the next poll.")
    return parse_feed(response.content, url)


def parse_feed(content: bytes | str, url: str = "<feed>") -> list[FeedEntry]:
    """Parse Atom feed XML; entries without a video id or date are skipped (and logged)."""
    try:
        root = fromstring(content)
    except (ParseError, DefusedXmlException) as error:
        raise FeedError(url, f"the response is not valid XML ({error}).",
                        "YouTube may have returned an error page; it will be retried on the next poll.") from None
    if root.tag != f"{{{_NS['atom']}}}feed":
        raise FeedError(url, f"the XML is not an Atom feed (root element {root.tag!r}).")
    feed_title = _text(root, "atom:title") or _text(root, "atom:author/atom:name") or ""
    feed_channel_id = _text(root, "yt:channelId")
    entries: list[FeedEntry] = []
    for element in root.findall("atom:entry", _NS):
        video_id = _text(element, "yt:videoId")
        published_text = _text(element, "atom:published")
        if not video_id or not published_text:
            logger.warning("Skipping a feed entry without video id or date in %s", url)
            continue
        try:
            published = datetime.fromisoformat(published_text)
        except ValueError:
            logger.warning("Skipping video %s with unreadable date %r in %s", video_id, published_text, url)
            continue
        link = element.find("atom:link[@rel='alternate']", _NS)
        entries.append(
            FeedEntry(
                video_id=video_id,
                title=_text(element, "atom:title") or video_id,
                channel_title=_text(element, "atom:author/atom:name") or feed_title,
                channel_id=_text(element, "yt:channelId") or feed_channel_id,
                published=published,
                url=link.get("href") if link is not None and link.get("href")
                else f"https://www.youtube.com/watch?v={video_id}",
            )
        )
    return entries


def _text(element: Element, path: str) -> str | None:
    found = element.find(path, _NS)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None
