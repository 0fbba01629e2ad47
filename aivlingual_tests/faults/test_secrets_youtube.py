"""A proxy's password never reaches a YouTube error (issue 15 #12, the YouTube path).

YouTube needs no key, but blocked users route requests through a proxy with credentials
(``http://user:password@proxy:3128``).  A network layer that repeats the proxy URL in its
error must not carry that password into the run's failure (message or stored cause).
"""

from __future__ import annotations

import traceback

import pytest
import requests
from requests.adapters import BaseAdapter

from aivlingual_assets.ingestion.channel_feed import fetch_channel_feed
from aivlingual_assets.ingestion.errors import FeedError, TranscriptUnavailableError
from aivlingual_assets.ingestion.youtube import fetch_youtube_transcript

PASSWORD = "pr0xyS3cretPW"
PROXY = f"http://learner:{PASSWORD}@proxy.example:3128"


class EchoingProxyFailure(BaseAdapter):
    """Fails every request the way a careless network layer does: quoting the proxy it was given."""

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        raise requests.exceptions.ProxyError(f"Cannot connect to proxy {(proxies or {}).get('https')}: refused")

    def close(self) -> None:
        pass


@pytest.fixture(params=["session", "environment"])
def session_behind_a_proxy(request, monkeypatch) -> requests.Session:
    """A session whose every request fails quoting its proxy, set on the session or in the environment."""
    session = requests.Session()
    session.mount("https://", EchoingProxyFailure())
    if request.param == "session":
        session.proxies.update({"http": PROXY, "https": PROXY})
    else:
        monkeypatch.setenv("HTTPS_PROXY", PROXY)
    return session


def test_a_proxy_password_echoed_in_a_network_error_is_redacted(session_behind_a_proxy):
    with pytest.raises(TranscriptUnavailableError) as info:
        fetch_youtube_transcript("dQw4w9WgXcQ", http_client=session_behind_a_proxy)
    everything = "".join(traceback.format_exception(info.value))  # with every cause Dagster would store
    assert "ProxyError" in everything and "proxy.example" in everything  # what happened is still said
    assert PASSWORD not in everything


def test_a_channel_feed_poll_never_shows_the_proxy_password(session_behind_a_proxy):
    with pytest.raises(FeedError) as caught:
        fetch_channel_feed("UC1234567890123456789012", session=session_behind_a_proxy)
    text = "".join(traceback.format_exception(caught.value))
    assert PASSWORD not in text
    assert "ProxyError" in str(caught.value)  # still says what failed
