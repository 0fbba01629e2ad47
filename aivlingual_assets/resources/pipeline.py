"""Resources for the pipeline's own state and for YouTube access."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import requests
from pydantic import Field, PrivateAttr

from .. import settings
from ..storage.frame_store import FrameStore
from ..storage.recording_registry import RecordingRegistry


class PipelineResource(dg.ConfigurableResource):
    """The recording registry, stored frames and work folders (defaults from AIVLINGUAL_* variables)."""

    database_url: str | None = Field(default=None, description="Default: AIVLINGUAL_DATABASE_URL or SQLite.")
    storage_url: str | None = Field(default=None, description="Default: AIVLINGUAL_STORAGE_URL or the home.")

    _registry: RecordingRegistry | None = PrivateAttr(default=None)

    def registry(self) -> RecordingRegistry:
        if self._registry is None:
            self._registry = RecordingRegistry(
                settings.normalise_database_url(self.database_url) if self.database_url else settings.database_url()
            )
        return self._registry

    def frames(self) -> FrameStore:
        return FrameStore(self.storage_url or settings.storage_url())

    def data_dir(self, name: str) -> Path:
        return settings.data_dir(name)

    def work_dir(self) -> Path:
        return settings.data_dir("work")


class YouTubeResource(dg.ConfigurableResource):
    """HTTP access to YouTube captions and channel feeds (no API key needed)."""

    proxy_url: str | None = Field(default=None, description="HTTP(S) proxy for YouTube requests (when blocked).")
    feed_base_url: str = Field(default="https://www.youtube.com", description="Where channel feeds are read.")
    timeout_seconds: float = 15.0

    def session(self) -> requests.Session:
        session = requests.Session()
        if self.proxy_url:
            session.proxies.update({"http": self.proxy_url, "https": self.proxy_url})
        session.headers.setdefault("Accept-Language", "ja,en;q=0.8")
        return session
