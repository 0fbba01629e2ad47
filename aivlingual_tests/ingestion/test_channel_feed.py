"""Channel feeds fetched from a local http.server (127.0.0.1 only)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from aivlingual_assets.ingestion.channel_feed import feed_url, fetch_channel_feed
from aivlingual_assets.ingestion.errors import FeedError
from aivlingual_tests.ingestion.conftest import DATA

CHANNEL = "UCkOkOaFixtureChannel00A"
BROKEN = "UCbrokenFeedChannel00000"
GARBAGE = "UCgarbageFeedChannel0000"
MISSING = "UCmissingFeedChannel0000"
SLOW = "UCslowFeedChannel0000000"


class FeedHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        channel = parse_qs(parts.query).get("channel_id", [""])[0]
        if parts.path != "/feeds/videos.xml" or channel == MISSING:
            self._send(404, b"<html>Not Found</html>", "text/html")
        elif channel == CHANNEL:
            self._send(200, (DATA / "feeds" / "channel_feed.xml").read_bytes(), "text/xml; charset=UTF-8")
        elif channel == BROKEN:
            self._send(500, b"<html>Internal Server Error</html>", "text/html")
        elif channel == GARBAGE:
            self._send(200, b"<html><body>consent page<br></body>", "text/html")
        elif channel == SLOW:
            self.server.release.wait(5)  # type: ignore[attr-defined]
            self._send(200, b"", "text/xml")
        else:
            self._send(404, b"", "text/html")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # keep test output quiet
        pass


@pytest.fixture(scope="module")
def feed_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    server.daemon_threads = True
    server.release = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.release.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()


def test_feed_entries_are_parsed(feed_server: str):
    entries = fetch_channel_feed(CHANNEL, base_url=feed_server)
    assert [e.video_id for e in entries] == ["ASRONLY_ja1", "MANUAL_ja01"]  # the entry without an id is skipped
    first = entries[0]
    assert first.title == "【ホラー】深夜の学校を探索する & 雑談"
    assert first.channel_title == "ここあ Ch." and first.channel_id == CHANNEL
    assert first.published == datetime(2025, 1, 12, 13, 0, tzinfo=timezone.utc)
    assert first.url == "https://www.youtube.com/watch?v=ASRONLY_ja1"
    assert entries[1].published.utcoffset() == timedelta(hours=9)


def test_a_session_and_full_feed_url_can_be_given(feed_server: str):
    with requests.Session() as session:
        url = f"{feed_server}/feeds/videos.xml?channel_id={CHANNEL}"
        assert len(fetch_channel_feed(url, session=session)) == 2


def test_server_error_is_a_feed_error(feed_server: str):
    with pytest.raises(FeedError, match="HTTP 500") as caught:
        fetch_channel_feed(BROKEN, base_url=feed_server)
    assert BROKEN in caught.value.url and "retried" in str(caught.value)


def test_unknown_channel_and_non_feed_responses(feed_server: str):
    with pytest.raises(FeedError, match="404"):
        fetch_channel_feed(MISSING, base_url=feed_server)
    with pytest.raises(FeedError, match="not valid XML|not an Atom feed"):
        fetch_channel_feed(GARBAGE, base_url=feed_server)


def test_timeout_and_refused_connection(feed_server: str):
    with pytest.raises(FeedError, match="no answer within"):
        fetch_channel_feed(SLOW, base_url=feed_server, timeout=0.2)
    with pytest.raises(FeedError, match="network error"):
        fetch_channel_feed(CHANNEL, base_url=f"http://127.0.0.1:{unused_port()}", timeout=2)


def test_feed_url_forms():
    assert feed_url(CHANNEL) == f"https://www.youtube.com/feeds/videos.xml?channel_id={CHANNEL}"
    assert feed_url(f"https://www.youtube.com/channel/{CHANNEL}/videos") == feed_url(CHANNEL)
    full = f"https://www.youtube.com/feeds/videos.xml?channel_id={CHANNEL}"
    assert feed_url(full) == full
    for bad in ("@kokoa_ch", "https://www.youtube.com/@kokoa_ch", "UCshort", ""):
        with pytest.raises(FeedError, match="channel id"):
            feed_url(bad)


def unused_port() -> int:
    """A localhost port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
