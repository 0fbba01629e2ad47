"""A requests transport that answers YouTube's URLs from recorded fixture files.

youtube-transcript-api runs its real code (watch page -> API key -> innertube
player POST -> timedtext XML); only the bytes come from ``data/youtube``
instead of the network.  Any URL without a recording raises, so a test can
never reach the internet by accident.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.response import HTTPResponse

from aivlingual_assets.resources.pipeline import YouTubeResource

YOUTUBE_DATA = Path(__file__).parent / "data" / "youtube"
API_KEY = "AIzaSyLocalFixtureKey_0123456789abcdefg"


class UnexpectedRequest(requests.ConnectionError):
    """The code under test asked for a URL that has no recording."""


class RecordedYouTube(BaseAdapter):
    """Serve watch pages, player responses and timedtext tracks for fixture video ids."""

    def __init__(self, data_dir: Path = YOUTUBE_DATA, *, status_overrides: dict[str, int] | None = None):
        super().__init__()
        self.data_dir = data_dir
        self.status_overrides = status_overrides or {}  # video id -> HTTP status of its watch page
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.requests.append(request)
        parts = urlsplit(request.url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.netloc != "www.youtube.com":
            raise UnexpectedRequest(f"no recording for {request.method} {request.url}")
        if request.method == "GET" and parts.path == "/watch":
            video_id = query["v"]
            status = self.status_overrides.get(video_id, 200)
            if status != 200:
                return self._response(request, status, b"Too Many Requests", "text/html")
            page = (self.data_dir / "watch_page.html").read_text(encoding="utf-8").replace("VIDEO_ID", video_id)
            return self._response(request, 200, page.encode("utf-8"), "text/html; charset=utf-8")
        if request.method == "POST" and parts.path == "/youtubei/v1/player":
            if query.get("key") != API_KEY:
                raise UnexpectedRequest(f"player request without the page's API key: {request.url}")
            body = json.loads(request.body)
            assert body["context"]["client"]["clientName"], "innertube context missing"
            return self._file(request, f"player_{body['videoId']}.json", "application/json; charset=UTF-8")
        if request.method == "GET" and parts.path == "/api/timedtext":
            if "fmt" in query:
                raise UnexpectedRequest(f"the library should strip fmt=srv3: {request.url}")
            suffix = "_asr" if query.get("kind") == "asr" else ""
            return self._file(request, f"timedtext_{query['v']}_{query['lang']}{suffix}.xml", "text/xml; charset=UTF-8")
        raise UnexpectedRequest(f"no recording for {request.method} {request.url}")

    def close(self):
        pass

    def fetched(self, path: str) -> list[str]:
        """URLs requested whose path is ``path``."""
        return [r.url for r in self.requests if urlsplit(r.url).path == path]

    def _file(self, request, name: str, content_type: str) -> requests.Response:
        path = self.data_dir / name
        if not path.is_file():
            raise UnexpectedRequest(f"no recording {name} for {request.method} {request.url}")
        return self._response(request, 200, path.read_bytes(), content_type)

    def _response(self, request, status: int, body: bytes, content_type: str) -> requests.Response:
        raw = HTTPResponse(
            body=io.BytesIO(body),
            headers={"Content-Type": content_type, "Content-Length": str(len(body))},
            status=status,
            preload_content=False,
            decode_content=False,
        )
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(raw.headers)
        response.raw = raw
        response.reason = {200: "OK", 429: "Too Many Requests"}.get(status, "Error")
        response.url = request.url
        response.request = request
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.connection = self
        return response


def recorded_session(**kwargs) -> tuple[requests.Session, RecordedYouTube]:
    """A Session whose every https:// and http:// request is served by :class:`RecordedYouTube`."""
    adapter = RecordedYouTube(**kwargs)
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter


class RecordedYouTubeResource(YouTubeResource):
    """The real YouTube resource, with its HTTP transport answering from recorded responses."""

    def session(self) -> requests.Session:
        session = super().session()
        session.mount("https://", RecordedYouTube())
        session.mount("http://", RecordedYouTube())
        return session
